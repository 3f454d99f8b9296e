"""POST /v1/ovs/check-ports against a real ovsdb-server (no vswitchd: rows only) and against none."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from .conftest import run, skip_unless_root, stop_process

skip_unless_root()
pytestmark = pytest.mark.root

OVS_PORT = 9699
SCHEMA = Path("/usr/share/openvswitch/vswitch.ovsschema")

if not (shutil.which("ovsdb-server") and shutil.which("ovsdb-tool") and shutil.which("ovs-vsctl") and SCHEMA.exists()):
    pytest.skip("needs Open vSwitch (ovsdb-server, ovsdb-tool, ovs-vsctl, vswitch.ovsschema)", allow_module_level=True)


class OvsdbServer:
    """ovsdb-server in the foreground (so the Popen PID is the server's), files in its own directory."""

    def __init__(self, workdir: Path) -> None:
        self.dir = workdir
        self.db = workdir / "conf.db"
        self.sock = workdir / "db.sock"
        self.proc: subprocess.Popen | None = None

    @property
    def connection(self) -> str:
        return f"unix:{self.sock}"

    def create(self) -> None:
        run(["ovsdb-tool", "create", str(self.db), str(SCHEMA)])

    def start(self) -> None:
        argv = [
            "ovsdb-server",
            str(self.db),
            f"--remote=punix:{self.sock}",
            f"--pidfile={self.dir / 'ovsdb-server.pid'}",
            f"--unixctl={self.dir / 'ovsdb-server.ctl'}",
            "--no-chdir",
            f"--log-file={self.dir / 'ovsdb-server.log'}",
        ]
        self.proc = subprocess.Popen(
            argv, cwd=self.dir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while not self.sock.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"ovsdb-server did not start: {self.log()}")
            time.sleep(0.02)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None

    def vsctl(self, *args: str) -> str:
        return run(["ovs-vsctl", f"--db={self.connection}", "--no-wait", "--timeout=10", *args]).stdout

    def log(self) -> str:
        try:
            return (self.dir / "ovsdb-server.log").read_text(errors="replace")
        except OSError:
            return ""


@pytest.fixture(scope="module")
def ovsdb(tmp_path_factory):
    server = OvsdbServer(tmp_path_factory.mktemp("ovs"))
    try:
        server.create()
        server.start()
        server.vsctl("init")
        server.vsctl("add-br", "br-test", "--", "set", "bridge", "br-test", "datapath_type=netdev")
        server.vsctl("add-port", "br-test", "p1", "--", "set", "interface", "p1", "type=internal")
        server.vsctl("add-br", "br-other", "--", "set", "bridge", "br-other", "datapath_type=netdev")
        server.vsctl("add-port", "br-other", "p9")
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def ovs_agent(start_agent, ovsdb):
    with start_agent(OVS_PORT, extra=["--ovsdb-connection", ovsdb.connection]) as a:
        yield a


def check(agent, bridge, ports):
    r = agent.post("/v1/ovs/check-ports", {"bridge": bridge, "ports": ports})
    assert r.status == 200, r.body
    return r.body


def test_without_ovs_the_answer_is_an_error_verdict_not_a_failure(agent, no_ovs_connection):
    body = check(agent, "br-int", ["p1", "p2"])
    assert body["ovs_available"] is False
    assert body["bridge_exists"] is False
    assert body["verdict"] == "error"
    assert no_ovs_connection.removeprefix("unix:") in body["detail"]
    assert "socket" in body["detail"]


def test_present_and_missing_ports(ovs_agent):
    body = check(ovs_agent, "br-test", ["p1", "p2"])
    assert body["ovs_available"] is True and body["bridge_exists"] is True
    assert body["verdict"] == "fail"
    assert body["ports"] == [
        {"port": "p1", "present": True, "verdict": "ok"},
        {"port": "p2", "present": False, "verdict": "fail"},
    ]
    assert "p2" in body["detail"] and "p1" not in body["detail"]


def test_all_present_is_ok(ovs_agent):
    body = check(ovs_agent, "br-test", ["p1"])
    assert body["verdict"] == "ok" and body["ports"] == [{"port": "p1", "present": True, "verdict": "ok"}]


def test_ports_of_another_bridge_are_not_counted(ovs_agent):
    body = check(ovs_agent, "br-test", ["p9"])
    assert body["bridge_exists"] is True and body["verdict"] == "fail"
    assert check(ovs_agent, "br-other", ["p9"])["verdict"] == "ok"


def test_missing_bridge(ovs_agent):
    body = check(ovs_agent, "br-nope", ["p1"])
    assert body["ovs_available"] is True
    assert body["bridge_exists"] is False
    assert body["verdict"] == "fail"
    assert "br-nope" in body["detail"]
    assert body["ports"] == [{"port": "p1", "present": False, "verdict": "fail"}]


def test_info_reports_ovs(ovs_agent, ovsdb):
    caps = ovs_agent.get("/v1/info").body["capabilities"]
    assert caps["openvswitch"] is True
    assert str(ovsdb.sock) in caps["openvswitch_detail"]


def test_a_port_added_later_is_seen(ovs_agent, ovsdb):
    assert check(ovs_agent, "br-test", ["p5"])["verdict"] == "fail"
    ovsdb.vsctl("add-port", "br-test", "p5")
    try:
        # the agent reads a replica the server updates asynchronously: allow it a bounded moment
        deadline = time.monotonic() + 10
        while check(ovs_agent, "br-test", ["p5"])["verdict"] != "ok":
            assert time.monotonic() < deadline, "port added with ovs-vsctl never seen by the agent"
            time.sleep(0.05)
    finally:
        ovsdb.vsctl("--if-exists", "del-port", "br-test", "p5")


@pytest.mark.parametrize(
    "body, field",
    [
        ({"bridge": "br int", "ports": ["p1"]}, "bridge"),
        ({"bridge": "a/b", "ports": ["p1"]}, "bridge"),
        ({"bridge": "", "ports": ["p1"]}, "bridge"),
        ({"bridge": "b" * 65, "ports": ["p1"]}, "bridge"),
        ({"bridge": "br-test", "ports": ["p1", "bad;port"]}, "ports.1"),
        ({"bridge": "br-test", "ports": []}, "ports"),
        ({"bridge": "br-test", "ports": [f"p{i}" for i in range(257)]}, "ports"),
        ({"bridge": "br-test"}, "ports"),
        ({"bridge": "br-test", "ports": ["p1"], "extra": True}, "extra"),
    ],
)
def test_bad_names_are_422(ovs_agent, body, field):
    r = ovs_agent.post("/v1/ovs/check-ports", body)
    assert r.status == 422, r.body
    assert field in r.fields, r.body


def test_ovsdb_going_away_and_coming_back(ovs_agent, ovsdb):
    """Last in the module: stop the server, get an error verdict; restart it, the agent recovers."""
    assert check(ovs_agent, "br-test", ["p1"])["verdict"] == "ok"
    ovsdb.stop()
    body = check(ovs_agent, "br-test", ["p1"])
    assert body["verdict"] == "error" and body["ovs_available"] is False
    assert str(ovsdb.sock) in body["detail"]
    ovsdb.start()
    ovsdb.vsctl("add-port", "br-test", "p6")
    deadline = time.monotonic() + 15
    while (body := check(ovs_agent, "br-test", ["p1", "p6"]))["verdict"] != "ok":
        assert time.monotonic() < deadline, f"agent did not recover after ovsdb-server restart: {body}"
        time.sleep(0.1)
    assert body["ovs_available"] is True
