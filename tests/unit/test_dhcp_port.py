"""A port's DHCP path from Neutron's data (recorded from the Neutron lab) and its node's br-int."""

from __future__ import annotations

import asyncio
import copy
import json
import os

import pytest

from steth.controller.checks import dhcp_port
from steth.controller.config import ControllerConfig, NodeConfig
from steth.errors import UsageError
from steth.openstack import OpenStack, port_from_api
from steth.wire.models import OvsShowResponse, Verdict

HERE = os.path.join(os.path.dirname(__file__), "data")
NEUTRON = json.load(open(os.path.join(HERE, "neutron_lab.json")))
BRIDGES = json.load(open(os.path.join(HERE, "neutron_lab_bridges.json")))


class FakeNetwork:
    """The part of openstacksdk's network proxy that port_facts uses, over the recorded dicts."""

    def ports(self, **query):
        return [p for p in NEUTRON["ports"] if all(p.get(k) == v for k, v in query.items())]

    def get_network(self, net_id):
        return next(n for n in NEUTRON["networks"] if n["id"] == net_id)

    def subnets(self, network_id):
        return [s for s in NEUTRON["subnets"] if s["network_id"] == network_id]


class FakeConn:
    network = FakeNetwork()


class FakeClient:
    """Answers GET /v1/ovs/show with a recorded br-int; any other call is a test failure."""

    def __init__(self, shows: dict[str, OvsShowResponse]) -> None:
        self.shows = shows
        self.asked: list[tuple[str, str]] = []

    async def request(self, node, method, path, **kw):
        self.asked.append((node.name, path))
        assert method == "GET" and path.startswith("/v1/ovs/show"), f"unexpected call {method} {path}"
        return self.shows[node.name]


def config() -> ControllerConfig:
    nodes = {n: NodeConfig(n, f"192.0.2.{i + 1}", 9698) for i, n in enumerate(["network", "compute-1", "compute-2"])}
    return ControllerConfig(nodes=nodes, networks={}, token_file="/nonexistent")


def vm_port(host="compute-1"):
    raw = next(p for p in NEUTRON["ports"] if p["device_owner"] == "compute:nova" and p["binding_host_id"] == host)
    return port_from_api(raw)


def br_int(host: str, plugged_port_id: str | None) -> OvsShowResponse:
    """The node's recorded br-int, with its qvo VIF's iface-id set to ``plugged_port_id`` (or removed)."""
    show = copy.deepcopy(BRIDGES["nodes"][host]["ovs_show"])
    show["bridges"] = [b for b in show["bridges"] if b["name"] == "br-int"]
    for port in show["bridges"][0]["ports"]:
        for iface in port["interfaces"]:
            if port["name"].startswith("qvo") and "iface-id" in iface["external_ids"]:
                if plugged_port_id:
                    iface["external_ids"]["iface-id"] = plugged_port_id
                else:
                    del iface["external_ids"]["iface-id"]
    return OvsShowResponse.model_validate(show)


def test_port_facts_from_neutron():
    port = vm_port()
    facts = dhcp_port.port_facts(OpenStack(FakeConn()), port)
    assert facts.network.id == port.network_id
    assert facts.dhcp_hosts == ["network"] and all(p.device_owner == "network:dhcp" for p in facts.dhcp_ports)


def test_an_unbound_port_is_refused_before_any_agent_is_asked():
    port = vm_port()
    port.binding_host = None
    with pytest.raises(UsageError, match="not bound to a host"):
        dhcp_port.port_facts(OpenStack(FakeConn()), port)


def test_the_path_goes_through_the_vif_found_on_br_int():
    port = vm_port()
    facts = dhcp_port.port_facts(OpenStack(FakeConn()), port)
    client = FakeClient({"compute-1": br_int("compute-1", port.id)})
    path = asyncio.run(dhcp_port.plan_path(client, config(), facts, "eth1"))
    assert client.asked == [("compute-1", "/v1/ovs/show?bridge=br-int")]
    assert path.vif is not None and path.vif[0].name.startswith("qvo")
    assert path.plan is not None
    hops = [(h.node, h.name) for h in path.plan.hops]
    assert hops[:4] == [
        ("compute-1", "vm-tap"),
        ("compute-1", "qvb"),
        ("compute-1", "qvo"),
        ("compute-1", "compute-uplink"),
    ]
    assert ("network", "network-uplink") in hops and ("network", "qdhcp") in hops
    assert path.plan.inject.interface == f"qvb{port.id[:11]}"  # hybrid plugging: injected on qvb


def test_a_port_not_on_br_int_fails_without_a_trace():
    port = vm_port()
    facts = dhcp_port.port_facts(OpenStack(FakeConn()), port)
    client = FakeClient({"compute-1": br_int("compute-1", None)})
    analysis = asyncio.run(dhcp_port.check_port(client, config(), facts, "eth1", 6.0))
    assert analysis.verdict is Verdict.FAIL and not analysis.hops
    assert f"iface-id={port.id}" in analysis.reason and "not plugged into Open vSwitch" in analysis.reason
    assert client.asked == [("compute-1", "/v1/ovs/show?bridge=br-int")]  # no DHCP trace was started
