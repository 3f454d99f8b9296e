"""The OpenStack adapter on data recorded from the Neutron lab (openstacksdk to_dict())."""

from __future__ import annotations

import json
import os

import pytest

from steth.errors import OpenStackError, OpenStackNotFound, OpenStackUnreachable
from steth.openstack import OpenStack, agent_from_api, map_error, network_from_api, port_from_api

DATA = json.load(open(os.path.join(os.path.dirname(__file__), "data", "neutron_lab.json")))


class FakeNetwork:
    """The subset of openstacksdk's network proxy the adapter uses, over recorded dicts."""

    def get_port(self, port_id):
        from openstack import exceptions

        for p in DATA["ports"]:
            if p["id"] == port_id:
                return p
        raise exceptions.NotFoundException(f"Port {port_id} could not be found")

    def ports(self, **query):
        for p in DATA["ports"]:
            if "mac_address" in query and p["mac_address"] != query["mac_address"]:
                continue
            if "fixed_ips" in query:
                ip = query["fixed_ips"].split("=", 1)[1]
                if ip not in [f["ip_address"] for f in p["fixed_ips"]]:
                    continue
            if "device_id" in query and p["device_id"] != query["device_id"]:
                continue
            yield p

    def get_network(self, net_id):
        return next(n for n in DATA["networks"] if n["id"] == net_id)

    def subnets(self, network_id):
        return [s for s in DATA["subnets"] if s["network_id"] == network_id]

    def agents(self, **query):
        return [a for a in DATA["agents"] if all(a.get(k) == v for k, v in query.items())]

    def network_hosting_dhcp_agents(self, net_id):
        return DATA["dhcp_agents_vlan"]


class FakeConn:
    network = FakeNetwork()


@pytest.fixture
def os_():
    return OpenStack(FakeConn())


def vm_port():
    return next(p for p in DATA["ports"] if p["device_owner"] == "compute:nova")


def test_find_port_by_id_mac_and_ip_agree(os_):
    p = vm_port()
    by_id = os_.find_port(p["id"])
    by_mac = os_.find_port(p["mac_address"].upper())
    by_ip = os_.find_port(p["fixed_ips"][0]["ip_address"])
    assert by_id == by_mac == by_ip
    assert by_id.status == "ACTIVE" and by_id.bound and by_id.vif_type == "ovs"
    assert by_id.binding_host.startswith("compute-")


def test_unknown_refs(os_):
    with pytest.raises(OpenStackNotFound):
        os_.find_port("fa:16:3e:00:00:00")
    with pytest.raises(OpenStackNotFound):
        os_.find_port("10.9.9.9")
    with pytest.raises(OpenStackNotFound, match="not a port ID"):
        os_.find_port("not-a-port!")
    with pytest.raises(OpenStackNotFound):
        os_.find_port("00000000-0000-0000-0000-000000000000")


def test_network_segment_mtu_subnets(os_):
    nets = {n.name: n for n in (network_from_api(d) for d in DATA["networks"])}
    vlan = next(n for name, n in nets.items() if "vlan" in name)
    vx = next(n for name, n in nets.items() if "vxlan" in name)
    assert (vlan.segment.network_type, vlan.segment.physical_network, vlan.segment.segmentation_id) == (
        "vlan",
        "physnet1",
        101,
    )
    assert (vx.segment.network_type, vx.segment.segmentation_id, vx.mtu) == ("vxlan", 1001, 1450)
    full = os_.network(vlan.id)
    assert full.subnets and full.subnets[0].enable_dhcp and full.subnets[0].cidr.endswith("/24")


def test_agents_configuration(os_):
    agents = [agent_from_api(a) for a in DATA["agents"]]
    ovs = [a for a in agents if a.binary == "neutron-openvswitch-agent"]
    assert len(ovs) == 3 and all(a.alive for a in agents)
    assert all(a.bridge_mappings == {"physnet1": "br-tenant"} for a in ovs)
    assert all(a.integration_bridge == "br-int" and a.tunnel_ip and "vxlan" in a.tunnel_types for a in ovs)
    assert os_.l2_agent("compute-1").host == "compute-1"
    assert os_.l2_agent("nowhere") is None
    dhcp = os_.dhcp_agents(network_from_api(DATA["networks"][0]).id)
    assert [a.binary for a in dhcp] == ["neutron-dhcp-agent"] and dhcp[0].alive


def test_port_from_recorded_dhcp_port():
    p = port_from_api(next(p for p in DATA["ports"] if p["device_owner"] == "network:dhcp"))
    assert p.binding_host == "network" and p.ips


def test_error_mapping():
    from keystoneauth1 import exceptions as ks
    from openstack import exceptions as sdk

    assert isinstance(map_error(sdk.NotFoundException("gone"), "port x"), OpenStackNotFound)
    unreachable = map_error(ks.ConnectFailure("refused"), "agents")
    assert isinstance(unreachable, OpenStackUnreachable) and unreachable.exit_code == 3
    cfg = map_error(sdk.ConfigException("Cloud nope was not found"), "connecting")
    assert isinstance(cfg, OpenStackError) and "clouds.yaml" in str(cfg)
    assert "admin" in str(map_error(sdk.HttpException("denied", http_status=403), "agents"))


def test_vlan_segment_ranges_and_missing_extension():
    from openstack import exceptions

    class Ranges:
        def __init__(self, ranges=None, error=None):
            self.ranges, self.error = ranges, error

        def network_segment_ranges(self, **query):
            assert query == {"network_type": "vlan"}
            if self.error:
                raise self.error
            return self.ranges

    class Conn:
        def __init__(self, network):
            self.network = network

    got = OpenStack(
        Conn(
            Ranges(
                [
                    {"physical_network": "physnet1", "minimum": 100, "maximum": 102},
                    {"physical_network": "physnet1", "minimum": 200, "maximum": 200},
                    {"physical_network": None, "minimum": 1, "maximum": 2},
                ]
            )
        )
    ).vlan_ranges()
    assert got == {"physnet1": [100, 101, 102, 200]}
    missing = exceptions.NotFoundException("The resource could not be found.")
    assert OpenStack(Conn(Ranges(error=missing))).vlan_ranges() is None
    with pytest.raises(OpenStackUnreachable):
        from keystoneauth1 import exceptions as ks

        OpenStack(Conn(Ranges(error=ks.ConnectFailure("refused")))).vlan_ranges()
