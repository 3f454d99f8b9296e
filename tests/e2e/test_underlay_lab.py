"""End to end: the underlay lab, real agents in namespaces, and the CLI as a user runs it."""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess

import pytest

from ..conftest import steth
from .conftest import DEMO_LAB, FAILED_LAB, LAB, namespaces

pytestmark = [pytest.mark.root, pytest.mark.e2e]


def run(lab, *args):
    return steth(*args, env=lab["env"])


def test_agent_list_all_alive_with_addresses(lab):
    r = run(lab, "agent", "list", "-f", "json")
    assert r.rc == 0, r.err
    rows = {row["name"]: row for row in r.json()}
    assert set(rows) == {"network", "compute-1", "compute-2"}
    for row in rows.values():
        assert row["alive"] is True and row["verdict"] == "ok" and row["version"]
        assert set(row["capabilities"].split()) == {"iperf3", "raw-sockets"}  # no OVS, no 8021q in the underlay lab
        for net in ("management", "tenant", "storage"):
            ipaddress.ip_address(row[net])  # one address learnt from the agent on each network
    assert rows["compute-1"]["agent"].startswith(rows["compute-1"]["management"])


def test_original_name_print_agents_info(lab):
    r = run(lab, "print-agents-info", "-f", "value", "-c", "name", "-c", "alive")
    assert r.rc == 0 and sorted(r.out.split()) == sorted(["network", "True", "compute-1", "True", "compute-2", "True"])


def test_lab_status_json_lists_nodes(lab):
    r = run(lab, "lab", "status", "--name", LAB, "-f", "json")
    assert r.rc == 0, r.err
    rows = r.json()
    assert [x["node"] for x in rows] == ["network", "compute-1", "compute-2"]
    for row in rows:
        assert row["namespace"] in namespaces()
        assert set(row["interfaces"]) == {"eth0", "eth1", "eth2"}
        assert row["agent_state"] == "running" and row["agent_pid"] > 0


def test_second_up_says_the_lab_exists(lab):
    r = run(lab, "lab", "up", "--name", LAB)
    assert r.rc != 0 and "already up" in r.err


def test_get_interface_agrees_with_ip(lab):
    r = run(lab, "get-interface", "compute-1", "eth1", "-f", "json")
    assert r.rc == 0, r.err
    shown = r.json()
    ip = json.loads(
        subprocess.run(
            ["ip", "-n", f"steth-{LAB}-compute-1", "-j", "addr", "show", "eth1"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )[0]
    assert shown["mtu"] == ip["mtu"] and shown["mac"] == ip["address"] and shown["index"] == ip["ifindex"]
    assert shown["kind"] == "veth" and shown["state"] == ip["operstate"].lower()
    expected = {f"{a['local']}/{a['prefixlen']}" for a in ip["addr_info"]}
    got = {line.split()[0] for line in shown["addresses"].splitlines()}
    assert got == expected


def test_ping_between_nodes_on_each_network(lab):
    for net in ("management", "tenant", "storage"):
        r = run(lab, "ping", "network", "compute-1,compute-2", "--network", net, "--count", "2", "-f", "json")
        assert r.rc == 0, r.err
        rows = r.json()
        assert [x["destination"] for x in rows] == ["compute-1", "compute-2"]
        assert all(x["verdict"] == "ok" and x["received"] == 2 and x["loss_pct"] == 0 for x in rows)


def test_ping_unused_address_reports_total_loss(lab):
    conf = open(lab["conf"]).read()
    tenant = ipaddress.ip_network(conf.split("tenant = ")[1].split()[0])
    unused = str(tenant.network_address + 250)  # inside the lab's own switch: nothing answers
    r = run(lab, "ping", "compute-1", f"{unused},compute-2", "--count", "2", "--timeout", "0.5", "-f", "json")
    assert r.rc == 1
    rows = {x["destination"]: x for x in r.json()}
    assert rows[unused]["loss_pct"] == 100 and rows[unused]["verdict"] == "fail"
    assert rows["compute-2"]["verdict"] == "ok"


def test_stopped_agent_is_down_exit_3(lab):
    assert run(lab, "lab", "agent", "--name", LAB, "stop", "compute-2").rc == 0
    try:
        r = run(lab, "agent", "list", "-f", "json")
        assert r.rc == 3
        rows = {x["name"]: x for x in r.json()}
        assert rows["compute-2"]["alive"] is False and rows["compute-2"]["verdict"] == "error"
        assert "unreachable" in rows["compute-2"]["error"] or "did not answer" in rows["compute-2"]["error"]
        assert rows["compute-1"]["alive"] is True
        single = run(lab, "interface", "show", "compute-2", "eth0")
        assert single.rc == 3 and "compute-2" in single.err
    finally:
        assert run(lab, "lab", "agent", "--name", LAB, "start", "compute-2").rc == 0
    assert run(lab, "agent", "list").rc == 0


def test_ovs_check_ports_without_ovs_is_a_clear_error(lab):
    r = run(lab, "check-ports-on-br", "compute-1", "br-int", "qvo1", "-f", "json")
    assert r.rc == 1
    [row] = r.json()
    assert row["verdict"] == "error" and "Open vSwitch" in row["detail"]


@pytest.mark.parametrize(
    "args,needle",
    [
        (["ping", "compute-1", "10.0.0.300"], "neither an IP address nor a known agent"),
        (["ping", "compute-9", "compute-1"], "unknown agent 'compute-9'"),
        (["interface", "show", "compute-1", "averyveryverylongname"], "longer than 15 bytes"),
        (["interface", "show", "compute-1", "../etc"], "contains '/'"),
        (["interface", "show", "compute-1", "nosuch0"], "no interface named 'nosuch0'"),
        (["ping", "compute-1", "compute-2", "--count", "0"], "count"),
        (["ovs", "check-ports", "compute-1", "br int", "p1"], "bridge"),
    ],
)
def test_bad_input_gives_clear_error(lab, args, needle):
    r = run(lab, *args)
    assert r.rc == 2, (r.rc, r.out, r.err)
    assert needle in r.err


def test_wrong_or_missing_token(lab, tmp_path):
    bad_token = tmp_path / "token"
    bad_token.write_text("0" * 64)
    text = open(lab["conf"]).read()
    token_line = [line for line in text.splitlines() if line.startswith("token_file")][0]
    wrong = tmp_path / "wrong.conf"
    wrong.write_text(text.replace(token_line, f"token_file = {bad_token}"))
    r = steth("--config-file", str(wrong), "interface", "show", "network", "eth0")
    assert r.rc == 2 and "refused the token" in r.err and "token_file" in r.err
    missing = tmp_path / "missing.conf"
    missing.write_text(text.replace(token_line, f"token_file = {tmp_path}/nope"))
    r = steth("--config-file", str(missing), "agent", "list")
    assert r.rc == 2 and "cannot read token file" in r.err


def test_missing_config_file(lab, tmp_path):
    r = steth("--config-file", str(tmp_path / "none.conf"), "agent", "list")
    assert r.rc == 2 and "not found" in r.err and "steth lab config" in r.err


def test_lab_config_writes_usable_config(lab, tmp_path):
    out = tmp_path / "copy.conf"
    assert run(lab, "lab", "config", "--name", LAB, "-o", str(out)).rc == 0
    r = steth("--config-file", str(out), "agent", "list", "-f", "value", "-c", "alive")
    assert r.rc == 0 and r.out.split() == ["True"] * 3


def test_failed_up_leaves_nothing_and_keeps_what_is_not_ours(lab_root):
    env = {"STETH_LAB_ROOT": lab_root}
    foreign = f"steth-{FAILED_LAB}-compute-1"
    subprocess.run(["ip", "netns", "add", foreign], check=True)
    try:
        r = steth("lab", "up", "--name", FAILED_LAB, env=env)
        assert r.rc == 1 and f"{foreign} already exists" in r.err
        assert foreign in namespaces()  # not ours: untouched
        assert not {ns for ns in namespaces() if ns.startswith(f"steth-{FAILED_LAB}-") and ns != foreign}
        assert not os.path.exists(f"{lab_root}/lab-{FAILED_LAB}")
        assert steth("lab", "status", "--name", FAILED_LAB, env=env).rc != 0
    finally:
        subprocess.run(["ip", "netns", "del", foreign], check=True)


def test_demo_runs_every_check_and_cleans_up(lab_root):
    r = steth("lab", "demo", "--name", DEMO_LAB, env={"STETH_LAB_ROOT": lab_root})
    assert r.rc == 0, r.out + r.err
    assert "demo: all checks passed" in r.out
    for cmd in (
        "steth agent list",
        "steth interface show network eth0",
        "steth ping network",
        "steth check mesh",
        "steth check mtu",
    ):
        assert cmd in r.out
    assert not {ns for ns in namespaces() if ns.startswith(f"steth-{DEMO_LAB}-")}
