"""The DVR lab's configuration as data: agent modes per node role, bridge mappings, ML2 and server options,
and its fault kinds registered in their own area."""

from __future__ import annotations

from steth.lab import faults
from steth.lab.neutron.ml2ovs import config
from steth.lab.neutron.ml2ovs.views import netns_path
from steth.lab.neutron.record import NeutronRecord, Ports
from steth.lab.topology import build


def test_agent_modes_and_mappings_per_role():
    topo = build("dvt", 2)
    net, c1 = topo.node("network"), topo.node("compute-1")
    assert (config.l3_agent_mode(net), config.l3_agent_mode(c1)) == ("legacy", "legacy")
    assert (config.l3_agent_mode(net, True), config.l3_agent_mode(c1, True)) == ("dvr_snat", "dvr")
    assert config.l3_ini(c1, True) == "l3_agent-dvr.ini" and config.l3_ini(net) == "l3_agent.ini"
    assert "extnet:br-ex" not in config.bridge_mappings(c1)  # without DVR only the network node is external
    assert config.bridge_mappings(c1, True) == "physnet1:br-tenant,extnet:br-ex"


def test_server_and_ml2_options():
    assert config.server_defaults() == {} and config.server_defaults(True) == {"router_distributed": "true"}
    assert config.ml2_section()["ml2"]["mechanism_drivers"] == "openvswitch"
    assert config.ml2_section(True)["ml2"]["mechanism_drivers"] == "openvswitch,l2population"


def test_a_node_without_a_view_uses_the_hosts_run_netns():
    rec = NeutronRecord(dir="/nonexistent", ports=Ports(1, 2, 3, 4), dvr=True)
    assert netns_path(rec, "compute-1", "fip-x") == "/run/netns/fip-x"  # no holder recorded
    assert NeutronRecord.from_json(rec.to_json()).dvr is True


def test_dvr_fault_kinds_are_their_own_area():
    assert faults.kinds_in("dvr") == [
        "dvr-fg-dead-tag",
        "dvr-fip-ns-removed",
        "dvr-l3-agent-down",
        "dvr-l3-wrong-mode",
        "dvr-sg-port-removed",
    ]
    assert not set(faults.kinds_in("dvr")) & set(faults.NEUTRON_KINDS)
