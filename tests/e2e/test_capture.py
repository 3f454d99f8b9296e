"""`steth capture` against the lab: one hop to a pcap while `steth ping` runs, two hops merged into a pcapng."""

from __future__ import annotations

import io
import os
import signal
import subprocess

import pytest

from steth.controller.decode import summarize
from steth.wire.pcap import read_pcap, read_pcapng

from ..conftest import STETH, steth

pytestmark = [pytest.mark.root, pytest.mark.e2e]


class Background:
    """`steth capture ...` running while the test makes traffic; ready once it says "capturing on"."""

    def __init__(self, lab, *args: str) -> None:
        self.proc = subprocess.Popen(
            [STETH, "capture", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **lab["env"]},
        )
        self.err_lines = []
        for line in self.proc.stderr:  # bounded by the capture's own --duration
            self.err_lines.append(line)
            if "capturing on" in line:
                return
        raise AssertionError(f"steth capture did not start: {''.join(self.err_lines)} {self.proc.stdout.read()}")

    def finish(self, interrupt: bool = False, timeout: float = 90) -> tuple[int, str, str]:
        if interrupt:
            self.proc.send_signal(signal.SIGINT)
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out, "".join(self.err_lines) + err

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


def icmp_lines(packets):
    return [summarize(p.linktype, p.data) for p in packets]


def test_capture_one_interface_while_ping_runs(lab, tmp_path):
    out = tmp_path / "c1.pcap"
    cap = Background(lab, "compute-1", "eth1", "--filter", "icmp", "--count", "4", "--duration", "60", "-w", str(out))
    try:
        ping = steth(
            "ping", "compute-2", "compute-1", "--network", "tenant", "--count", "4", "-f", "json", env=lab["env"]
        )
        assert ping.rc == 0, ping.err
        rc, stdout, stderr = cap.finish()
    finally:
        cap.kill()
    assert rc == 0, stderr
    header, packets = read_pcap(io.BytesIO(out.read_bytes()))
    assert header.linktype == 1 and len(packets) == 4
    summaries = icmp_lines(packets)
    assert all(s.proto == "ICMP" for s in summaries)
    assert [s.info.split(" id")[0] for s in summaries] == ["echo request", "echo reply"] * 2
    assert "compute-1/eth1" in stdout and "count" in stdout  # the per-hop table
    r = subprocess.run(["tcpdump", "-nn", "-r", str(out)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 4, r.stderr


def test_live_lines_without_w(lab):
    cap = Background(lab, "compute-1", "eth1", "--filter", "icmp", "--count", "2", "--duration", "60")
    try:
        assert (
            steth(
                "ping", "compute-2", "compute-1", "--network", "tenant", "--count", "1", "-f", "json", env=lab["env"]
            ).rc
            == 0
        )
        rc, stdout, stderr = cap.finish()
    finally:
        cap.kill()
    assert rc == 0, stderr
    lines = [line for line in stdout.splitlines() if "compute-1/eth1" in line and " ICMP " in line]
    assert len(lines) == 2, stdout
    assert "echo request" in lines[0] and "echo reply" in lines[1]


def test_two_hops_merged_into_one_pcapng_and_ctrl_c_keeps_them(lab, tmp_path):
    out = tmp_path / "path.pcapng"
    cap = Background(
        lab, "--hop", "compute-1:eth1", "--hop", "network:eth1", "--filter", "icmp", "--duration", "120", "-w", str(out)
    )
    try:
        ping = steth(
            "ping", "compute-1", "network", "--network", "tenant", "--count", "3", "-f", "json", env=lab["env"]
        )
        assert ping.rc == 0, ping.err
        rc, stdout, stderr = cap.finish(interrupt=True)
    finally:
        cap.kill()
    assert rc == 0, stderr
    interfaces, packets = read_pcapng(open(out, "rb"))
    assert [i.name for i in interfaces] == ["compute-1/eth1", "network/eth1"]
    assert [p.ts_ns for p in packets] == sorted(p.ts_ns for p in packets)
    per_hop = {0: [], 1: []}
    for p in packets:
        per_hop[p.hop].append(summarize(p.linktype, p.data))
    for hop, summaries in per_hop.items():
        assert len(summaries) == 6, (hop, summaries)
        assert sum(s.info.startswith("echo request") for s in summaries) == 3
        assert sum(s.info.startswith("echo reply") for s in summaries) == 3
    # a request leaves compute-1 before it reaches the network node (one clock: the same machine)
    first = {}
    for p in packets:
        s = summarize(p.linktype, p.data)
        if s.info.startswith("echo request"):
            first.setdefault((s.info, p.hop), p.ts_ns)
    for (info, hop), ts in first.items():
        if hop == 0:
            assert ts <= first[(info, 1)]
    table = [line.split() for line in stdout.splitlines() if line.startswith(("compute-1/eth1", "network/eth1"))]
    assert [row[:2] for row in table] == [["compute-1/eth1", "6"], ["network/eth1", "6"]], stdout
    assert all("stopped" in row for row in table), stdout
    r = subprocess.run(["tcpdump", "-nn", "-r", str(out)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 12, r.stderr


def test_bad_filter_and_unknown_hop_are_usage_errors(lab):
    r = steth("capture", "compute-1", "eth1", "--filter", "icmp and (((", env=lab["env"])
    assert r.rc == 2 and "does not compile" in r.err, r.err
    r = steth("capture", "--hop", "compute-1:eth1", "--hop", "nowhere:eth1", env=lab["env"])
    assert r.rc == 2 and "nowhere" in r.err, r.err
    r = steth("capture", "--hop", "compute-1", env=lab["env"])
    assert r.rc == 2 and "AGENT:IFACE" in r.err, r.err
