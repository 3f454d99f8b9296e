"""GET /v1/ovs/show and POST /v1/ovs/trace against a real ovsdb-server and a userspace ovs-vswitchd
running in a fresh namespace of their own."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from .conftest import run, skip_unless_root, stop_process

skip_unless_root()
pytestmark = pytest.mark.root

PORT = 9701
SCHEMA = Path("/usr/share/openvswitch/vswitch.ovsschema")

if (
    not all(
        shutil.which(b) for b in ("ovsdb-server", "ovsdb-tool", "ovs-vsctl", "ovs-vswitchd", "ovs-appctl", "nsenter")
    )
    or not SCHEMA.exists()
):
    pytest.skip("needs Open vSwitch (ovsdb-server, ovs-vswitchd, ovs-appctl)", allow_module_level=True)


def wait_for(check, what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def switch(tmp_path_factory):
    """ovsdb-server (unix socket) + ovs-vswitchd (netdev datapath) inside its own namespace."""
    d = tmp_path_factory.mktemp("ovsw")
    ns = f"steth-it-ovs-{secrets.token_hex(3)}"
    env = {**os.environ, "OVS_RUNDIR": str(d), "OVS_DBDIR": str(d), "OVS_LOGDIR": str(d)}
    procs: list[subprocess.Popen] = []
    run(["ip", "netns", "add", ns])
    try:
        run(["ip", "-n", ns, "link", "set", "lo", "up"])
        run(["ovsdb-tool", "create", str(d / "conf.db"), str(SCHEMA)])
        procs.append(
            subprocess.Popen(
                [
                    "ovsdb-server",
                    str(d / "conf.db"),
                    f"--remote=punix:{d}/db.sock",
                    f"--pidfile={d}/ovsdb-server.pid",
                    f"--unixctl={d}/ovsdb-server.ctl",
                    f"--log-file={d}/ovsdb-server.log",
                ],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        wait_for(lambda: (d / "db.sock").exists(), "ovsdb-server")
        vsctl = ["ovs-vsctl", f"--db=unix:{d}/db.sock", "--timeout=20"]
        run([*vsctl, "--no-wait", "init"])
        procs.append(
            subprocess.Popen(
                [
                    "nsenter",
                    f"--net=/run/netns/{ns}",
                    "ovs-vswitchd",
                    f"unix:{d}/db.sock",
                    f"--pidfile={d}/ovs-vswitchd.pid",
                    f"--log-file={d}/ovs-vswitchd.log",
                ],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        wait_for(lambda: (d / "ovs-vswitchd.pid").exists(), "ovs-vswitchd")
        run(["ip", "-n", ns, "link", "add", "qvo-a", "type", "veth", "peer", "name", "qvb-a"])
        run(["ip", "-n", ns, "link", "set", "qvo-a", "up"])
        run(["ip", "-n", ns, "link", "set", "qvb-a", "up"])
        run(
            [
                *vsctl,
                "add-br",
                "br-int",
                "--",
                "set",
                "bridge",
                "br-int",
                "datapath_type=netdev",
                "--",
                "add-br",
                "br-tun",
                "--",
                "set",
                "bridge",
                "br-tun",
                "datapath_type=netdev",
                "--",
                "add-port",
                "br-int",
                "qvo-a",
                "tag=5",
                "--",
                "set",
                "interface",
                "qvo-a",
                "external_ids:iface-id=port-a",
                "external_ids:attached-mac=fa:16:3e:00:00:0a",
                "--",
                "add-port",
                "br-int",
                "patch-tun",
                "--",
                "set",
                "interface",
                "patch-tun",
                "type=patch",
                "options:peer=patch-int",
                "--",
                "add-port",
                "br-tun",
                "patch-int",
                "--",
                "set",
                "interface",
                "patch-int",
                "type=patch",
                "options:peer=patch-tun",
                "--",
                "add-port",
                "br-int",
                "ghost",
                "--",
                "set",
                "interface",
                "ghost",
                "type=patch",
                "options:peer=nowhere",
            ]
        )
        yield {"connection": f"unix:{d}/db.sock", "ns": ns, "dir": d}
    finally:
        for p in reversed(procs):
            stop_process(p)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


@pytest.fixture(scope="module")
def ovs_agent(start_agent, switch):
    with start_agent(PORT, extra=["--ovsdb-connection", switch["connection"]]) as a:
        yield a


def test_show_bridge_ports_tags_external_ids_and_peers(ovs_agent):
    r = ovs_agent.get("/v1/ovs/show?bridge=br-int")
    assert r.status == 200, r.body
    body = r.body
    assert [b["name"] for b in body["bridges"]] == ["br-int"]
    ports = {p["name"]: p for p in body["bridges"][0]["ports"]}
    assert ports["qvo-a"]["tag"] == 5
    iface = ports["qvo-a"]["interfaces"][0]
    assert iface["external_ids"]["iface-id"] == "port-a" and iface["ofport"] > 0
    assert ports["patch-tun"]["interfaces"][0]["peer"] == "patch-int"
    # a patch port whose peer does not exist is reported as a problem
    assert body["verdict"] == "fail" and any("ghost" in p and "nowhere" in p for p in body["problems"])


def test_show_all_bridges_and_unknown_bridge(ovs_agent):
    body = ovs_agent.get("/v1/ovs/show").body
    assert {b["name"] for b in body["bridges"]} == {"br-int", "br-tun"}
    body = ovs_agent.get("/v1/ovs/show?bridge=br-nope").body
    assert body["verdict"] == "fail" and "does not exist" in body["detail"]
    assert ovs_agent.get("/v1/ovs/show?bridge=a%2Cb").status == 422


def test_trace_through_vswitchd(ovs_agent):
    r = ovs_agent.post(
        "/v1/ovs/trace",
        {
            "bridge": "br-int",
            "in_port": "qvo-a",
            "dl_src": "fa:16:3e:00:00:0a",
            "dl_dst": "ff:ff:ff:ff:ff:ff",
            "proto": "udp",
            "nw_src": "0.0.0.0",
            "nw_dst": "255.255.255.255",
            "tp_src": 68,
            "tp_dst": 67,
        },
    )
    assert r.status == 200, r.body
    body = r.body
    assert body["verdict"] == "ok", body["detail"]
    assert body["datapath_actions"] and "Final flow" in body["output"]


def test_trace_unknown_port_is_an_error_verdict(ovs_agent):
    body = ovs_agent.post("/v1/ovs/trace", {"bridge": "br-int", "in_port": "nope"}).body
    assert body["verdict"] == "error" and "nope" in body["detail"]


def test_trace_rejects_injection(ovs_agent):
    assert ovs_agent.post("/v1/ovs/trace", {"bridge": "br-int", "in_port": "qvo-a,actions=drop"}).status == 422
    assert ovs_agent.post("/v1/ovs/trace", {"bridge": "br-int", "in_port": "qvo-a", "extra": "x"}).status == 422
