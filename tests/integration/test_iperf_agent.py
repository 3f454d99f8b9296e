"""/v1/iperf: one-shot iperf3 servers under leases and the iperf3 client, in the test's own namespaces.

Servers listen on the agent's peer-link address (10.252.X.1); clients are the
agent itself, or iperf3 run by hand in the peer namespace (10.252.X.2). No
timing assertions: only states, figures and messages.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from .conftest import eventually, skip_unless_root

skip_unless_root()
pytestmark = pytest.mark.root

PORTS = (5311, 5314)
IPERF_PORT = 9731
LIMITED_PORT = 9732
SHUTDOWN_PORT = 9733
CRASH_PORT = 9734


def alive(pid: int) -> bool:
    """The process exists, is not a zombie, and is an iperf3 (a reused PID would not be)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] not in "ZX" and b"iperf3" in cmdline


def iperf3_pids_in(ns: str) -> set[int]:
    """PIDs of iperf3 processes whose network namespace is ``ns``."""
    target = Path(f"/run/netns/{ns}").stat()
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if b"iperf3" not in (entry / "cmdline").read_bytes().split(b"\0")[0]:
                continue
            st = (entry / "ns" / "net").stat()
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (target.st_dev, target.st_ino) and alive(int(entry.name)):
            found.add(int(entry.name))
    return found


@pytest.fixture(scope="module")
def ipa(start_agent):
    """An agent with a small iperf3 port range and at most 2 servers."""
    with start_agent(
        IPERF_PORT,
        extra=[
            "--iperf-ports",
            f"{PORTS[0]}-{PORTS[1]}",
            "--iperf-max-servers",
            "2",
            "--ovsdb-connection",
            "unix:/nonexistent/db.sock",
        ],
    ) as a:
        yield a


@pytest.fixture(autouse=True)
def no_leftovers(ipa, net):
    yield
    for srv in ipa.get("/v1/iperf/servers").body["servers"]:
        ipa.request("DELETE", f"/v1/iperf/servers/{srv['lease_id']}")
    eventually(lambda: iperf3_pids_in(net.ns), lambda pids: not pids, what="no iperf3 left in the agent namespace")


def start(agent, net, **kw):
    r = agent.post("/v1/iperf/servers", {"bind": net.agent_peer_ip, **kw})
    assert r.status == 200, r.body
    return r.body


def hand_client(net, port, *args):
    """iperf3 run by hand in the peer namespace against the agent's server."""
    return subprocess.run(
        [
            "ip",
            "netns",
            "exec",
            net.peer_ns,
            "iperf3",
            "-c",
            net.agent_peer_ip,
            "-p",
            str(port),
            "-t",
            "1",
            "--connect-timeout",
            "2000",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_server_listens_on_a_port_of_the_range_before_answering(ipa, net):
    srv = start(ipa, net)
    assert PORTS[0] <= srv["port"] <= PORTS[1]
    assert srv["bind"] == net.agent_peer_ip and alive(srv["pid"]) and srv["expires_in"] > 0
    # no wait at all: the agent answered only once the server was listening
    done = hand_client(net, srv["port"])
    assert done.returncode == 0, done.stdout + done.stderr
    listed = ipa.get("/v1/iperf/servers").body
    assert listed["max_servers"] == 2 and listed["ports"] == f"{PORTS[0]}-{PORTS[1]}"


def test_server_is_one_shot(ipa, net):
    srv = start(ipa, net)
    assert hand_client(net, srv["port"]).returncode == 0
    eventually(lambda: alive(srv["pid"]), lambda a: not a, what="one-shot server exit")
    assert ipa.get("/v1/iperf/servers").body["servers"] == []  # its lease was released with it
    again = hand_client(net, srv["port"])
    assert again.returncode != 0 and "refused" in (again.stdout + again.stderr)


def test_lease_expiry_kills_the_server(ipa, net):
    srv = start(ipa, net, lease_seconds=1)
    assert alive(srv["pid"])
    eventually(lambda: alive(srv["pid"]), lambda a: not a, timeout=10, what="server killed at lease expiry")
    assert ipa.get("/v1/iperf/servers").body["servers"] == []


def test_delete_kills_and_releases(ipa, net):
    srv = start(ipa, net)
    r = ipa.request("DELETE", f"/v1/iperf/servers/{srv['lease_id']}")
    assert r.status == 200 and r.body == {"lease_id": srv["lease_id"], "released": True, "problems": []}
    assert not alive(srv["pid"])
    again = ipa.request("DELETE", f"/v1/iperf/servers/{srv['lease_id']}")
    assert again.status == 200 and again.body["released"] is False


def test_max_servers_enforced(ipa, net):
    first, second = start(ipa, net), start(ipa, net)
    assert first["port"] != second["port"]
    r = ipa.post("/v1/iperf/servers", {"bind": net.agent_peer_ip})
    assert r.status == 429
    assert "already runs 2 iperf3 servers" in r.detail and "--iperf-max-servers 2" in r.detail
    ipa.request("DELETE", f"/v1/iperf/servers/{first['lease_id']}")
    third = start(ipa, net)
    assert alive(third["pid"])


def test_explicit_port_and_port_in_use(ipa, net):
    srv = start(ipa, net, port=PORTS[1])  # an explicit port of the range is taken as given
    assert srv["port"] == PORTS[1]
    r = ipa.post("/v1/iperf/servers", {"bind": net.agent_peer_ip, "port": PORTS[1]})
    assert r.status == 409 and str(PORTS[1]) in r.detail and "in use" in r.detail


@pytest.mark.parametrize("port", [22, 80, 443, PORTS[0] - 1, PORTS[1] + 1, IPERF_PORT])
def test_explicit_port_outside_the_range_is_422(ipa, net, port):
    """Found by attacking the agent: as root it served iperf3 on ports 22, 80 and 443."""
    r = ipa.post("/v1/iperf/servers", {"bind": net.agent_peer_ip, "port": port})
    assert r.status == 422, r.body
    assert r.body["detail"][0]["loc"] == ["body", "port"] and "--iperf-ports" in r.detail
    assert ipa.get("/v1/iperf/servers").body["servers"] == []


def test_address_not_on_the_node(ipa, net):
    r = ipa.post("/v1/iperf/servers", {"bind": net.peer_ip})
    assert r.status == 422 and "not an address of this node" in r.detail
    assert ipa.get("/v1/iperf/servers").body["servers"] == []


def test_agent_client_against_its_server(ipa, net):
    srv = start(ipa, net)
    r = ipa.post(
        "/v1/iperf/client", {"server": net.agent_peer_ip, "port": srv["port"], "duration": 1, "bind": net.agent_peer_ip}
    )
    assert r.status == 200, r.body
    res = r.body
    assert res["verdict"] == "ok" and res["error"] is None
    [flow] = res["flows"]
    assert flow["direction"] == "forward" and flow["bits_per_second"] > 0 and flow["retransmits"] is not None
    assert res["cpu_client_pct"] is not None and res["cpu_server_pct"] is not None
    assert res["ended_at"] > res["started_at"]


def test_agent_client_udp_over_the_link(ipa, net):
    """A server started by hand in the peer namespace; the agent's client sends UDP at 20 Mbit/s to it."""
    server = subprocess.Popen(
        ["ip", "netns", "exec", net.peer_ns, "iperf3", "-s", "-1", "-B", net.peer_ip, "-p", "5398"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def attempt():
            return ipa.post(
                "/v1/iperf/client",
                {
                    "server": net.peer_ip,
                    "port": 5398,
                    "duration": 1,
                    "protocol": "udp",
                    "bandwidth": "20M",
                    "bidir": True,
                },
            ).body

        res = eventually(
            attempt,
            lambda b: b.get("verdict") == "ok" or "refused" not in str(b.get("error")),
            timeout=10,
            what="hand-started server listening",
        )
        assert res["verdict"] == "ok", res
        fwd, rev = res["flows"]
        for flow in (fwd, rev):
            assert flow["jitter_ms"] is not None and flow["loss_pct"] is not None and flow["packets"] > 0
            assert 10e6 < flow["bits_per_second"] < 30e6
    finally:
        if server.poll() is None:
            server.terminate()
        server.wait(timeout=10)


def test_refused_and_unreachable_server_errors(ipa, net):
    r = ipa.post("/v1/iperf/client", {"server": net.agent_peer_ip, "port": 5397, "duration": 1})
    assert r.status == 200
    assert r.body["verdict"] == "error"
    assert r.body["error"] == "iperf3: unable to connect to server: Connection refused"
    r = ipa.post(
        "/v1/iperf/client", {"server": str(net.blackhole_net[5]), "port": 5397, "duration": 1, "connect_timeout": 1}
    )
    assert r.body["verdict"] == "error"
    assert r.body["error"] == "iperf3: unable to connect to server: Connection timed out"


@pytest.mark.parametrize(
    "body,needle",
    [
        ({"server": "10.0.0.1", "port": 5201, "duration": 301}, "duration"),
        ({"server": "10.0.0.1", "port": 5201, "parallel": 100}, "parallel"),
        ({"server": "10.0.0.1", "port": 5201, "reverse": True, "bidir": True}, "exclude"),
        ({"server": "10.0.0.1", "port": 5201, "bandwidth": "100MB"}, "bytes"),
        ({"server": "10.0.0.1; reboot", "port": 5201}, "server"),
    ],
)
def test_client_request_bounds(ipa, body, needle):
    r = ipa.post("/v1/iperf/client", body)
    assert r.status == 422 and needle in r.detail


def test_server_request_bounds(ipa, net):
    for body in (
        {"bind": net.agent_peer_ip, "lease_seconds": 7200},
        {"bind": "nowhere"},
        {"bind": net.agent_peer_ip, "port": 0},
    ):
        assert ipa.post("/v1/iperf/servers", body).status == 422


def test_no_free_port_in_range(start_agent, net):
    with start_agent(
        LIMITED_PORT,
        extra=[
            "--iperf-ports",
            "5321-5322",
            "--iperf-max-servers",
            "4",
            "--ovsdb-connection",
            "unix:/nonexistent/db.sock",
        ],
    ) as a:
        ports = {start(a, net)["port"], start(a, net)["port"]}
        assert ports == {5321, 5322}
        r = a.post("/v1/iperf/servers", {"bind": net.agent_peer_ip})
        assert r.status == 409 and "no free port in the iperf3 range 5321-5322" in r.detail


def test_agent_shutdown_kills_its_servers(start_agent, net):
    with start_agent(SHUTDOWN_PORT, extra=["--ovsdb-connection", "unix:/nonexistent/db.sock"]) as a:
        srv = start(a, net, lease_seconds=600)
        assert alive(srv["pid"])
    assert not alive(srv["pid"])


def test_server_left_by_a_crashed_agent_is_killed_at_next_start(net, token, tmp_path):
    """SIGKILL the agent (no shutdown: its server survives it), start it again on the same state
    directory: the recorded lease is undone at start-up and the server is gone."""
    from .conftest import running_agent

    value, path = token
    log = tmp_path / "agent.log"  # same log directory -> same state directory for both runs
    extra = ["--ovsdb-connection", "unix:/nonexistent/db.sock"]
    with running_agent(net.ns, net.agent_ip, CRASH_PORT, value, path, log, extra=extra) as a:
        srv = start(a, net, lease_seconds=600)
        a.proc.kill()
        a.proc.wait(timeout=10)
        assert alive(srv["pid"])  # orphaned, still listening
    with running_agent(net.ns, net.agent_ip, CRASH_PORT, value, path, log, extra=extra) as a:
        eventually(lambda: alive(srv["pid"]), lambda v: not v, what="leftover server killed at start-up")
        assert a.get("/v1/iperf/servers").body["servers"] == []
