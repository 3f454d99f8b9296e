"""check all's Neutron steps on data recorded from the Neutron lab: agent health, OVS bridges per agent
configuration, VLANs from network_vlan_ranges, nodes discovered from Neutron's agents."""

from __future__ import annotations

import copy
import json
import os

import pytest

from steth.controller.checks import neutron_agents, ovs_bridges
from steth.controller.checks.ovs_bridges import NodeState
from steth.controller.config import ControllerConfig, parse_vlan_ranges, vlans_by_network
from steth.controller.discovery import nodes_from_agents
from steth.openstack import agent_from_api
from steth.wire.models import Interface, OvsShowResponse, Verdict

DATA = json.load(open(os.path.join(os.path.dirname(__file__), "data", "neutron_lab_bridges.json")))


def agents(data=DATA):
    return [agent_from_api(a) for a in data["agents"]]


def states(data=DATA) -> dict[str, NodeState]:
    return {
        name: NodeState(
            show=OvsShowResponse.model_validate(n["ovs_show"]),
            interfaces=[Interface.model_validate(i) for i in n["interfaces"]],
        )
        for name, n in data["nodes"].items()
    }


def bad(found):
    return [f.text for f in found if f.verdict is not Verdict.OK]


# ---- agent health ----


def test_all_agents_alive():
    verdict, lines = neutron_agents.findings(agents())
    assert verdict is Verdict.OK and lines == ["all 4 Neutron agents on 3 hosts alive and admin-up"]


def test_dead_and_admin_down_agents_are_named_with_heartbeat():
    data = copy.deepcopy(DATA)
    c1 = next(a for a in data["agents"] if a["host"] == "compute-1")
    c1.update(is_alive=False, last_heartbeat_at="2026-11-22 02:55:57")
    dhcp = next(a for a in data["agents"] if a["binary"] == "neutron-dhcp-agent")
    dhcp["is_admin_state_up"] = False
    verdict, lines = neutron_agents.findings(agents(data))
    assert verdict is Verdict.FAIL
    assert lines == [
        "Open vSwitch agent (neutron-openvswitch-agent) on compute-1 is dead, last heartbeat 2026-11-22 02:55:57 UTC",
        "DHCP agent (neutron-dhcp-agent) on network is administratively down (admin_state_up false)",
    ]


def test_no_agents_is_skipped():
    assert neutron_agents.findings([])[0] is Verdict.SKIPPED


# ---- OVS bridges ----


def test_agent_configuration_parsed():
    c1 = next(a for a in agents() if a.host == "compute-1")
    exp = ovs_bridges.expected_from(c1)
    assert exp.integration_bridge == "br-int" and exp.bridge_mappings == {"physnet1": "br-tenant"}
    assert exp.tunnel_types == ("vxlan",) and exp.tunneling_ip.endswith(".99.11")
    # an agent that reports no integration bridge gets Neutron's default
    bare = agent_from_api({"host": "h", "binary": "neutron-openvswitch-agent", "configuration": {}})
    assert ovs_bridges.expected_from(bare).integration_bridge == "br-int"


def test_healthy_lab_bridges_ok():
    found = ovs_bridges.check(agents(), states())
    assert not bad(found) and len(found) == 3
    c1 = next(f.text for f in found if f.text.startswith("compute-1:"))
    assert "physnet1:br-tenant:eth1" in c1 and "on br-tenant" in c1


def test_nics_ignore_patch_internal_and_tunnel_ports():
    st = states()
    br = {b.name: b for b in st["compute-1"].show.bridges}
    assert ovs_bridges.nics(br["br-tenant"]) == (["eth1"], [])
    assert ovs_bridges.nics(br["br-tun"]) == ([], [])  # vxlan + patch + internal


def _drop_port(state: NodeState, bridge: str, port: str) -> None:
    for b in state.show.bridges:
        if b.name == bridge:
            b.ports = [p for p in b.ports if p.name != port]


def test_bridge_without_nic_names_the_physnet():
    st = states()
    _drop_port(st["compute-2"], "br-tenant", "eth1")
    assert bad(ovs_bridges.check(agents(), st)) == [
        "compute-2: bridge br-tenant has no NIC: physnet physnet1 is left without a NIC"
    ]


def test_nic_ovs_could_not_add_is_not_a_nic():
    st = states()
    br = next(b for b in st["network"].show.bridges if b.name == "br-tenant")
    eth1 = next(p for p in br.ports if p.name == "eth1").interfaces[0]
    eth1.ofport, eth1.error = -1, "could not open network device eth1 (No such device)"
    (line,) = bad(ovs_bridges.check(agents(), st))
    assert line.startswith("network: bridge br-tenant has no NIC: physnet physnet1")
    assert "OVS could not add eth1 (could not open network device eth1 (No such device))" in line


def test_missing_bridges_and_tunnel_address():
    st = states()
    c1 = st["compute-1"]
    c1.show.bridges = [b for b in c1.show.bridges if b.name not in ("br-int", "br-tenant")]
    tip = next(a.tunnel_ip for a in agents() if a.host == "compute-1")
    for iface in c1.interfaces:
        iface.addresses = [a for a in iface.addresses if a.address != tip]
    assert bad(ovs_bridges.check(agents(), st)) == [
        "compute-1: integration bridge br-int does not exist",
        "compute-1: bridge br-tenant of physnet physnet1 (bridge_mappings) does not exist: physnet physnet1 has no NIC",
        f"compute-1: tunneling_ip {tip} (vxlan) is not configured on any interface of the node",
    ]


def test_no_tunnel_types_no_tunnel_address_needed():
    data = copy.deepcopy(DATA)
    for a in data["agents"]:
        a["configuration"]["tunnel_types"] = []
    st = states(data)
    for s in st.values():
        for iface in s.interfaces:
            iface.addresses = []
    assert not bad(ovs_bridges.check(agents(data), st))


def test_unmapped_host_unreachable_node_and_no_ovs():
    st = states()
    del st["compute-2"]
    st["network"] = NodeState(error="agent network at 10.0.0.1:9698 is unreachable")
    found = bad(ovs_bridges.check(agents(), st))
    assert (
        "Neutron host compute-2 (Open vSwitch agent) has no steth node of that name: its bridges were not checked"
        in found
    )
    assert "network: cannot read Open vSwitch: agent network at 10.0.0.1:9698 is unreachable" in found
    # --nodes: hosts outside the selection are not findings
    assert not any("compute-2" in f for f in bad(ovs_bridges.check(agents(), st, selected={"compute-1"})))
    off = NodeState(show=OvsShowResponse(ovs_available=False, detail="no db.sock", verdict=Verdict.ERROR))
    (f,) = ovs_bridges.check_node("c", ovs_bridges.expected_from(agents()[0]), off)
    assert f.verdict is Verdict.ERROR and "no db.sock" in f.text


# ---- VLAN ranges ----


def test_parse_network_vlan_ranges():
    assert parse_vlan_ranges("physnet1:100:102, physnet1:200:200,physnet2") == {
        "physnet1": [100, 101, 102, 200],
        "physnet2": [],
    }
    assert parse_vlan_ranges("") == {}
    for bad_text in ("physnet1:100", "physnet1:a:b", "physnet1:0:5", "physnet1:10:5", ":1:2"):
        with pytest.raises(ValueError):
            parse_vlan_ranges(bad_text)


def _config(**kw) -> ControllerConfig:
    import ipaddress

    return ControllerConfig(
        nodes={},
        networks={"management": ipaddress.ip_network("10.0.0.0/24"), "tenant": ipaddress.ip_network("10.0.1.0/24")},
        token_file="/nonexistent",
        **kw,
    )


def test_vlans_by_network_unites_config_and_neutron():
    cfg = _config(
        vlans={"tenant": [0, 100]},
        neutron_vlans={"physnet1": [100, 101], "physnet2": [5]},
        physnet_networks={"physnet1": "tenant"},
    )
    assert vlans_by_network(cfg) == {"tenant": ([0, 100, 101], ["[vlans]", "physnet1 (network_vlan_ranges)"])}
    only_neutron = _config(neutron_vlans={"physnet1": [7]}, physnet_networks={"physnet1": "tenant"})
    assert vlans_by_network(only_neutron) == {"tenant": ([7], ["physnet1 (network_vlan_ranges)"])}


def test_vlan_plan_takes_cloud_ranges_and_notes_unmapped_physnets():
    from steth.controller.checks.cloud_facts import Cloud, vlan_plan

    cfg = _config(neutron_vlans={"physnet1": [100]}, physnet_networks={"physnet1": "tenant"})
    plan, notes = vlan_plan(
        cfg, Cloud(agents=[], vlan_ranges={"physnet1": [101], "physnet9": [9]}), ["management", "tenant"]
    )
    assert plan == {"tenant": ([100, 101], ["physnet1 (network_vlan_ranges)"])}
    assert notes == [
        "physnet physnet9: VLANs 9 of Neutron's network_vlan_ranges are not checked: map it to a "
        "network with [neutron] physnet_networks = physnet9:NETWORK"
    ]
    plan, _ = vlan_plan(
        _config(physnet_networks={"physnet1": "tenant"}), Cloud(vlan_ranges={"physnet1": [5]}), ["tenant"]
    )
    assert plan == {"tenant": ([5], ["physnet1 (Neutron segment ranges)"])}


# ---- discovery ----


def test_nodes_from_agents_by_tunneling_ip():
    nodes, problems = nodes_from_agents(agents(), "{tunneling_ip}", 9698)
    assert not problems and sorted(nodes) == ["compute-1", "compute-2", "network"]
    tips = {a.host: a.tunnel_ip for a in agents() if a.is_ovs}
    assert all(n.host == tips[name] and n.port == 9698 for name, n in nodes.items())


def test_nodes_from_agents_by_host_name_and_template():
    nodes, problems = nodes_from_agents(agents(), "{host}.mgmt.example.org:9700", 9698)
    assert not problems
    assert nodes["network"].host == "network.mgmt.example.org" and nodes["network"].port == 9700


def test_host_without_tunneling_ip_is_named_not_guessed():
    raw = [
        {"host": "net-2", "binary": "neutron-dhcp-agent", "agent_type": "DHCP agent", "configuration": {}},
        {
            "host": "c-1",
            "binary": "neutron-openvswitch-agent",
            "is_alive": False,
            "configuration": {"tunneling_ip": "192.0.2.1"},
        },
        {
            "host": "c-1",
            "binary": "neutron-openvswitch-agent",
            "is_alive": True,
            "configuration": {"tunneling_ip": "2001:db8::1"},
        },
    ]
    nodes, problems = nodes_from_agents([agent_from_api(a) for a in raw], "{tunneling_ip}", 9698)
    assert list(nodes) == ["c-1"] and nodes["c-1"].url == "[2001:db8::1]:9698"  # the alive agent's address
    assert problems == [
        "Neutron host net-2 (neutron-dhcp-agent) reports no tunneling_ip: no address for its "
        "steth-agent (discovery_address = {tunneling_ip}); add it to [nodes]"
    ]


# ---- the command's steps ----


def test_neutron_step_skipped_error_unreachable_and_ok():
    from steth.controller.checks.cloud_facts import NO_CLOUD, Cloud
    from steth.controller.checks.suite import neutron_step
    from steth.errors import OpenStackError, OpenStackUnreachable

    skipped = neutron_step(Cloud(skipped=NO_CLOUD))
    assert skipped.verdict is Verdict.SKIPPED and skipped.findings == [NO_CLOUD]
    down = neutron_step(Cloud(error=OpenStackUnreachable("network agents: cannot reach OpenStack"), name="c"))
    assert down.verdict is Verdict.ERROR and down.unreachable and "cannot reach" in down.findings[0]
    denied = neutron_step(Cloud(error=OpenStackError("network agents: not authorised"), name="c"))
    assert denied.verdict is Verdict.ERROR and not denied.unreachable
    ok = neutron_step(Cloud(agents=agents(), name="steth-ne2e"))
    assert ok.verdict is Verdict.OK and ok.scope == "steth-ne2e: 4 agents"


def test_discovery_step_and_its_errors():
    from steth.controller.checks.cloud_facts import Cloud
    from steth.controller.checks.suite import discover_nodes
    from steth.errors import UsageError

    cfg = _config(discovery_address="{tunneling_ip}")
    new, step = discover_nodes(cfg, Cloud(agents=agents()))
    assert sorted(new.nodes) == ["compute-1", "compute-2", "network"] and step.verdict is Verdict.OK
    with pytest.raises(UsageError, match="lists no \\[nodes\\]"):
        discover_nodes(cfg, Cloud(skipped="no cloud"))
    with pytest.raises(UsageError, match="no node found"):
        discover_nodes(cfg, Cloud(agents=[]))


def test_ask_cloud_keeps_failures_as_data():
    from steth.controller.checks.cloud_facts import NO_CLOUD, ask_cloud
    from steth.errors import OpenStackError, OpenStackUnreachable

    assert ask_cloud(None, "x").skipped == NO_CLOUD  # no cloud configured: nothing is asked

    class Neutron:
        def __init__(self, ranges_error=None):
            self.ranges_error = ranges_error

        def agents(self):
            return agents()

        def vlan_ranges(self):
            if self.ranges_error:
                raise self.ranges_error
            return {"physnet1": [100]}

    ok = ask_cloud(lambda: Neutron(), "lab")
    assert ok.usable and ok.name == "lab" and ok.vlan_ranges == {"physnet1": [100]} and len(ok.agents) == 4
    no_ranges = ask_cloud(lambda: Neutron(OpenStackError("no segment ranges")), "lab")
    assert no_ranges.usable and no_ranges.vlan_ranges is None  # the optional extra does not spoil the answer

    def unreachable():
        raise OpenStackUnreachable("connecting to OpenStack: cannot reach OpenStack")

    down = ask_cloud(unreachable, "lab")
    assert not down.usable and isinstance(down.error, OpenStackUnreachable) and down.name == "lab"
