import os
import signal
import sys
import time

from steth.host import proc


def test_spawned_process_is_tracked_and_terminated(tmp_path):
    rec = proc.spawn([sys.executable, "-c", "import time; time.sleep(30)"], log_path=str(tmp_path / "log"))
    assert proc.is_running(rec)
    assert proc.terminate(rec, timeout=2)
    assert not proc.is_running(rec)
    assert proc.terminate(rec) is False  # already gone: nothing signalled


def test_reused_pid_is_not_ours():
    me = proc.ProcRecord(pid=os.getpid(), start_ticks=1, argv=("x",))
    assert not proc.is_running(me)  # same PID, other start time: never signalled
    roundtrip = proc.ProcRecord.from_json(me.to_json())
    assert roundtrip == me


def test_run_feeds_input_or_nothing():
    assert proc.run([sys.executable, "-c", "import sys; print(sys.stdin.read()[::-1])"], input="abc").stdout == "cba\n"
    assert proc.run([sys.executable, "-c", "import sys; print(repr(sys.stdin.read()))"]).stdout == "''\n"


def test_a_group_record_stops_the_child_its_supervisor_restarted(tmp_path):
    """Like `ovs-vswitchd --monitor`: the supervisor (recorded) restarts its daemon, which gets a new PID
    in the supervisor's process group; terminating the record stops both, the restarted child included."""
    pidfile = tmp_path / "child.pid"
    supervisor = (
        "import os, signal, subprocess, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_DFL)\n"
        "while True:\n"
        "    child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"    open({str(pidfile)!r}, 'w').write(str(child.pid))\n"
        "    child.wait()\n"
    )
    rec = proc.spawn([sys.executable, "-c", supervisor], log_path=str(tmp_path / "log"), group=True)
    assert proc.ProcRecord.from_json(rec.to_json()) == rec and rec.group

    def child() -> int:
        for _ in range(100):
            if pidfile.exists() and pidfile.read_text():
                return int(pidfile.read_text())
            time.sleep(0.05)
        raise AssertionError("the supervisor started no child")

    first = child()
    pidfile.unlink()
    os.kill(first, signal.SIGKILL)  # "crashes": the supervisor starts another
    second = child()
    assert second != first and proc.is_alive(second)
    assert proc.terminate(rec, timeout=2)
    assert not proc.is_running(rec)
    for _ in range(40):  # the child is re-parented to init, which reaps it
        if not proc.is_alive(second):
            break
        time.sleep(0.05)
    assert not proc.is_alive(second)


def test_a_record_without_group_field_reads_as_a_single_process():
    old = {"pid": 42, "start_ticks": 7, "argv": ["x"]}  # a state file written before the field existed
    assert proc.ProcRecord.from_json(old) == proc.ProcRecord(42, 7, ("x",), group=False)
