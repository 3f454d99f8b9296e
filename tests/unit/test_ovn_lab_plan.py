"""The ML2/OVN lab's plan as data: overlay, ports, Neutron config, chassis settings, the LSP fault's undo."""

from __future__ import annotations

from steth.lab.faults.ovn import recreate_argv
from steth.lab.neutron.ml2ovn import config
from steth.lab.neutron.ml2ovn.central import MEMBERS, ovn_ports
from steth.lab.neutron.services import ports_for
from steth.lab.topology import build


def test_overlay_is_vlan_and_geneve_with_direct_plugs():
    topo = build("h6o", 2)
    ov = config.overlay(topo)
    assert [n.key for n in ov.tenant] == ["vlan", "geneve"]
    assert ov.network("geneve").network_type == "geneve" and ov.network("geneve").dhcp
    assert [(v.name, v.node, v.network, v.plug) for v in ov.vms] == [
        ("vm1", "compute-1", "vlan", "direct"),
        ("vm2", "compute-1", "geneve", "direct"),
        ("vm3", "compute-2", "vlan", "direct"),
        ("vm4", "compute-2", "geneve", "direct"),
    ]
    assert ov.router_interfaces == ("vlan", "geneve") and ov.floating_ips == ("vm1",)


def test_ports_are_distinct_and_apart_from_neutron_api():
    for lab in ("h6o", "oe2e", "lab"):
        p = ovn_ports(lab)
        assert len(set(p.all())) == 4 * MEMBERS
        assert ports_for(lab).api not in p.all()


def test_ml2_section_and_chassis_settings():
    from steth.lab.neutron.ml2ovn.central import tcp_remotes

    class FakeCentral:  # only the ports are read
        ports = ovn_ports("h6o")

    ml2 = config.ml2_section(FakeCentral(), "203.0.113.53")  # type: ignore[arg-type]
    assert ml2["ml2"]["mechanism_drivers"] == "ovn"
    assert ml2["ovn"]["ovn_sb_connection"] == tcp_remotes(FakeCentral.ports.sb)
    assert ml2["ovn"]["ovn_nb_connection"].count("tcp:") == 1  # the pitfall of the neutron_pg_drop lock
    topo = build("h6o", 2)
    net, c1 = topo.nodes[0], topo.nodes[1]
    assert config.cms_options(net) == "enable-chassis-as-gw" and config.cms_options(c1) == ""
    assert "extnet:br-ex" in config.bridge_mappings(net) and "extnet" not in config.bridge_mappings(c1)
    assert config.chassis_mac("h6o", net, "physnet1") != config.chassis_mac("h6o", c1, "physnet1")


def test_lsp_recreate_argv_keeps_every_column_and_group():
    row = {
        "_uuid": ["uuid", "1f0c"],
        "name": "08a021da",
        "type": "",
        "addresses": "fa:16:3e:ce:87:c7 192.168.202.33",
        "port_security": "fa:16:3e:ce:87:c7 192.168.202.33",
        "options": ["map", [["requested-chassis", "compute-1"]]],
        "external_ids": ["map", [["neutron:device_owner", "compute:nova"]]],
        "dhcpv4_options": ["uuid", "bde64112"],
        "enabled": True,
        "up": True,
        "tag": ["set", []],
    }
    argv = recreate_argv(["ovn-nbctl"], row, "neutron-net", ["neutron_pg_drop", "pg_x"])
    assert argv[:5] == ["ovn-nbctl", "--", "--id=@p", "create", "Logical_Switch_Port"]
    assert 'options={"requested-chassis"="compute-1"}' in argv
    assert "dhcpv4_options=bde64112" in argv and "enabled=true" in argv
    assert not any(a.startswith(("up=", "tag=", "_uuid")) for a in argv)
    tail = ["--", "add", "Logical_Switch", "neutron-net", "ports", "@p"]
    tail += ["--", "add", "Port_Group", "neutron_pg_drop", "ports", "@p"]
    tail += ["--", "add", "Port_Group", "pg_x", "ports", "@p"]
    assert argv[-len(tail) :] == tail
