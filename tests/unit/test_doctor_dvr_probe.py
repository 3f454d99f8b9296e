"""The VM's own packet on DVR: the hop plan from Neutron's facts and the router namespaces' routes and links
(as the DVR lab's agents read them), the capture budget per agent, and the verdicts of the dvr-own-packet
check: where the probe stops names the part of the distributed path; no DVR VM is healthy without the proof."""

from __future__ import annotations

from steth.controller.doctor.backend import Backend
from steth.controller.doctor.chains import chain_for
from steth.controller.doctor.diagnose import diagnose
from steth.controller.doctor.dvr_probe import NsForwarding, dvr_hops, fit, stopped_in
from steth.controller.doctor.registry import REGISTRY
from steth.controller.doctor.vm_path import PathHop, judge
from steth.controller.doctor.vm_probe import RouterForwarding, Target, VmProbe
from steth.openstack.adapter import PortInfo
from steth.wire.models import IptablesResponse, Verdict
from steth.wire.vmprobe import RouterState

from .test_doctor_dvr import EXT, ROUTER, dvr_facts, ev

GW_MAC = "fa:16:3e:00:00:03"
QR = "qr-rrrrrrrrrrr"  # the router port of healthy(): "r" * 36
QNS, FNS, SNS = f"qrouter-{ROUTER}", f"fip-{EXT}", f"snat-{ROUTER}"
EXT_NIC = {"compute-1": "eth2", "network": "eth2"}
UPLINKS = {"compute-1": "eth1", "network": "eth1"}


def gw_port() -> PortInfo:
    return PortInfo(
        "g" * 36, "", "fa:16:3e:00:00:09", [{"subnet_id": "e1", "ip_address": "198.51.100.29"}], EXT, "ACTIVE",
        "network", "ovs", {}, "normal", ROUTER, "network:router_gateway", True,
    )  # fmt: skip


def facts(fip: bool):
    return dvr_facts(fip=fip, gateway_port=gw_port())


def states(second_subnet: bool = False) -> dict[str, RouterState]:
    """The router's namespaces as the agents read them in the DVR lab (routes of the main table, links)."""
    qr_routes = ["169.254.88.134/31 dev rfp-router-id proto kernel scope link src 169.254.88.134",
                 f"192.168.1.0/24 dev {QR} proto kernel scope link src 192.168.1.1"]  # fmt: skip
    if second_subnet:
        qr_routes.append("192.168.2.0/24 dev qr-5e0a9d11-7c proto kernel scope link src 192.168.2.1")
    return {
        QNS: RouterState(netns=QNS, ip_forward=True, routes=qr_routes, links={QR: True, "rfp-router-id": True}),
        FNS: RouterState(
            netns=FNS,
            ip_forward=True,
            routes=["198.51.100.0/24 dev fg-ee981e72-60 proto kernel scope link src 198.51.100.47"],
            links={"fpr-router-id": True, "fg-ee981e72-60": True},
        ),
        SNS: RouterState(
            netns=SNS,
            ip_forward=True,
            routes=[
                "default via 198.51.100.1 dev qg-ggggggggggg proto static",
                "192.168.9.0/24 dev sg-0b1c2d3e-4f proto kernel scope link src 192.168.9.31",  # another subnet's
                "192.168.1.0/24 dev sg-91ff7d80-ca proto kernel scope link src 192.168.1.31",
                "198.51.100.0/24 dev qg-ggggggggggg proto kernel scope link src 198.51.100.29",
            ],
            links={"sg-0b1c2d3e-4f": True, "sg-91ff7d80-ca": True, "qg-ggggggggggg": True},
        ),
    }


def to(address: str = "203.0.113.10", beyond: bool = True) -> Target:
    return Target(address, None, "--to", True, beyond, GW_MAC)


def names(hops: list[PathHop]) -> list[tuple[str, str, str | None, bool, bool]]:
    return [(h.node, h.interface, h.netns, h.request, h.reply) for h in hops]


def test_a_floating_ip_leaves_its_compute_node_through_rfp_fpr_fg_and_comes_back_the_same_way():
    hops = dvr_hops(facts(fip=True), to(), states(), EXT_NIC, UPLINKS)
    assert names(hops) == [
        ("compute-1", QR, QNS, True, True),
        ("compute-1", "rfp-router-id", QNS, True, True),
        ("compute-1", "fpr-router-id", FNS, True, True),
        ("compute-1", "fg-ee981e72-60", FNS, True, True),
        ("compute-1", "eth2", None, True, True),
    ]


def test_without_a_floating_ip_the_request_goes_to_the_snat_node_and_the_reply_skips_the_router():
    hops = dvr_hops(facts(fip=False), to(), states(), EXT_NIC, UPLINKS)
    assert names(hops) == [
        ("compute-1", QR, QNS, True, False),  # in and out of qr- toward sg-; sg- answers the VM directly
        ("compute-1", "eth1", None, True, True),
        ("network", "eth1", None, True, True),
        ("network", "sg-91ff7d80-ca", SNS, True, True),  # the sg- port on the VM's subnet, not another's
        ("network", "qg-ggggggggggg", SNS, True, True),
        ("network", "eth2", None, True, True),
    ]


def test_the_gateway_ends_on_the_compute_nodes_router_and_east_west_is_routed_there():
    gw = dvr_hops(facts(fip=False), to("192.168.1.1", beyond=False), states(), EXT_NIC, UPLINKS)
    assert names(gw) == [("compute-1", QR, QNS, True, True)]
    qg = dvr_hops(facts(fip=True), to("198.51.100.20", beyond=False), states(), EXT_NIC, UPLINKS)  # router's own
    assert [h.name for h in qg] == ["qr", "compute-uplink", "network-uplink", "sg", "qg"]  # its qg- is in snat-
    ew = dvr_hops(facts(fip=True), to("192.168.2.5"), states(second_subnet=True), EXT_NIC, UPLINKS)
    assert names(ew) == [("compute-1", QR, QNS, True, False), ("compute-1", "qr-5e0a9d11-7c", QNS, True, False)]


def test_a_node_keeps_at_most_the_agents_captures_dropping_the_rfp_fpr_pair_first():
    hops = [PathHop("compute-1", "vm-tap", "tap1", request=False)]
    hops += dvr_hops(facts(fip=True), to(), states(), EXT_NIC, UPLINKS)
    kept = fit(hops, {"compute-1": 4})
    assert [h.name for h in kept] == ["vm-tap", "qr", "fg", "external"]
    assert [h.name for h in fit(hops, {"compute-1": 5})] == ["vm-tap", "qr", "fpr", "fg", "external"]
    assert fit(hops, {"compute-1": 8}) == hops


def seen(hops: list[PathHop], marks: dict[str, str]) -> list[PathHop]:
    for h in hops:
        m = marks.get(h.name, "")
        h.seen_request, h.seen_reply = int("R" in m), int("Q" in m)
    return hops


def probe(fip: bool, marks: dict[str, str]) -> VmProbe:
    hops = [PathHop("compute-1", "vm-tap", "tap1", request=False)]
    hops = fit(hops + dvr_hops(facts(fip), to(), states(), EXT_NIC, UPLINKS), {"compute-1": 4, "network": 4})
    seen(hops, marks)
    return VmProbe(to(), hops, 2, "2 x ICMP echo", judge(hops, 2, "203.0.113.10"), 0.9)


def ns_state(ns: str, rules: tuple[str, ...] = (), forward: bool = True) -> RouterForwarding:
    st = RouterState(netns=ns, ip_forward=forward, routes=["198.51.100.0/24 dev fg-1"], links={"fg-1": True})
    return RouterForwarding(st, IptablesResponse(netns=ns, table="filter", rules=[":FORWARD ACCEPT [0:0]", *rules]))


def row(fip: bool, p: VmProbe, found: list[NsForwarding] | None = None):
    (r,) = REGISTRY.checks["dvr-own-packet"].evaluate(facts(fip), ev(vm_probe=p, dvr_ns_forwarding=found or []))
    return r


FIP_OK = {"vm-tap": "Q", "qr": "RQ", "fg": "RQ", "external": "RQ"}
SNAT_OK = {"vm-tap": "Q", "qr": "R", "compute-uplink": "RQ", "network-uplink": "RQ", "sg": "RQ", "qg": "RQ"}


def test_through_and_back_is_the_proof_and_the_chain_requires_it():
    for fip, marks in ((True, FIP_OK), (False, {**SNAT_OK, "external": "RQ"})):
        r = row(fip, probe(fip, marks))
        assert r.verdict == Verdict.OK and r.proof and "crossed every hop" in r.evidence
    chain = chain_for(Backend.OVS_DVR)
    assert chain.proves and chain.keys[-1] == "dvr-own-packet"
    assert any(c.kind.key == "vm_probe" for c in chain.collectors)
    others = [c for c in chain.judge(facts(True), ev()) if c.check != "VM's own packet"][:3]
    assert not diagnose(others, require_proof=chain.proves).healthy  # no proof, no healthy


def test_a_drop_in_the_fip_namespace_is_named_with_the_rule_that_drops():
    p = probe(True, {"qr": "R"})  # seen on qr-, never on fg-
    assert stopped_in(p) == [("compute-1", QNS), ("compute-1", FNS)]
    rule = "-A FORWARD -i fpr-router-id -j DROP"
    r = row(
        True, p, [NsForwarding("compute-1", QNS, ns_state(QNS)), NsForwarding("compute-1", FNS, ns_state(FNS, (rule,)))]
    )
    assert r.verdict == Verdict.FAIL and r.cause == "floating IP namespace not forwarding" and r.catalogue == 7
    assert (
        f"{FNS} on compute-1: iptables FORWARD drops: {rule}" in r.evidence and "stops after compute-1/qr" in r.evidence
    )
    assert FNS in r.next_step and "remove the DROP" in r.next_step
    assert "no route" not in r.evidence  # DVR routes by policy: the main table is not judged


def test_a_drop_in_the_snat_namespace_and_ip_forward_off():
    p = probe(False, {"qr": "R", "compute-uplink": "R", "network-uplink": "R", "sg": "R"})
    assert stopped_in(p) == [("network", SNS)]
    r = row(False, p, [NsForwarding("network", SNS, ns_state(SNS, forward=False))])
    assert r.cause == "SNAT namespace not forwarding" and "ip_forward=0" in r.evidence
    assert "sysctl -w net.ipv4.ip_forward=1" in r.next_step
    r = row(False, p, [NsForwarding("network", SNS, ns_state(SNS))])  # nothing in its state explains it
    assert r.cause == "SNAT namespace not forwarding" and r.next_step.startswith("on network:")


def test_losses_elsewhere_name_the_hop_and_its_side():
    r = row(False, probe(False, {"qr": "R", "compute-uplink": "R"}))
    assert r.cause == "packet lost between the compute and network nodes"
    r = row(False, probe(False, {"qr": "R", "compute-uplink": "R", "network-uplink": "R"}))
    assert r.cause == "SNAT port of the subnet not reached on the network node"
    r = row(True, probe(True, {}))
    assert r.cause == "router interface not reached on the compute node" and "br-int" in r.next_step
    r = row(True, probe(True, {"qr": "R", "fg": "R"}))
    assert r.cause == "gateway port not reaching the external bridge"
    r = row(True, probe(True, {"qr": "RQ", "fg": "RQ", "external": "RQ"}))  # the reply stops before the VM
    assert r.cause == "reply lost before vm-tap on compute-1"
    r = row(True, probe(True, {"qr": "R", "fg": "R", "external": "R"}))
    assert r.cause == "destination does not answer the VM" and "external network from compute-1" in r.next_step


def test_a_missing_namespace_leaves_its_hops_out_and_the_plan_goes_on():
    gone = {**states(), FNS: RouterState(netns=FNS, exists=False), SNS: None}
    assert [h.name for h in dvr_hops(facts(fip=True), to(), gone, EXT_NIC, UPLINKS)] == [
        "qr", "rfp", "fpr", "external",
    ]  # fmt: skip
    assert [h.name for h in dvr_hops(facts(fip=False), to(), gone, EXT_NIC, UPLINKS)] == [
        "qr", "compute-uplink", "network-uplink", "qg", "external",
    ]  # fmt: skip


def test_no_sg_port_on_the_vms_subnet_is_named_when_the_request_stops_before_qg():
    gone = {**states(), SNS: RouterState(netns=SNS, routes=["default via 198.51.100.1 dev qg-ggggggggggg"])}
    hops = [
        PathHop("compute-1", "vm-tap", "tap1", request=False),
        *dvr_hops(facts(False), to(), gone, EXT_NIC, UPLINKS),
    ]
    seen(hops, {"qr": "R", "compute-uplink": "R", "network-uplink": "R"})
    r = row(False, VmProbe(to(), hops, 2, "", judge(hops, 2, "203.0.113.10"), 0.9))
    assert r.cause == "SNAT port of the subnet missing from the SNAT namespace" and "192.168.1.0/24" in r.next_step
