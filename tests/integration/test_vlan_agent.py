"""The agent's /v1/vlan routes (raw 802.1Q probes) and /v1/links routes (leased host changes), against the
session agent whose eth1 is cabled straight to the peer namespace's eth0."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from steth.probes.capabilities import vlan_8021q

from .conftest import eventually, ip, ip_json, skip_unless_root

skip_unless_root()

pytestmark = [pytest.mark.root]
HELPER = str(Path(__file__).with_name("vlan_helper.py"))


def helper(ns: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        ["ip", "netns", "exec", ns, sys.executable, HELPER, *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_listen_collect_hears_the_peer_with_tags(agent, net):
    run_id = secrets.token_hex(8)
    r = agent.post("/v1/vlan/listen", {"interface": net.peer_if, "run_id": run_id, "duration": 30})
    assert r.status == 201, r.body
    cid = r.body["capture_id"]
    p = helper(net.peer_ns, "send", "eth0", run_id, "peer", "untagged,1-4094")
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    c = agent.post(f"/v1/vlan/listen/{cid}/collect", {"grace": 0.2})
    assert c.status == 200, c.body
    assert c.body["verdict"] == "ok" and c.body["kernel_drops"] == 0
    assert c.body["heard"] == [{"sender": "peer", "interface": "eth0", "vlans": list(range(0, 4095)), "mismatched": []}]
    # collected once: gone
    assert agent.post(f"/v1/vlan/listen/{cid}/collect", {}).status == 404


def test_send_is_heard_by_the_peer(agent, net):
    run_id = secrets.token_hex(8)
    lst = helper(net.peer_ns, "listen", "eth0", run_id, "20", "6")
    assert json.loads(lst.stdout.readline()).get("ready")
    r = agent.post(
        "/v1/vlan/send",
        {
            "interface": net.peer_if,
            "run_id": run_id,
            "sender": "agent",
            "vlans": [0, 100, 4094],
            "repeat": 2,
            "rate": 10000,
        },
    )
    assert r.status == 200, r.body
    assert r.body["sent"] == 6 and r.body["verdict"] == "ok" and r.body["mac"]
    out, err = lst.communicate(timeout=30)
    assert json.loads(out.splitlines()[-1])["heard"] == {f"agent/{net.peer_if}": [0, 100, 4094]}


def test_capture_ends_at_its_duration_and_can_still_be_collected(agent, net):
    r = agent.post("/v1/vlan/listen", {"interface": net.peer_if, "run_id": "ab", "duration": 0.2})
    c = agent.post(f"/v1/vlan/listen/{r.body['capture_id']}/collect", {"grace": 1})
    assert c.status == 200 and c.body["heard"] == [] and c.body["frames"] == 0


@pytest.mark.parametrize(
    "path,body,words",
    [
        ("/v1/vlan/listen", {"interface": "eth1", "run_id": "ab", "duration": 61}, "duration"),
        ("/v1/vlan/listen", {"interface": "eth1", "run_id": "not hex"}, "run_id"),
        ("/v1/vlan/send", {"interface": "eth1", "run_id": "ab", "sender": "x", "vlans": list(range(4096))}, "vlans"),
        ("/v1/vlan/send", {"interface": "eth1", "run_id": "ab", "sender": "x", "vlans": [4095]}, "vlans"),
        ("/v1/vlan/listen/zz/collect", {}, "capture_id"),
    ],
)
def test_bad_requests_are_422_naming_the_field(agent, path, body, words):
    r = agent.post(path, body)
    assert r.status == 422 and words in r.detail, r.body


@pytest.mark.parametrize(
    "path, body",
    [
        ("/v1/vlan/listen", {"interface": "nosuch0", "run_id": "ab"}),
        ("/v1/vlan/send", {"interface": "nosuch0", "run_id": "ab", "sender": "x", "vlans": [1]}),
    ],
)
def test_missing_interface_is_404_naming_it(agent, path, body):
    r = agent.post(path, body)
    assert r.status == 404 and "no interface named 'nosuch0'" in r.detail, r.body


def test_unknown_capture_is_404(agent):
    assert agent.post("/v1/vlan/listen/0123456789abcdef/collect", {}).status == 404


# ---- /v1/links ---------------------------------------------------------------


@pytest.fixture
def veth(net):
    """vtA (with vtB) in the agent's namespace, made here and removed here."""
    name = f"vt{secrets.token_hex(2)}"
    ip("link", "add", name, "type", "veth", "peer", "name", name + "p", ns=net.ns)
    ip("addr", "add", "198.51.100.1/24", "dev", name, ns=net.ns)
    try:
        yield name
    finally:
        ip("link", "del", name, ns=net.ns, check=False)


def addrs(net, ifname: str) -> set[str]:
    found = ip_json("addr", "show", "dev", ifname, ns=net.ns)
    return (
        {f"{a['local']}/{a['prefixlen']}" for a in found[0]["addr_info"] if a.get("scope") == "global"}
        if found
        else set()
    )


def is_up(net, ifname: str) -> bool:
    return "UP" in ip_json("link", "show", "dev", ifname, ns=net.ns)[0]["flags"]


def test_setup_link_adds_and_teardown_removes_only_its_own(agent, net, veth):
    r = agent.post("/v1/links/setup", {"interface": veth, "cidr": "192.0.2.1/24", "lease": 300})
    assert r.status == 200, r.body
    assert r.body["lease_id"] and "added 192.0.2.1/24" in r.body["changes"] and "set up" in r.body["changes"]
    assert addrs(net, veth) == {"198.51.100.1/24", "192.0.2.1/24"} and is_up(net, veth)
    t = agent.post("/v1/links/teardown", {"interface": veth})
    assert t.status == 200, t.body
    assert addrs(net, veth) == {"198.51.100.1/24"} and not is_up(net, veth)  # link state put back too
    # nothing of steth's left on it: a second teardown refuses to delete a foreign interface
    again = agent.post("/v1/links/teardown", {"interface": veth})
    assert again.status == 409 and "--force" in again.detail


def test_setup_link_flush_restores_the_others_when_the_lease_ends(agent, net, veth):
    r = agent.post("/v1/links/setup", {"interface": veth, "cidr": "192.0.2.2/24", "flush": True, "lease": 1})
    assert r.status == 200, r.body
    assert addrs(net, veth) == {"192.0.2.2/24"}
    eventually(
        lambda: addrs(net, veth),
        lambda a: a == {"198.51.100.1/24"},
        timeout=10,
        what="lease expiry restoring the flushed address",
    )


def test_setup_link_keeps_an_address_that_was_there(agent, net, veth):
    r = agent.post("/v1/links/setup", {"interface": veth, "cidr": "198.51.100.1/24", "lease": 300})
    assert r.status == 200, r.body
    assert any("already there" in c for c in r.body["changes"])
    assert r.body["changes"][0] == "set up"  # the new veth was down: only that is leased
    agent.post("/v1/links/teardown", {"interface": veth})
    assert addrs(net, veth) == {"198.51.100.1/24"}


def test_teardown_force_deletes_a_foreign_interface(agent, net, veth):
    r = agent.post("/v1/links/teardown", {"interface": veth, "force": True})
    assert r.status == 200, r.body
    assert not [l for l in ip_json("link", "show", ns=net.ns) if l["ifname"] == veth]


def test_setup_link_unknown_interface_404(agent):
    r = agent.post("/v1/links/setup", {"interface": "nosuch0", "cidr": "192.0.2.1/24"})
    assert r.status == 404 and "nosuch0" in r.detail


def test_add_vlan_without_8021q_is_a_clear_501(agent, net):
    if vlan_8021q()[0]:
        pytest.skip("this kernel has 8021q: the success path is tested instead")
    r = agent.post("/v1/links/vlan", {"interface": net.peer_if, "vlan_id": 105})
    assert r.status == 501 and "8021q" in r.detail and "check vlan" in r.detail


def test_add_vlan_creates_and_teardown_deletes(agent, net):
    ok, why = vlan_8021q()
    if not ok:
        pytest.skip(f"success path needs VLAN sub-interfaces: {why}")
    r = agent.post("/v1/links/vlan", {"interface": net.peer_if, "vlan_id": 105, "lease": 60})
    assert r.status == 200, r.body
    name = r.body["interface"]
    assert name == f"{net.peer_if}.105" and [l for l in ip_json("link", "show", ns=net.ns) if l["ifname"] == name]
    assert agent.post("/v1/links/teardown", {"interface": name}).status == 200
    assert not [l for l in ip_json("link", "show", ns=net.ns) if l["ifname"] == name]
