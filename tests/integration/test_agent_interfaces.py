"""/v1/info and /v1/interfaces of a real agent, checked against `ip -j` in the same namespace."""

from __future__ import annotations

import shutil
import socket
import urllib.parse

import pytest

import steth

from .conftest import eventually, ip_json, run, skip_unless_root

skip_unless_root()
pytestmark = pytest.mark.root

_FAMILY = {"inet": 4, "inet6": 6}


def ip_view(ns: str) -> dict[str, dict]:
    """What `ip -j -d link` / `ip -j addr` say about every link of ``ns``, in the agent's terms."""
    links = {link["ifname"]: link for link in ip_json("-d", "link", "show", ns=ns)}
    addrs = {a["ifname"]: a.get("addr_info", []) for a in ip_json("addr", "show", ns=ns)}
    view = {}
    for name, link in links.items():
        kind = (link.get("linkinfo") or {}).get("info_kind")
        if not kind:
            kind = "loopback" if "LOOPBACK" in link.get("flags", []) else "device"
        view[name] = dict(
            index=link["ifindex"],
            kind=kind,
            mtu=link["mtu"],
            mac=link.get("address"),
            state=link["operstate"].lower(),
            admin_up="UP" in link.get("flags", []),
            addresses=sorted(
                (_FAMILY[a["family"]], a["local"], a["prefixlen"], a.get("scope")) for a in addrs.get(name, [])
            ),
        )
    return view


def agent_view(iface: dict) -> dict:
    return dict(
        index=iface["index"],
        kind=iface["kind"],
        mtu=iface["mtu"],
        mac=iface["mac"],
        state=iface["state"],
        admin_up=iface["admin_up"],
        addresses=sorted((a["family"], a["address"], a["prefixlen"], a["scope"]) for a in iface["addresses"]),
    )


def stable_compare(net, fetch):
    """Read ip, the agent, ip again; retry while the kernel state moved in between."""
    for _ in range(5):
        before = ip_view(net.ns)
        got = fetch()
        after = ip_view(net.ns)
        if before == after:
            return got, after
    raise AssertionError("interface state of the namespace kept changing")


def stats(ns: str, name: str) -> dict:
    link = ip_json("-s", "link", "show", name, ns=ns)[0]
    return link["stats64"]


# ---- /v1/info ------------------------------------------------------------------


def test_info(agent, net):
    r = agent.get("/v1/info")
    assert r.status == 200, r.body
    info = r.body
    hostname = run(["ip", "netns", "exec", net.ns, "hostname"]).stdout.strip()
    assert info["hostname"] == hostname == socket.gethostname()
    assert info["version"] == steth.__version__
    assert info["api_version"] == "v1"
    eth0 = next(i for i in info["interfaces"] if i["name"] == net.agent_if)
    assert {"family": 4, "address": net.agent_ip, "prefixlen": 30} in [
        {k: a[k] for k in ("family", "address", "prefixlen")} for a in eth0["addresses"]
    ]
    assert eth0["kind"] == "veth"
    # the agent sees its own namespace, not the root one: no root-side link, no host eth0 address
    names = {i["name"] for i in info["interfaces"]}
    assert names == set(ip_view(net.ns))
    assert net.root_link not in names
    root_addrs = {a["local"] for link in ip_json("addr", "show") for a in link.get("addr_info", [])}
    seen_addrs = {a["address"] for i in info["interfaces"] for a in i["addresses"]}
    assert not (root_addrs - {"127.0.0.1", "::1"}) & seen_addrs

    caps = info["capabilities"]
    assert set(caps) == {
        "openvswitch",
        "openvswitch_detail",
        "vlan_8021q",
        "vlan_8021q_detail",
        "iperf3",
        "raw_sockets",
    }
    assert caps["raw_sockets"] is True  # root
    assert caps["iperf3"] is (shutil.which("iperf3") is not None)
    assert isinstance(caps["vlan_8021q"], bool)
    assert "8021q" in caps["vlan_8021q_detail"]
    # this agent was pointed at an OVSDB socket that does not exist
    assert caps["openvswitch"] is False
    assert "/absent/db.sock" in caps["openvswitch_detail"]


# ---- /v1/interfaces --------------------------------------------------------------


def test_interfaces_agree_with_ip(agent, net):
    got, ip_now = stable_compare(net, lambda: agent.get("/v1/interfaces"))
    assert got.status == 200, got.body
    by_name = {i["name"]: i for i in got.body}
    assert set(by_name) == set(ip_now) == {"lo", net.agent_if, net.peer_if}
    for name, seen in ip_now.items():
        assert agent_view(by_name[name]) == seen, name
    assert by_name["lo"]["kind"] == "loopback"
    assert by_name[net.agent_if]["kind"] == by_name[net.peer_if]["kind"] == "veth"
    assert by_name[net.peer_if]["addresses"][0]["address"] == net.agent_peer_ip


def test_one_interface_agrees_with_ip(agent, net):
    for name in ("lo", net.agent_if, net.peer_if):
        got, ip_now = stable_compare(net, lambda name=name: agent.get(f"/v1/interfaces/{name}"))
        assert got.status == 200, got.body
        assert got.body["name"] == name
        assert agent_view(got.body) == ip_now[name]


def test_counters_are_the_kernels(agent, net):
    """Traffic counters lie between two `ip -s` readings taken around the request."""
    before = stats(net.ns, net.agent_if)
    r = agent.get(f"/v1/interfaces/{net.agent_if}")
    after = stats(net.ns, net.agent_if)
    assert r.status == 200
    seen = r.body["stats"]
    for key, ipkey in (("rx_packets", "packets"), ("rx_bytes", "bytes")):
        assert before["rx"][ipkey] <= seen[key] <= after["rx"][ipkey], key
    for key, ipkey in (("tx_packets", "packets"), ("tx_bytes", "bytes")):
        assert before["tx"][ipkey] <= seen[key] <= after["tx"][ipkey], key
    assert seen["rx_packets"] > 0  # this very request came in on it


def test_mtu_change_is_seen(agent, net):
    try:
        net.ip("link", "set", net.agent_if, "mtu", "1400", ns=net.ns)
        assert agent.get(f"/v1/interfaces/{net.agent_if}").body["mtu"] == 1400
        listed = {i["name"]: i for i in agent.get("/v1/interfaces").body}
        assert listed[net.agent_if]["mtu"] == 1400
    finally:
        net.ip("link", "set", net.agent_if, "mtu", "1500", ns=net.ns)
    assert agent.get(f"/v1/interfaces/{net.agent_if}").body["mtu"] == 1500


def test_admin_and_oper_state_are_the_kernels(agent, net):
    """A fresh veth pair: down; one end up while its peer is down: admin up, lower layer down; both up: up."""
    a, b = f"xt{net.suffix[:4]}a", f"xt{net.suffix[:4]}b"

    def seen():
        r = agent.get(f"/v1/interfaces/{a}")
        assert r.status == 200, r.body
        return r.body["kind"], r.body["admin_up"], r.body["state"]

    try:
        net.ip("link", "add", a, "type", "veth", "peer", "name", b, ns=net.ns)
        eventually(seen, lambda v: v == ("veth", False, "down"), what=f"{a} down")
        net.ip("link", "set", a, "up", ns=net.ns)
        eventually(seen, lambda v: v == ("veth", True, "lowerlayerdown"), what=f"{a} up, peer down")
        net.ip("link", "set", b, "up", ns=net.ns)
        eventually(seen, lambda v: v == ("veth", True, "up"), what=f"{a} and {b} up")
    finally:
        net.ip("link", "del", a, ns=net.ns, check=False)
    r = agent.get(f"/v1/interfaces/{a}")
    assert r.status == 404, r.body


def test_unknown_interface_is_404_naming_it(agent):
    r = agent.get("/v1/interfaces/nosuch0")
    assert r.status == 404
    assert "nosuch0" in r.detail


@pytest.mark.parametrize(
    "name, problem",
    [
        ("a" * 16, "longer than 15 bytes"),
        ("é" * 8, "longer than 15 bytes"),  # 8 characters but 16 bytes
        ("eth0:1", "':'"),
        ("eth 0", "' '"),
        ("eth\t0", "'\\t'"),
        (".", "not allowed"),
        ("..", "not allowed"),
    ],
)
def test_bad_interface_name_is_422_naming_the_problem(agent, name, problem):
    r = agent.get("/v1/interfaces/" + urllib.parse.quote(name, safe=""))
    assert r.status == 422, (name, r.status, r.body)
    assert r.detail.startswith("name: ")
    assert problem in r.detail


def test_slash_in_interface_name_is_refused(agent):
    for raw in ("a%2Fb", "a/b"):
        r = agent.get("/v1/interfaces/" + raw)
        assert r.status in (404, 422), (raw, r.status, r.body)


def test_longest_valid_name_is_looked_up_not_refused(agent):
    r = agent.get("/v1/interfaces/" + "a" * 15)
    assert r.status == 404 and "a" * 15 in r.detail
