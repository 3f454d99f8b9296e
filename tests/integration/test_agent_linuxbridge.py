"""GET /v1/linuxbridge/show against the real kernel: a bridge, a VXLAN device in it as the linuxbridge
agent makes them (unicast, ARP responder), an l2population-style flood entry and ARP responder entry."""

from __future__ import annotations

import pytest

from .conftest import ip, run, skip_unless_root

skip_unless_root()
pytestmark = pytest.mark.root

BRIDGE, VXLAN = "brqstethtest", "vxlan-4001"


def test_bridge_vxlan_fdb_and_arp_responder_as_the_kernel_reports_them(agent, net):
    try:
        ip("link", "add", BRIDGE, "type", "bridge", "forward_delay", "0", ns=net.ns)
        ip("link", "add", VXLAN, "type", "vxlan", "id", "4001", "local", net.agent_ip, "dev", net.agent_if,
           "dstport", "8472", "proxy", "nolearning", ns=net.ns)  # fmt: skip
        ip("link", "set", VXLAN, "master", BRIDGE, "up", ns=net.ns)
        ip("link", "set", BRIDGE, "up", ns=net.ns)
        bridge = ["ip", "netns", "exec", net.ns, "bridge"]
        run([*bridge, "fdb", "append", "00:00:00:00:00:00", "dev", VXLAN, "dst", net.peer_ip])
        run([*bridge, "fdb", "replace", "fa:16:3e:00:00:09", "dev", VXLAN, "dst", net.peer_ip])
        ip(
            "neigh",
            "replace",
            "192.168.250.9",
            "lladdr",
            "fa:16:3e:00:00:09",
            "dev",
            VXLAN,
            "nud",
            "permanent",
            ns=net.ns,
        )
        r = agent.get("/v1/linuxbridge/show")
        assert r.status == 200, r.body
        vx = next(v for v in r.body["vxlans"] if v["name"] == VXLAN)
        assert (vx["vni"], vx["local"], vx["dev"], vx["port"], vx["proxy"], vx["learning"], vx["up"]) == (
            4001, net.agent_ip, net.agent_if, 8472, True, False, True,
        )  # fmt: skip
        link = next(x for x in r.body["links"] if x["name"] == VXLAN)
        assert link["master"] == BRIDGE and link["kind"] == "vxlan"
        flood = [e for e in r.body["fdb"] if e["dev"] == VXLAN and e["mac"] == "00:00:00:00:00:00"]
        assert [e["dst"] for e in flood] == [net.peer_ip] and flood[0]["permanent"]
        assert any(e["mac"] == "fa:16:3e:00:00:09" and e["dst"] == net.peer_ip for e in r.body["fdb"])
        neigh = [n for n in r.body["neighbours"] if n["dev"] == VXLAN]
        assert neigh == [{"ip": "192.168.250.9", "mac": "fa:16:3e:00:00:09", "dev": VXLAN, "state": "PERMANENT"}]
        assert any(x.startswith(":FORWARD") for x in r.body["filter_rules"])
    finally:
        ip("link", "del", VXLAN, ns=net.ns, check=False)
        ip("link", "del", BRIDGE, ns=net.ns, check=False)
