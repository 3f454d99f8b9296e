"""/v1/captures: tcpdump in a fresh namespace of this test while pings cross it, against a real agent.

Two namespaces of this module (``-ca`` and ``-cb``, a veth between them,
192.0.2.1 and 192.0.2.2) carry the traffic; the session's agent captures inside
``-ca`` through ``netns``. Packets never leave these namespaces. No timing
assertion: timestamps are only checked to fall inside the capture window.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import shutil
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from steth.wire.pcap import read_pcap

from .conftest import eventually, ip, run, running_agent, skip_unless_root

skip_unless_root()
pytestmark = pytest.mark.root
if shutil.which("tcpdump") is None:
    pytest.skip("needs tcpdump", allow_module_level=True)

A_IP, B_IP = "192.0.2.1", "192.0.2.2"


@pytest.fixture(scope="module")
def pair(net):
    """Two fresh namespaces joined by a veth (eth0 on both sides); deleted afterwards."""
    ns_a, ns_b = f"{net.ns}-ca", f"{net.ns}-cb"
    made = []
    try:
        for ns in (ns_a, ns_b):
            ip("netns", "add", ns)
            made.append(ns)
            ip("link", "set", "lo", "up", ns=ns)
        ip("link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", ns_b, ns=ns_a)
        ip("addr", "add", f"{A_IP}/30", "dev", "eth0", ns=ns_a)
        ip("addr", "add", f"{B_IP}/30", "dev", "eth0", ns=ns_b)
        ip("link", "set", "eth0", "up", ns=ns_a)
        ip("link", "set", "eth0", "up", ns=ns_b)
        eventually(
            lambda: ping(ns_a, 1, check=False).returncode,
            lambda rc: rc == 0,
            timeout=10,
            what="the veth pair passing pings",
        )
        yield ns_a, ns_b
    finally:
        for ns in reversed(made):
            ip("netns", "del", ns, check=False)


def ping(ns: str, count: int, interval: float = 0.2, size: int = 56, check: bool = True):
    return run(
        [
            "ip",
            "netns",
            "exec",
            ns,
            "ping",
            "-n",
            "-q",
            "-c",
            str(count),
            "-i",
            str(interval),
            "-s",
            str(size),
            "-W",
            "2",
            B_IP,
        ],
        check=check,
        timeout=120,
    )


def start(agent, **body):
    r = agent.post("/v1/captures", body)
    assert r.status == 201, r.body
    return r.body


class Stream:
    """GET /v1/captures/{id}/pcap over a raw connection, so a test can read part of it and hang up."""

    def __init__(self, agent, capture_id: str) -> None:
        url = urlsplit(agent.base_url)
        self.conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
        self.conn.request("GET", f"/v1/captures/{capture_id}/pcap", headers={"X-Steth-Token": agent.token})
        self.resp = self.conn.getresponse()

    def read_all(self) -> bytes:
        assert self.resp.status == 200, self.resp.read()
        return self.resp.read()

    def close(self) -> None:
        self.conn.sock.close() if self.conn.sock else None
        self.conn.close()


def fetch(agent, capture_id: str) -> bytes:
    s = Stream(agent, capture_id)
    try:
        return s.read_all()
    finally:
        s.close()


def capture_dir(agent) -> Path:
    return agent.log_path.parent / "state-9698" / "captures"


def pid_alive(pid: int) -> bool:
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return data[data.rindex(")") + 2] not in "ZX"


def assert_nothing_left(agent, info) -> None:
    gone = eventually(
        lambda: agent.get(f"/v1/captures/{info['id']}").body,
        lambda b: b["state"] == "removed",
        timeout=15,
        what="capture removed",
    )
    assert not pid_alive(info["pid"]), f"tcpdump {info['pid']} still runs"
    leftovers = [p.name for p in capture_dir(agent).glob(f"{info['id']}*")] if capture_dir(agent).exists() else []
    assert leftovers == [], leftovers
    return gone


def test_capture_in_a_namespace_holds_the_pings_with_their_times(agent, pair, tmp_path):
    ns_a, _ = pair
    info = start(agent, interface="eth0", netns=ns_a, filter="icmp", duration=60, count=6)
    assert info["state"] == "running" and info["pid"] and info["netns"] == ns_a
    ping(ns_a, 3)
    data = fetch(agent, info["id"])
    done = time.time()
    header, packets = read_pcap(io.BytesIO(data))
    assert header.linktype == 1 and header.nanos
    assert len(packets) == 6
    for p in packets:
        assert info["started_at"] - 1 <= p.ts_ns / 1e9 <= done + 1  # inside the capture window
    assert [p.ts_ns for p in packets] == sorted(p.ts_ns for p in packets)
    # a standard reader agrees
    path = tmp_path / "ping.pcap"
    path.write_bytes(data)
    out = run(["tcpdump", "-nn", "-r", str(path)])
    lines = out.stdout.splitlines()
    assert sum(f"{A_IP} > {B_IP}: ICMP echo request" in line for line in lines) == 3, out.stdout
    assert sum(f"{B_IP} > {A_IP}: ICMP echo reply" in line for line in lines) == 3, out.stdout
    gone = assert_nothing_left(agent, info)
    assert gone["stop_reason"] == "count" and gone["packets_captured"] == 6 and gone["packets_streamed"] == 6


def test_fetched_after_it_ended(agent, pair):
    ns_a, _ = pair
    info = start(agent, interface="eth0", netns=ns_a, filter="icmp[icmptype] == icmp-echo", duration=60, count=2)
    ping(ns_a, 2)
    eventually(
        lambda: agent.get(f"/v1/captures/{info['id']}").body,
        lambda b: b["state"] == "finished",
        timeout=15,
        what="capture finished",
    )
    _, packets = read_pcap(io.BytesIO(fetch(agent, info["id"])))
    assert len(packets) == 2  # echo requests only
    assert_nothing_left(agent, info)


def test_bad_filter_is_422_with_the_compilers_message(agent, pair):
    r = agent.post("/v1/captures", {"interface": "eth0", "netns": pair[0], "filter": "icmp and (((", "duration": 5})
    assert r.status == 422, r.body
    assert "does not compile" in r.detail and "syntax error" in r.detail, r.detail


@pytest.mark.parametrize(
    "body, status, words",
    [
        ({"interface": "nope0"}, 404, "no interface named 'nope0'"),
        ({"interface": "eth0", "netns": "steth-it-absent-ns"}, 404, "no network namespace"),
        ({"interface": "eth0", "filter": "-w /tmp/x"}, 422, "must not start with '-'"),
        ({"interface": "eth0", "duration": 301}, 422, "--capture-max-seconds"),
        ({"interface": "eth0", "max_bytes": 10**12}, 422, "--capture-max-bytes"),
        ({"interface": "eth0/x"}, 422, "interface"),
    ],
)
def test_bad_requests(agent, body, status, words):
    r = agent.post("/v1/captures", {"duration": 5, **body})
    assert r.status == status, r.body
    assert words in r.detail, r.detail


def test_duration_limit_stops_an_idle_capture(agent, pair):
    info = start(agent, interface="eth0", netns=pair[0], filter="udp port 9", duration=1)
    header, packets = read_pcap(io.BytesIO(fetch(agent, info["id"])))
    assert packets == [] and header.linktype == 1
    assert assert_nothing_left(agent, info)["stop_reason"] == "duration"


def test_bytes_limit_stops_the_capture_and_bounds_the_pcap(agent, pair):
    ns_a, _ = pair
    info = start(agent, interface="eth0", netns=ns_a, filter="icmp", duration=60, max_bytes=4096)
    ping(ns_a, 40, interval=0.01, size=200)
    data = fetch(agent, info["id"])
    assert len(data) <= 4096
    _, packets = read_pcap(io.BytesIO(data))
    assert 0 < len(packets) < 80
    gone = assert_nothing_left(agent, info)
    assert gone["stop_reason"] == "bytes" and gone["packets_streamed"] == len(packets)


def test_client_going_away_stops_tcpdump_and_removes_the_file(agent, pair):
    info = start(agent, interface="eth0", netns=pair[0], duration=120)
    s = Stream(agent, info["id"])
    assert s.resp.status == 200
    assert len(s.resp.read(24)) == 24  # the pcap header arrived: the stream runs
    s.close()
    gone = assert_nothing_left(agent, info)
    assert gone["stop_reason"] == "client-gone"


def test_stop_then_delete(agent, pair):
    info = start(agent, interface="eth0", netns=pair[0], duration=120)
    r = agent.post(f"/v1/captures/{info['id']}/stop", {})
    assert r.status == 200 and r.body["state"] == "finished" and r.body["stop_reason"] == "stopped"
    assert not pid_alive(info["pid"])
    listed = agent.get("/v1/captures").body
    assert info["id"] in [c["id"] for c in listed["captures"]] and listed["limits"]["max_concurrent"] == 4
    r = agent.request("DELETE", f"/v1/captures/{info['id']}")
    assert r.status == 200 and r.body["state"] == "removed"
    assert_nothing_left(agent, info)
    assert agent.get(f"/v1/captures/{info['id']}/pcap").status == 410


def test_concurrency_limit(start_agent, pair):
    with start_agent(9711, extra=["--capture-max-concurrent", "2", "--capture-max-seconds", "60"]) as a:
        first = [start(a, interface="eth0", netns=pair[0], duration=60) for _ in range(2)]
        r = a.post("/v1/captures", {"interface": "eth0", "netns": pair[0], "duration": 5})
        assert r.status == 429, r.body
        assert (
            "--capture-max-concurrent" in r.detail
            and {k.lower(): v for k, v in r.headers.items()}.get("retry-after") == "5"
        )
        assert a.request("DELETE", f"/v1/captures/{first[0]['id']}").status == 200
        third = start(a, interface="eth0", netns=pair[0], duration=5)
        for info in (first[1], third):
            assert a.request("DELETE", f"/v1/captures/{info['id']}").status == 200
        for info in (*first, third):
            assert not pid_alive(info["pid"])
        state = a.log_path.parent / "state-9711"
        assert list((state / "captures").iterdir()) == []
        assert json.loads((state / "leases.json").read_text()) == []


def test_agent_stop_ends_its_captures(start_agent, pair):
    with start_agent(9712) as a:
        info = start(a, interface="eth0", netns=pair[0], duration=120)
        assert pid_alive(info["pid"])
    assert not pid_alive(info["pid"])
    assert list((a.log_path.parent / "state-9712" / "captures").iterdir()) == []


def test_root_namespace_of_the_agent(agent, net):
    """No netns: the agent's own namespace (here, its eth1 towards the peer)."""
    info = start(agent, interface=net.peer_if, filter=f"icmp and host {net.peer_ip}", duration=60, count=2)
    r = agent.post("/v1/ping", {"targets": [net.peer_ip], "count": 1, "interval": 0.05})
    assert r.status == 200
    _, packets = read_pcap(io.BytesIO(fetch(agent, info["id"])))
    assert len(packets) == 2
    assert_nothing_left(agent, info)


def test_no_tcpdump_of_this_agent_is_left(agent):
    listed = agent.get("/v1/captures").body
    assert listed["captures"] == []
    assert not any(capture_dir(agent).iterdir()) if capture_dir(agent).exists() else True
    assert os.path.exists(agent.log_path)


def test_crashed_agent_leaves_nothing_after_its_restart(net, token, pair, tmp_path):
    """SIGKILL the agent mid-capture (tcpdump runs on, in its own session); the next agent on the same
    state directory stops it by PID and start time and deletes its files."""
    value, token_file = token
    log = tmp_path / "agent.log"
    with running_agent(net.ns, net.agent_ip, 9713, value, token_file, log) as a:
        info = start(a, interface="eth0", netns=pair[0], duration=120)
        a.proc.kill()
        a.proc.wait(timeout=10)
        assert pid_alive(info["pid"])  # orphaned, not stopped
        files = list((tmp_path / "state-9713" / "captures").iterdir())
        assert len(files) == 2, files  # its pcap and its log
    with running_agent(net.ns, net.agent_ip, 9713, value, token_file, log):
        assert not pid_alive(info["pid"])
        assert list((tmp_path / "state-9713" / "captures").iterdir()) == []


def test_an_unfetched_capture_is_removed_when_its_lease_ends(start_agent, pair):
    with start_agent(9714, extra=["--capture-fetch-seconds", "1", "--capture-max-concurrent", "1"]) as a:
        info = start(a, interface="eth0", netns=pair[0], duration=1)
        assert a.post("/v1/captures", {"interface": "eth0", "netns": pair[0], "duration": 1}).status == 429
        gone = eventually(
            lambda: a.get(f"/v1/captures/{info['id']}").body,
            lambda b: b["state"] == "removed",
            timeout=30,
            what="capture removed at the end of its lease",
        )
        assert gone["stop_reason"] == "duration" and gone["removed_by"] == "expired"
        assert not pid_alive(info["pid"])
        assert list((a.log_path.parent / "state-9714" / "captures").iterdir()) == []
        assert a.get(f"/v1/captures/{info['id']}/pcap").status == 410
        assert a.get("/v1/captures").body["captures"] == []
        again = start(a, interface="eth0", netns=pair[0], duration=1)  # its slot is free again
        assert a.request("DELETE", f"/v1/captures/{again['id']}").body["removed_by"] == "deleted"


def test_interface_that_is_down_is_409(agent, pair):
    ns_a, _ = pair
    ip("link", "add", "cdown0", "type", "veth", "peer", "name", "cdown1", ns=ns_a)
    try:
        r = agent.post("/v1/captures", {"interface": "cdown0", "netns": ns_a, "filter": "icmp", "duration": 5})
        assert r.status == 409 and "is down" in r.detail, r.body
    finally:
        ip("link", "del", "cdown0", ns=ns_a, check=False)


@pytest.mark.parametrize("immediate", [True, False])
def test_packets_stream_while_the_capture_runs(agent, pair, immediate):
    """The stream carries packets before the capture ends (immediate: at once; buffered: within a block)."""
    ns_a, _ = pair
    info = start(agent, interface="eth0", netns=ns_a, filter="icmp", duration=120, immediate=immediate)
    s = Stream(agent, info["id"])
    try:
        assert s.resp.status == 200
        ping(ns_a, 1)
        data = s.resp.read(24 + 2 * (16 + 98))  # header, echo request and reply (98-byte frames)
        _, packets = read_pcap(io.BytesIO(data))
        assert len(packets) == 2
        assert agent.get(f"/v1/captures/{info['id']}").body["state"] == "running"
    finally:
        s.close()
    assert assert_nothing_left(agent, info)["removed_by"] == "client-gone"
