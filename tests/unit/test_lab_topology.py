import ipaddress

import pytest

from steth.errors import UsageError
from steth.lab.topology import build, default_cidrs


def test_names_fit_the_kernel_limit_and_addresses_are_unique():
    topo = build("abcdefgh", computes=250)
    assert len(topo.uplink.encode()) <= 15
    seen = set()
    for node in topo.nodes:
        for net in topo.networks:
            assert len(topo.switch_port(node, net)) <= 15
            addr = topo.address(node, net)
            assert addr in net.cidr and addr not in seen
            seen.add(addr)
    assert topo.uplink_address() not in seen


def test_default_lab_layout():
    topo = build()
    assert [n.name for n in topo.nodes] == ["network", "compute-1", "compute-2"]
    assert [n.name for n in topo.networks] == ["management", "tenant", "storage"]
    assert topo.node_ns(topo.node("compute-2")) == "steth-lab-compute-2"
    assert topo.switch_ns == "steth-lab-sw"


def test_default_cidrs_are_private_and_disjoint():
    cidrs = [ipaddress.ip_network(c) for c in default_cidrs("lab")]
    assert all(c.is_private for c in cidrs)
    assert not any(a.overlaps(b) for i, a in enumerate(cidrs) for b in cidrs[i + 1 :])


@pytest.mark.parametrize("name,computes", [("Lab", 2), ("la b", 2), ("toolongname", 2), ("lab", 0), ("lab", 251)])
def test_bad_lab_parameters(name, computes):
    with pytest.raises(UsageError):
        build(name, computes)


def test_unknown_node():
    with pytest.raises(UsageError, match="compute-7"):
        build().node("compute-7")


def test_free_cidrs_skip_used_slots():
    from steth.lab.topology import free_cidrs

    first = default_cidrs("lab")
    assert free_cidrs("lab", []) == first
    taken = [ipaddress.ip_network(first[1])]
    other = free_cidrs("lab", taken)
    assert other != first and not any(ipaddress.ip_network(c).overlaps(taken[0]) for c in other)
    # the host's default route and unrelated networks do not count
    assert free_cidrs("lab", [ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("192.0.2.0/24")]) == first


def test_overlay_plan_names_networks_vms_router_and_internet():
    from steth.lab.neutron import overlay

    topo = build("ov", 3)
    ov = overlay.build(topo)
    assert [n.key for n in ov.networks] == ["vlan", "vxlan", "ext"] and ov.external.key == "ext"
    assert [n.name("ov") for n in ov.tenant] == ["ov-vlan101", "ov-vxlan1001"]
    assert [(v.name, v.node, v.network) for v in ov.vms[:2]] == [
        ("vm1", "compute-1", "vlan"),
        ("vm2", "compute-1", "vxlan"),
    ]
    assert len(ov.vms) == 6 and {v.plug for v in ov.vms} == {"hybrid", "direct"}
    assert ov.vm("vm4").node == "compute-2" and ov.vm_namespace("vm4") == "steth-ov-vm4"
    assert ov.router_interfaces == ("vlan", "vxlan") and ov.floating_ips == ("vm1",)
    assert ov.internet.namespace == "steth-ov-inet" and ov.internet.gateway == "198.51.100.1"
    with pytest.raises(UsageError):
        ov.vm("vm9")
