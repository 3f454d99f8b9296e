"""The Linux bridge probe's parsers and doctor's Linux bridge checks on data recorded from the ML2/Linux bridge
lab (compute-1 and the network node; Neutron's API answers of the same moment). VLAN cases (no 8021q on the
recording machine) are the recorded flat case with the physnet interface's VLAN sub-interface in its place."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from openstack.network.v2.agent import Agent
from openstack.network.v2.network import Network
from openstack.network.v2.port import Port
from openstack.network.v2.subnet import Subnet

from steth.controller.doctor.backend import Backend, detect
from steth.controller.doctor.chains import chain_for
from steth.controller.doctor.diagnose import diagnose
from steth.controller.doctor.evidence import Evidence, Unprobed
from steth.controller.doctor.facts import Facts
from steth.controller.doctor.lb_checks import (
    InterfaceMappings,
    IptablesChains,
    SegmentDevice,
    TapInBridge,
    VxlanForwarding,
)
from steth.controller.doctor.lb_evidence import LB, port_chains, segment_device, sg_jumps
from steth.openstack.adapter import SegmentInfo
from steth.openstack.records import agent_from_api, network_from_api, port_from_api, subnet_from_api
from steth.probes.linuxbridge import parse_fdb, parse_links, parse_neigh
from steth.wire.linuxbridge import LbLink, LinuxBridgeShow
from steth.wire.verdict import Verdict

DATA = Path(__file__).parent / "data" / "linuxbridge"
VXLAN_NET = "afc25562-5be5-4ae4-a97c-334c9b6ff1c0"


def _json(name: str):
    return json.loads((DATA / name).read_text())


def node(prefix: str) -> LinuxBridgeShow:
    links, vxlans = parse_links(_json(f"{prefix}-link.json"))
    devs = {v.name for v in vxlans}
    fdb_file, neigh_file = DATA / f"{prefix}-fdb.json", DATA / f"{prefix}-neigh.json"
    fdb = parse_fdb(json.loads(fdb_file.read_text()), devs) if fdb_file.exists() else []
    neigh = parse_neigh(json.loads(neigh_file.read_text()), devs) if neigh_file.exists() else []
    rules_file = DATA / f"{prefix}-filter.txt"
    rules = (
        [ln for ln in rules_file.read_text().splitlines() if ln.startswith((":", "-A "))] if rules_file.exists() else []
    )
    return LinuxBridgeShow(links=links, vxlans=vxlans, fdb=fdb, neighbours=neigh, filter_rules=rules)


def facts(name: str = "lbx-vm1", owner: str = "") -> Facts:
    ports = [port_from_api(Port.existing(**p)) for p in _json("neutron-ports.json")["ports"]]
    port = next(p for p in ports if p.name == name and (not owner or p.device_owner == owner))
    net = network_from_api(
        Network.existing(**next(n for n in _json("neutron-networks.json")["networks"] if n["id"] == port.network_id))
    )
    net.subnets = [
        subnet_from_api(Subnet.existing(**s))
        for s in _json("neutron-subnets.json")["subnets"]
        if s["network_id"] == net.id
    ]
    f = Facts(ref=name, port=port, network=net, subnet=net.subnets[0] if net.subnets else None)
    f.agents = [agent_from_api(Agent.existing(**a)) for a in _json("neutron-agents.json")["agents"]]
    f.dhcp_ports = [p for p in ports if p.network_id == net.id and p.device_owner == "network:dhcp"]
    f.router_port = next(
        (p for p in ports if p.network_id == net.id and p.device_owner == "network:router_interface"), None
    )
    f.l3_agents = [a for a in f.agents if a.agent_type == "L3 agent"]
    return f


def evidence(**nodes: LinuxBridgeShow | Unprobed) -> Evidence:
    ev = Evidence()
    ev[LB] = {
        "compute-1": node("compute1"),
        "network": node("network"),
        **{k.replace("_", "-"): v for k, v in nodes.items()},
    }
    return ev


def judge(check, f: Facts, ev: Evidence):
    rows = check.evaluate(f, ev)
    assert len(rows) == 1, rows
    return rows[0]


# --- the probe's parsers on iproute2's JSON ---


def test_parse_vxlan_devices_fdb_and_arp_responder():
    shown = node("compute1")
    vx = shown.vxlan(1001)
    assert vx is not None and vx.name == "vxlan-1001"
    assert (vx.local, vx.dev, vx.port, vx.proxy, vx.group) == ("10.240.0.11", "eth1", 8472, True, None)
    assert shown.flood_vteps("vxlan-1001") == ["10.240.0.10", "10.240.0.12"]  # l2population: one per remote VTEP
    assert shown.fdb_dst("vxlan-1001", "fa:16:3e:a1:67:c1") == "10.240.0.10"  # the DHCP port, on the network node
    assert shown.arp_entries("vxlan-1001") == {
        "192.168.201.1": "fa:16:3e:ed:6a:fe",
        "192.168.201.2": "fa:16:3e:a1:67:c1",
        "192.168.201.147": "fa:16:3e:c4:2e:98",
    }
    assert set(shown.ports_of("brqafc25562-5b")) == {"tapbd9a75dd-94", "vxlan-1001"}
    assert all(e.dev.startswith("vxlan-") for e in shown.fdb)  # only the VXLAN devices' entries are kept


def test_port_chains_and_physdev_jumps_from_iptables_save():
    rules = node("compute1").filter_rules
    chains = port_chains(rules, "bd9a75dd-94fa-406d-9915-f3a466e59188")
    assert sorted(chains) == [
        "neutron-linuxbri-ibd9a75dd-9",
        "neutron-linuxbri-obd9a75dd-9",
        "neutron-linuxbri-sbd9a75dd-9",
    ]
    assert all(chains[c] for c in chains)
    assert len(sg_jumps(rules, "tapbd9a75dd-94")) >= 4  # FORWARD and sg-chain, both directions


def test_backend_detected_from_the_recorded_agents():
    backend, how = detect(facts().agents)
    assert backend == Backend.LINUXBRIDGE and "compute-1" in how


# --- the checks, healthy ---


def test_healthy_vm_passes_every_linux_bridge_check():
    f, ev = facts(), evidence()
    assert f.peers == ["network"]
    for check in (InterfaceMappings(), TapInBridge(), SegmentDevice(), VxlanForwarding(), IptablesChains()):
        row = judge(check, f, ev)
        assert row.verdict == Verdict.OK, (check.key, row.evidence)
    assert "10.240.0.10" in judge(VxlanForwarding(), f, ev).evidence


def test_flat_network_path_is_the_physnet_interface_in_brq():
    f = facts("", owner="network:router_gateway")  # the router's port on the flat external network
    assert segment_device(f, "network") == ("ext0", "")
    ev = evidence()
    assert judge(InterfaceMappings(), f, ev).verdict == Verdict.OK
    row = judge(SegmentDevice(), f, ev)
    assert row.verdict == Verdict.OK and "ext0 in brq1db42bf0-1b" in row.evidence
    assert VxlanForwarding().evaluate(f, ev) == []  # not a VXLAN network


# --- each break, named ---


def test_tap_out_of_its_bridge_is_the_root_cause():
    c1 = node("compute1")
    next(x for x in c1.links if x.name == "tapbd9a75dd-94").master = None
    row = judge(TapInBridge(), facts(), evidence(compute_1=c1))
    assert row.verdict == Verdict.FAIL and row.cause == "VM tap not in its bridge" and row.catalogue == 3
    assert "in no bridge, not in brqafc25562-5b" in row.evidence and "master brqafc25562-5b" in row.next_step


def test_missing_tap_is_an_unplugged_vm():
    c1 = node("compute1")
    c1.links = [x for x in c1.links if x.name != "tapbd9a75dd-94"]
    row = judge(TapInBridge(), facts(), evidence(compute_1=c1))
    assert row.verdict == Verdict.FAIL and row.cause == "VM interface not plugged"


def test_vxlan_device_down_or_wrong_vni_or_local():
    c1 = node("compute1")
    next(x for x in c1.links if x.name == "vxlan-1001").up = False
    row = judge(SegmentDevice(), facts(), evidence(compute_1=c1))
    assert row.verdict == Verdict.FAIL and "compute-1: vxlan-1001 is down" in row.evidence and row.catalogue == 5
    c1 = node("compute1")
    c1.vxlans[0].local = "10.9.9.9"
    row = judge(SegmentDevice(), facts(), evidence(compute_1=c1))
    assert row.verdict == Verdict.FAIL and "local 10.9.9.9, the agent's tunneling_ip 10.240.0.11" in row.evidence


def test_missing_flood_entry_of_a_remote_vtep():
    c1 = node("compute1")
    c1.fdb = [e for e in c1.fdb if not (e.mac == "00:00:00:00:00:00" and e.dst == "10.240.0.10")]
    row = judge(VxlanForwarding(), facts(), evidence(compute_1=c1))
    assert row.verdict == Verdict.FAIL and row.cause == "l2population FDB entry of a remote VTEP missing"
    assert "no flood entry for network (10.240.0.10)" in row.evidence and "bridge fdb append" in row.next_step


def test_missing_arp_responder_entry():
    c1 = node("compute1")
    c1.neighbours = [n for n in c1.neighbours if n.ip != "192.168.201.2"]
    row = judge(VxlanForwarding(), facts(), evidence(compute_1=c1))
    assert row.verdict == Verdict.FAIL and "192.168.201.2" in row.evidence and "ARP responder" in row.cause


def test_multicast_group_mode_needs_no_fdb_entries():
    c1 = node("compute1")
    c1.vxlans[0].group, c1.fdb = "224.0.0.1", []
    row = judge(VxlanForwarding(), facts(), evidence(compute_1=c1))
    assert row.verdict == Verdict.OK and "224.0.0.1" in row.evidence


def test_flushed_port_chain_and_missing_chains():
    c1 = node("compute1")
    c1.filter_rules = [r for r in c1.filter_rules if not r.startswith("-A neutron-linuxbri-ibd9a75dd-9 ")]
    row = judge(IptablesChains(), facts(), evidence(compute_1=c1))
    assert row.verdict == Verdict.FAIL and "neutron-linuxbri-ibd9a75dd-9" in row.evidence and row.catalogue == 21
    c1.filter_rules = [r for r in c1.filter_rules if "bd9a75dd-9" not in r]
    row = judge(IptablesChains(), facts(), evidence(compute_1=c1))
    assert row.verdict == Verdict.FAIL and "no iptables chain" in row.evidence


def test_unprobed_node_is_an_error_not_a_pass():
    row = judge(TapInBridge(), facts(), evidence(compute_1=Unprobed("agent unreachable")))
    assert row.verdict == Verdict.ERROR and "agent unreachable" in row.evidence


# --- VLAN: the recorded flat path with the physnet's sub-interface in brq ---


def vlan_facts() -> Facts:
    f = facts()
    f.network = copy.deepcopy(f.network)
    f.network.segments = [SegmentInfo("vlan", "physnet1", 101)]
    return f


def vlan_node(in_bridge: bool = True) -> LinuxBridgeShow:
    c1 = node("compute1")
    c1.links = [x for x in c1.links if x.name != "vxlan-1001"]
    if in_bridge:
        c1.links.append(LbLink(name="eth1.101", kind="vlan", master="brqafc25562-5b", up=True, mtu=1500))
    return c1


def test_vlan_segment_is_the_physnet_subinterface():
    f = vlan_facts()
    assert segment_device(f, "compute-1") == ("eth1.101", "")
    ev = evidence(
        compute_1=vlan_node(),
        network=LinuxBridgeShow(
            links=[LbLink(name="eth1.101", master="brqafc25562-5b", up=True), LbLink(name="eth1", up=True)]
        ),
    )
    assert judge(SegmentDevice(), f, ev).verdict == Verdict.OK
    assert judge(InterfaceMappings(), f, ev).verdict == Verdict.OK
    row = judge(SegmentDevice(), f, evidence(compute_1=vlan_node(in_bridge=False)))
    assert row.verdict == Verdict.FAIL and "compute-1: no eth1.101" in row.evidence


def test_vlan_physnet_missing_from_interface_mappings():
    f = vlan_facts()
    f.network.segments = [SegmentInfo("vlan", "physnet9", 101)]
    row = judge(InterfaceMappings(), f, evidence())
    assert row.verdict == Verdict.FAIL and row.catalogue == 4 and "physnet9 not in interface_mappings" in row.evidence


# --- the chain ---


def test_chain_names_the_first_broken_link_as_root_cause():
    chain = chain_for(Backend.LINUXBRIDGE)
    assert chain is not None and chain.keys.index("lb-tap-in-bridge") < chain.keys.index("port-status")
    # the VXLAN device's FDB decides where a broadcast goes before the underlay carries it
    assert chain.keys.index("lb-vxlan-fdb") < chain.keys.index("tunnel-path")
    c1 = node("compute1")
    next(x for x in c1.links if x.name == "tapbd9a75dd-94").master = None
    f = facts()
    rows = [r for c in chain.checks if LB in c.needs for r in c.evaluate(f, evidence(compute_1=c1))]
    d = diagnose(rows)
    assert not d.healthy and d.root_cause is not None and d.root_cause.check == "VM tap in its bridge"


@pytest.mark.parametrize(
    "key", ["lb-interface-mappings", "lb-tap-in-bridge", "lb-segment-device", "lb-vxlan-fdb", "lb-iptables-chains"]
)
def test_linux_bridge_checks_are_only_in_the_linux_bridge_chain(key):
    assert key in chain_for(Backend.LINUXBRIDGE).keys
    assert key not in chain_for(Backend.OVS).keys


# --- check all: each Linux bridge agent's node ---


def test_check_all_node_finding_on_recorded_data():
    from steth.controller.checks import lb_nodes

    agents = {a.host: a for a in facts().agents if lb_nodes.is_linuxbridge(a)}
    assert set(agents) == {"network", "compute-1", "compute-2"}
    ok = lb_nodes.check_node(agents["compute-1"], node("compute1"))
    assert ok.verdict == Verdict.OK and "physnet1:eth1, VTEP 10.240.0.11, 2 VXLAN devices" in ok.text
    assert lb_nodes.check_node(agents["network"], node("network")).verdict == Verdict.OK
    down = node("compute1")
    down.vxlans[1].up = False
    assert "vxlan-1002 (VNI 1002) is down" in lb_nodes.check_node(agents["compute-1"], down).text
    gone = node("network")
    gone.links = [x for x in gone.links if x.name != "ext0"]
    bad = lb_nodes.check_node(agents["network"], gone)
    assert bad.verdict == Verdict.FAIL and "extnet -> ext0, which does not exist" in bad.text
    assert lb_nodes.check_node(agents["compute-2"], None, "timed out").verdict == Verdict.ERROR
