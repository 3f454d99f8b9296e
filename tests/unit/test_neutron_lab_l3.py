"""Pure logic of the Neutron lab's L3 part: lease reports, bridge mappings, router ids left on disk."""

from __future__ import annotations

import os

from steth.lab.neutron import overlay, teardown, vms
from steth.lab.neutron.ml2ovs import config
from steth.lab.topology import build


def test_lease_report_with_router_and_dns():
    kv = vms.parse_lease("LEASE ip=192.168.101.5 mask=24 serverid=192.168.101.2 router=192.168.101.1 dns=203.0.113.53")
    assert kv == {
        "ip": "192.168.101.5",
        "mask": "24",
        "serverid": "192.168.101.2",
        "router": "192.168.101.1",
        "dns": "203.0.113.53",
    }


def test_lease_report_keeps_the_first_of_several_routers_and_servers():
    kv = vms.parse_lease("LEASE ip=10.0.0.5 mask=24 serverid=10.0.0.2 router=10.0.0.1 10.0.0.254 dns=1.1.1.1 9.9.9.9")
    assert kv is not None and kv["router"] == "10.0.0.1" and kv["dns"] == "1.1.1.1"


def test_lease_report_without_router():
    kv = vms.parse_lease("LEASE ip=10.0.0.5 mask=24 serverid=10.0.0.2 router= dns=")
    assert kv is not None and kv["router"] == "" and kv["dns"] == ""
    assert vms.parse_lease("udhcpc: sending discover") is None


def test_only_the_network_node_maps_the_external_network():
    topo = build("l3u", 2, None)
    maps = {n.name: config.bridge_mappings(n) for n in topo.nodes}
    assert maps == {
        "network": "physnet1:br-tenant,extnet:br-ex",
        "compute-1": "physnet1:br-tenant",
        "compute-2": "physnet1:br-tenant",
    }
    assert overlay.build(topo).internet.namespace == "steth-l3u-inet"


def test_router_ids_found_in_the_l3_agent_state(tmp_path):
    rid1, rid2 = "0b6c2f3e-1111-4a2b-9c3d-0123456789ab", "9f8e7d6c-2222-4b3c-8d4e-ba9876543210"
    os.makedirs(tmp_path / "ha_confs" / rid1)
    os.makedirs(tmp_path / "external" / "pids")
    (tmp_path / "external" / "pids" / f"{rid2}.pid.haproxy").write_text("1")
    (tmp_path / "external" / "pids" / "not-a-router.pid").write_text("1")
    assert teardown.router_ids_in(str(tmp_path)) == {rid1, rid2}
    assert teardown.router_ids_in(str(tmp_path / "missing")) == set()
