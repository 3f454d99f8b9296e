"""Chaos on the controller side: ten controllers at once against the same agents, and a controller
killed in the middle of a bandwidth check (its iperf3 servers end with their leases, by themselves)."""

from __future__ import annotations

import os
import signal
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from ..conftest import STETH, eventually, steth
from .conftest import LAB, namespaces

pytestmark = [pytest.mark.root, pytest.mark.e2e]


def test_ten_controllers_at_once_all_get_correct_answers(lab):
    # a generous probe timeout: ten CLIs starting at once load two cores; a reply late by load is not a fault
    args = ("check", "mesh", "--count", "2", "--timeout", "3", "-f", "json")
    with ThreadPoolExecutor(10) as pool:
        runs = list(pool.map(lambda _: steth(*args, env=lab["env"]), range(10)))
    bad = [[x for x in r.json() if x["verdict"] != "ok"] if r.out.startswith("[") else r.err for r in runs if r.rc]
    assert not bad, bad
    answers = [{(x["network"], x["source"], x["destination"]): x["verdict"] for x in r.json()} for r in runs]
    assert all(a == answers[0] for a in answers) and set(answers[0].values()) == {"ok"}
    assert len(answers[0]) == 18  # 3 nodes x 2 peers x 3 networks


def iperf3_in_lab() -> list[int]:
    """PIDs of iperf3 processes in the lab's node namespaces."""
    found = []
    for ns in namespaces():
        if not ns.startswith(f"steth-{LAB}-"):
            continue
        pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout.split()
        for pid in pids:
            try:
                with open(f"/proc/{pid}/comm") as fh:
                    if fh.read().strip() == "iperf3":
                        found.append(int(pid))
            except OSError:
                pass
    return found


def test_controller_killed_mid_check_agents_clean_up_by_themselves(lab):
    assert iperf3_in_lab() == []
    argv = [STETH, "check", "bandwidth", "--pairs", "compute-1:compute-2", "--duration", "3", "-f", "json"]
    ctl = subprocess.Popen(argv, env={**os.environ, **lab["env"]}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        eventually(iperf3_in_lab, bool, 20, "an iperf3 server started for the check")
    finally:
        os.kill(ctl.pid, signal.SIGKILL)  # the controller, by its own PID
        ctl.wait(timeout=10)
    # the server's lease is the test's duration + connect timeout + 30 s: then the agent stops it
    eventually(iperf3_in_lab, lambda pids: pids == [], 90, "every iperf3 of the killed check gone")
