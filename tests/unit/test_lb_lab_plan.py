"""The ML2/Linux bridge lab's plan as data: overlay, the VLAN refusal (no 8021q), Neutron and agent config,
the names os-vif gives, its fault kinds."""

from __future__ import annotations

import dataclasses
import os

import pytest

from steth.errors import LabError
from steth.lab import faults
from steth.lab.neutron.ml2lb import config
from steth.lab.neutron.ml2lb.plug import bridge_name, tap_name
from steth.lab.neutron.overlay import OverlayNet
from steth.lab.neutron.record import NeutronRecord, Ports
from steth.lab.neutron.services import Services
from steth.lab.state import LabState
from steth.lab.topology import build


def test_overlay_is_two_vxlan_networks_and_the_flat_external_one():
    topo = build("h6l", 2)
    ov = config.overlay(topo)
    assert [(n.key, n.network_type, n.segment) for n in ov.tenant] == [
        ("vxlan", "vxlan", 1001),
        ("vxlan2", "vxlan", 1002),
    ]
    assert ov.external.network_type == "flat" and ov.external.physnet == "extnet"
    assert [(v.name, v.node, v.network, v.plug) for v in ov.vms] == [
        ("vm1", "compute-1", "vxlan", "direct"),
        ("vm2", "compute-1", "vxlan2", "direct"),
        ("vm3", "compute-2", "vxlan", "direct"),
        ("vm4", "compute-2", "vxlan2", "direct"),
    ]
    assert ov.router_interfaces == ("vxlan", "vxlan2") and ov.floating_ips == ("vm1",)


def test_vlan_networks_are_refused_without_8021q_with_the_reason():
    ov = config.overlay(build("h6l", 2))
    vlan = OverlayNet("vlan", "vlan", "physnet1", 101, "192.168.101.0/24", dhcp=True)
    with_vlan = dataclasses.replace(ov, networks=(vlan, *ov.networks))
    with pytest.raises(LabError) as caught:
        config.refuse_vlan(with_vlan, supported=False)
    assert "no 8021q" in caught.value.message and "vlan" in caught.value.message
    assert "VXLAN or flat" in (caught.value.hint or "")
    config.refuse_vlan(with_vlan, supported=True)  # a kernel with 8021q may build it
    config.refuse_vlan(ov, supported=False)  # the lab's own plan has no VLAN network


def test_vlan_support_is_read_from_the_kernel():
    assert config.vlan_supported() == any(os.path.exists(p) for p in config.VLAN_MODULE_PATHS)


def test_server_config_enables_the_experimental_driver_and_l2population():
    ml2 = config.ml2_section()
    assert ml2["ml2"]["mechanism_drivers"] == "linuxbridge,l2population"
    assert ml2["experimental"] == {"linuxbridge": "true"}  # pitfall L1
    assert ml2["ml2_type_flat"]["flat_networks"] == "physnet1,extnet"


def test_agent_configs_and_ebtables_shim(tmp_path, monkeypatch):
    monkeypatch.setenv("STETH_LAB_ROOT", str(tmp_path))
    topo = build("h6l", 2)
    state = LabState("h6l", 2, tuple(str(n.cidr) for n in topo.networks))  # type: ignore[arg-type]
    os.makedirs(state.directory, exist_ok=True)
    rec = NeutronRecord(dir=str(tmp_path / "neutron"), ports=Ports(1, 2, 3, 4), backend=config.BACKEND)
    svc = Services(state, rec)
    config.write_agent_configs(svc, topo, "ext0")
    net = (tmp_path / "neutron" / "etc" / "host-network.conf").read_text()
    cmp1 = (tmp_path / "neutron" / "etc" / "host-compute-1.conf").read_text()
    assert "physical_interface_mappings = physnet1:eth1,extnet:ext0" in net
    assert "physical_interface_mappings = physnet1:eth1\n" in cmp1
    assert f"local_ip = {topo.address(topo.node('compute-1'), topo.networks[1])}" in cmp1
    assert "l2_population = true" in cmp1 and "firewall_driver = iptables" in cmp1
    common = (tmp_path / "neutron" / "etc" / "agent-common.conf").read_text()
    assert "root_helper = env" in common  # pitfall L3
    assert "[privsep]\nthread_pool_size = 1" in common and "[privsep_link]\nthread_pool_size = 1" in common
    for ini in ("dhcp_agent.ini", "l3_agent.ini"):
        assert "interface_driver = linuxbridge" in (tmp_path / "neutron" / "etc" / ini).read_text()
    shim = tmp_path / "neutron" / "bin" / "ebtables"
    assert os.access(shim, os.X_OK) and "--among-src" in shim.read_text()  # pitfall L5
    assert config.agent_path(svc).startswith(str(tmp_path / "neutron" / "bin") + ":")


def test_os_vif_names():
    assert bridge_name("afc25562-5be5-4ae4-a97c-334c9b6ff1c0") == "brqafc25562-5b"
    assert tap_name("bd9a75dd-94fa-406d-9915-f3a466e59188") == "tapbd9a75dd-94"


def test_fault_kinds_of_the_linux_bridge_area():
    assert faults.kinds_in("linuxbridge") == [
        "lb-agent-down",
        "lb-fdb-removed",
        "lb-sg-flushed",
        "lb-tap-unbridged",
        "lb-vxlan-down",
    ]
    assert faults.KINDS["lb-agent-down"].params == ("node",)
    assert all(faults.KINDS[k].params == ("vm",) for k in faults.kinds_in("linuxbridge") if k != "lb-agent-down")
