import os
import sys

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
