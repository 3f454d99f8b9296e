"""doctor's data-plane checks on agent answers built by hand: each names its cause and evidence."""

from __future__ import annotations

from steth.controller.checks.dhcp import Analysis, HopResult
from steth.controller.decode import Summary
from steth.controller.doctor.diagnose import diagnose
from steth.controller.doctor.evidence import KINDS, Evidence
from steth.controller.doctor.facts import Facts
from steth.controller.doctor.model import CheckResult
from steth.controller.doctor.registry import REGISTRY
from steth.wire.models import (
    IptablesResponse,
    OvsBridgeInfo,
    OvsInterfaceInfo,
    OvsPortInfo,
    OvsShowResponse,
    PingResponse,
    PingResult,
    TcpConnectResult,
    Verdict,
)

from .test_doctor_control import OVS_CHAIN, PORT_ID, healthy


def show(tag: int | None = 1, intended: str = "1", iface_id: str = PORT_ID) -> OvsShowResponse:
    vm = OvsPortInfo(
        name="qvo1111111",
        tag=tag,
        other_config={"tag": intended},
        interfaces=[OvsInterfaceInfo(name="qvo1111111", ofport=3, external_ids={"iface-id": iface_id})],
    )
    tun = OvsPortInfo(
        name="vxlan-0a",
        interfaces=[OvsInterfaceInfo(name="vxlan-0a", type="vxlan", ofport=2, options={"remote_ip": "10.0.99.7"})],
    )
    return OvsShowResponse(
        ovs_available=True,
        verdict=Verdict.OK,
        bridges=[OvsBridgeInfo(name="br-int", ports=[vm]), OvsBridgeInfo(name="br-tun", ports=[tun])],
    )


def pong(target: str, received: int = 3, sent: int = 3) -> PingResponse:
    return PingResponse(
        results=[
            PingResult(
                target=target,
                sent=sent,
                received=received,
                loss_pct=0,
                verdict=Verdict.OK if received == sent else Verdict.FAIL,
            )
        ]
    )


def evidence(**over) -> Evidence:
    """The agents' answers by kind (the path's hosts come from the facts: compute-1, and network as peer)."""
    ev = Evidence()
    values = {
        "ovs": {"compute-1": show()},
        "tunnel_ping": {"network": pong("10.0.99.7")},
        "mtu_ping": {"network": pong("10.0.99.7")},
        **over,
    }
    for k, v in values.items():
        ev[KINDS.get(k)] = v
    return ev


def rows(key: str, f: Facts, ev: Evidence) -> list[CheckResult]:
    """What the registered check ``key`` says (reading only the evidence it declares)."""
    return REGISTRY.checks[key].evaluate(f, ev)


def judge(key: str, f: Facts, ev: Evidence) -> CheckResult:
    (row,) = rows(key, f, ev)
    return row


def test_vm_port_dead_vlan_wrong_tag_and_missing():
    f = healthy()
    assert judge("vm-port-on-br-int", f, evidence()).verdict == Verdict.OK
    dead = judge("vm-port-on-br-int", f, evidence(ovs={"compute-1": show(tag=4095)}))
    assert dead.failed and dead.catalogue == 3 and "4095" in dead.evidence
    wrong = judge("vm-port-on-br-int", f, evidence(ovs={"compute-1": show(tag=7)}))
    assert wrong.failed and "tag=1" in wrong.next_step
    gone = judge("vm-port-on-br-int", f, evidence(ovs={"compute-1": show(iface_id="other")}))
    assert gone.failed and PORT_ID in gone.evidence


def test_tunnel_pings_pass_but_encapsulated_dhcp_is_lost():
    f = healthy()
    hops = [
        HopResult("compute-1", "compute-uplink", "eth1", True, False, [], None),
        HopResult("network", "network-uplink", "eth1", False, False, [], None),
    ]
    ev = evidence(dhcp=Analysis(Verdict.FAIL, "DHCPDISCOVER stops after compute-1/compute-uplink", hops, []))
    c = judge("tunnel-path", f, ev)
    assert c.failed and c.catalogue == 5 and "UDP 4789" in c.evidence
    broken = judge("tunnel-path", f, evidence(tunnel_ping={"network": pong("10.0.99.7", received=0)}))
    assert broken.failed and "0/3" in broken.evidence


def test_mtu_too_small_for_the_overlay():
    f = healthy()
    c = judge("mtu", f, evidence(mtu_ping={"network": pong("10.0.99.7", received=0)}))
    assert c.failed and c.catalogue == 2 and "1450 + vxlan overhead 50 = 1500" in c.evidence
    assert judge("mtu", f, evidence()).verdict == Verdict.OK


def test_flood_flows_must_output_to_the_peers_tunnel_port():
    from steth.wire.models import OvsFlowsResponse

    f = healthy()
    f.agents[1].configuration["tunneling_ip"] = "10.0.99.7"
    good = OvsFlowsResponse(
        bridge="br-tun",
        table=22,
        flows=["table=22, priority=1,dl_vlan=1 actions=strip_vlan,load:0x3e9->NXM_NX_TUN_ID[],output:2"],
    )
    assert judge("tunnel-flood-flows", f, evidence(flood_flows=good)).verdict == Verdict.OK
    bad = OvsFlowsResponse(bridge="br-tun", table=22, flows=["table=22, priority=0 actions=drop"])
    c = judge("tunnel-flood-flows", f, evidence(flood_flows=bad))
    assert c.failed and c.catalogue == 16


def test_vm_sending_from_a_foreign_address_is_anti_spoofing():
    f = healthy()
    frames = [
        Summary(src="192.168.1.250", dst="192.168.1.1", proto="ARP"),
        Summary(src="192.168.1.10", dst="192.168.1.1", proto="IPv4"),
    ]
    c = judge("vm-source-addresses", f, evidence(vm_frames=frames))
    assert c.failed and c.catalogue == 12 and "192.168.1.250 (1 frames)" in c.evidence
    f.port.allowed_address_pairs = [{"ip_address": "192.168.1.248/29"}]
    assert judge("vm-source-addresses", f, evidence(vm_frames=frames)).verdict == Verdict.OK


def test_nat_rules_for_snat_and_floating_ip():
    from steth.openstack.l3 import FloatingIpInfo

    f = healthy(floating_ips=[FloatingIpInfo("x", "198.51.100.15", "ext", PORT_ID, "192.168.1.10", "r", "ACTIVE")])
    rules = [
        "-A neutron-l3-agent-snat -o qg-1 -j SNAT --to-source 198.51.100.20 --random-fully",
        "-A neutron-l3-agent-PREROUTING -d 198.51.100.15/32 -i qg-1 -j DNAT --to-destination 192.168.1.10",
        "-A neutron-l3-agent-float-snat -s 192.168.1.10/32 -j SNAT --to-source 198.51.100.15 --random-fully",
    ]
    full = IptablesResponse(netns="qrouter-router-id", table="nat", rules=rules)
    assert judge("nat-rules", f, evidence(nat=full)).verdict == Verdict.OK
    c = judge("nat-rules", f, evidence(nat=IptablesResponse(netns="q", table="nat", rules=rules[1:])))
    assert c.failed and c.catalogue == 22 and "SNAT to 198.51.100.20 missing" in c.evidence
    c = judge("nat-rules", f, evidence(nat=IptablesResponse(netns="q", table="nat", rules=rules[:1])))
    assert "DNAT 198.51.100.15 -> 192.168.1.10 missing" in c.evidence


def test_router_namespace_missing_and_destination_by_tcp():
    f = healthy()
    gone = IptablesResponse(netns="q", table="nat", verdict=Verdict.FAIL, detail="network namespace q does not exist")
    assert judge("router-namespace", f, evidence(nat=gone)).catalogue == 7
    from steth.controller.doctor.facts import Target

    f.to = Target("203.0.113.10", 80)
    refused = TcpConnectResult(
        address="203.0.113.10", port=80, connected=False, error="Connection refused", verdict=Verdict.FAIL
    )
    c = judge("destination-reachable", f, evidence(to=refused))
    assert c.failed and "Connection refused" in c.evidence and c.catalogue == 8


def test_silence_without_an_ingress_icmp_rule_proves_nothing():
    from steth.openstack.l3 import SecurityGroupInfo

    f = healthy(security_groups=[SecurityGroupInfo("sg", "egress only", [])])
    c = rows("reachable-from-dhcp", f, evidence(from_dhcp={"network": pong("192.168.1.10", received=0)}))[0]
    assert c.verdict == Verdict.SKIPPED
    f = healthy()
    c = rows("reachable-from-dhcp", f, evidence(from_dhcp={"network": pong("192.168.1.10", received=0)}))[0]
    assert c.failed


def test_chain_order_puts_port_status_after_the_br_int_port():
    keys = OVS_CHAIN.keys
    assert keys.index("port-admin-state") < keys.index("vm-port-on-br-int") < keys.index("port-status")
    f = healthy()
    f.port.status = "DOWN"
    ordered = [c for c in OVS_CHAIN.judge(f, evidence(ovs={"compute-1": show(iface_id="other")})) if c.failed]
    assert [c.check for c in ordered] == ["VM port on br-int", "port status"]
    d = diagnose(OVS_CHAIN.judge(f, evidence(ovs={"compute-1": show(iface_id="other")})))
    assert d.root_cause.cause == "VM interface not plugged into br-int" and d.symptoms == ["port status: port DOWN"]
