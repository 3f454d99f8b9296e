"""doctor's ovs-dvr chain on facts and agent answers recorded from the DVR lab (`lab up --neutron --dvr`):
each DVR check names its cause; the chain is detected from the L3 agents' agent_mode."""

from __future__ import annotations

from steth.controller.doctor.backend import Backend, detect
from steth.controller.doctor.chains import chain_for
from steth.controller.doctor.dvr_reach import dvr_macs
from steth.controller.doctor.evidence import KINDS, Evidence
from steth.controller.doctor.facts import Facts
from steth.openstack.adapter import SubnetInfo
from steth.openstack.l3 import FloatingIpInfo
from steth.wire.models import (
    Address,
    Interface,
    IptablesResponse,
    Namespace,
    OvsBridgeInfo,
    OvsPortInfo,
    OvsShowResponse,
    Verdict,
)

from .test_doctor_control import PORT_ID, agent, healthy
from .test_doctor_data import judge, pong

ROUTER = "router-id"
EXT = "ext-net"
# br-int table 0 of compute-1 in the lab: its own DVR MAC (priority 5, dl_dst) and the others' (dl_src)
FLOWS_C1 = [
    "cookie=0x9, table=0, priority=5,in_port=1,dl_dst=fa:16:3f:8e:b7:56 actions=resubmit(,4)",
    "cookie=0x9, table=0, priority=4,in_port=1,dl_src=fa:16:3f:5b:b3:3f actions=resubmit(,2)",
    "cookie=0x9, table=0, priority=2,in_port=3,dl_src=fa:16:3f:5b:b3:3f actions=resubmit(,1)",
    "cookie=0x9, table=0, priority=4,in_port=1,dl_src=fa:16:3f:9e:32:23 actions=resubmit(,2)",
]
FLOWS_NET = [
    "cookie=0x9, table=0, priority=5,in_port=1,dl_dst=fa:16:3f:5b:b3:3f actions=resubmit(,4)",
    "cookie=0x9, table=0, priority=4,in_port=1,dl_src=fa:16:3f:8e:b7:56 actions=resubmit(,2)",
    "cookie=0x9, table=0, priority=4,in_port=1,dl_src=fa:16:3f:9e:32:23 actions=resubmit(,2)",
]


def dvr_facts(fip: bool = False, compute_mode: str = "dvr", **over) -> Facts:
    dvr = {"enable_distributed_routing": True}
    agents = [
        agent("compute-1", **dvr),
        agent("compute-2", **dvr),
        agent("network", **dvr),
        agent("network", "neutron-dhcp-agent"),
        agent("network", "neutron-l3-agent", agent_mode="dvr_snat"),
        agent("compute-1", "neutron-l3-agent", agent_mode=compute_mode),
        agent("compute-2", "neutron-l3-agent", agent_mode="dvr"),
    ]
    f = healthy(agents=agents, external_subnet=SubnetInfo("e1", "ext", "198.51.100.0/24", 4, "198.51.100.1", False))
    f.l3_agents = [a for a in agents if a.binary == "neutron-l3-agent"]
    if fip:
        f.floating_ips = [FloatingIpInfo("f1", "198.51.100.40", EXT, PORT_ID, "192.168.1.10", ROUTER, "ACTIVE")]
    for k, v in over.items():
        setattr(f, k, v)
    return f


def iface(name: str, *addrs: str) -> Interface:
    return Interface(
        name=name,
        index=1,
        kind="tun",
        state="up",
        admin_up=True,
        mtu=1500,
        addresses=[Address(family=4, address=a.split("/")[0], prefixlen=int(a.split("/")[1])) for a in addrs],
    )


def compute_ns(fip: bool = True) -> list[Namespace]:
    found = [
        Namespace(
            name=f"qrouter-{ROUTER}",
            interfaces=[iface("qr-64924f2d-38", "192.168.1.1/24"), iface("rfp-34d7bfec-3", "169.254.88.134/31")],
        )
    ]
    if fip:
        found.append(
            Namespace(
                name=f"fip-{EXT}",
                interfaces=[iface("fg-ee981e72-60", "198.51.100.47/24"), iface("fpr-34d7bfec-3", "169.254.88.135/31")],
            )
        )
    return found


def snat_ns(sg: bool = True) -> list[Namespace]:
    ifaces = [iface("qg-a6d9dee3-0a", "198.51.100.29/24")] + (
        [iface("sg-91ff7d80-ca", "192.168.1.31/24")] if sg else []
    )
    return [Namespace(name=f"snat-{ROUTER}", interfaces=ifaces)]


def ev(**values) -> Evidence:
    out = Evidence()
    for k, v in values.items():
        out[KINDS.get(k)] = v
    return out


def test_detected_from_the_l3_agents_modes_and_the_chain_is_registered():
    backend, why = detect(dvr_facts().agents)
    assert backend == Backend.OVS_DVR and "dvr_snat" in why
    keys = chain_for(Backend.OVS_DVR).keys
    assert keys.index("dvr-l3-agent-modes") < keys.index("dvr-local-router") < keys.index("dvr-fip-namespace")
    assert "router-namespace" not in keys  # the legacy router checks are the ovs chain's


def test_l3_agent_modes():
    ok = judge("dvr-l3-agent-modes", dvr_facts(), Evidence())
    assert ok.verdict == Verdict.OK and "SNAT on network" in ok.evidence
    bad = judge("dvr-l3-agent-modes", dvr_facts(compute_mode="legacy"), Evidence())
    assert bad.verdict == Verdict.FAIL and bad.cause == "L3 agent in the wrong agent_mode"
    assert "compute-1" in bad.evidence and "legacy" in bad.evidence
    f = dvr_facts()
    f.l3_agents = [a for a in f.l3_agents if a.host != "network"]
    nosnat = judge("dvr-l3-agent-modes", f, Evidence())
    assert nosnat.verdict == Verdict.FAIL and "dvr_snat" in nosnat.cause


def test_l3_agent_of_the_compute_node_down():
    f = dvr_facts()
    f.agents = [a for a in f.agents if not (a.host == "compute-1" and a.binary == "neutron-l3-agent")]
    f.agents.append(agent("compute-1", "neutron-l3-agent", alive=False, agent_mode="dvr"))
    row = judge("dvr-l3-agents-alive", f, Evidence())
    assert row.verdict == Verdict.FAIL and row.cause == "L3 agent down on the VM's compute node"


def test_local_router_and_fip_namespace():
    f = dvr_facts(fip=True)
    assert judge("dvr-local-router", f, ev(dvr_netns={"compute-1": compute_ns()})).verdict == Verdict.OK
    missing = judge("dvr-local-router", f, ev(dvr_netns={"compute-1": []}))
    assert missing.cause == "distributed router missing on the compute node"
    ok = judge("dvr-fip-namespace", f, ev(dvr_netns={"compute-1": compute_ns()}))
    assert ok.verdict == Verdict.OK and "fg-ee981e72-60 198.51.100.47/24" in ok.evidence
    gone = judge("dvr-fip-namespace", f, ev(dvr_netns={"compute-1": compute_ns(fip=False)}))
    assert gone.cause == "floating IP namespace missing on the compute node"
    assert REGISTRY_rows("dvr-fip-namespace", dvr_facts()) == []  # without a floating IP it is not on the path


def test_fg_port_dead_tagged():
    f = dvr_facts(fip=True)

    def shown(tag: int) -> OvsShowResponse:
        port = OvsPortInfo(name="fg-ee981e72-60", tag=tag)
        return OvsShowResponse(
            ovs_available=True, verdict=Verdict.OK, bridges=[OvsBridgeInfo(name="br-int", ports=[port])]
        )

    assert judge("dvr-fip-gateway-port", f, ev(ovs={"compute-1": shown(3)})).verdict == Verdict.OK
    dead = judge("dvr-fip-gateway-port", f, ev(ovs={"compute-1": shown(4095)}))
    assert dead.cause == "fip- gateway port dead-tagged" and "4095" in dead.evidence


def test_snat_namespace_needs_the_subnets_sg_port():
    f = dvr_facts()
    ok = judge("dvr-snat-namespace", f, ev(dvr_netns={"network": snat_ns()}))
    assert ok.verdict == Verdict.OK and "sg-91ff7d80-ca" in ok.evidence
    bad = judge("dvr-snat-namespace", f, ev(dvr_netns={"network": snat_ns(sg=False)}))
    assert bad.cause == "SNAT port of the subnet missing" and "192.168.1.0/24" in bad.evidence
    assert judge("dvr-snat-namespace", f, ev(dvr_netns={"network": []})).cause == "SNAT namespace missing"
    assert REGISTRY_rows("dvr-snat-namespace", dvr_facts(fip=True)) == []  # a floating IP does not use SNAT


def REGISTRY_rows(key: str, f: Facts) -> list:
    from steth.controller.doctor.registry import REGISTRY

    return REGISTRY.checks[key].evaluate(f, ev())


def test_nat_rules_where_they_live():
    f = dvr_facts(fip=True)
    rules = [
        "-A neutron-l3-agent-PREROUTING -d 198.51.100.40/32 -i rfp-34d7bfec-3 -j DNAT --to-destination 192.168.1.10",
        "-A neutron-l3-agent-float-snat -s 192.168.1.10/32 -j SNAT --to-source 198.51.100.40 --random-fully",
    ]
    local = IptablesResponse(netns=f"qrouter-{ROUTER}", table="nat", rules=rules)
    assert judge("dvr-nat-rules", f, ev(dvr_local_nat=local)).verdict == Verdict.OK
    broken = IptablesResponse(netns=f"qrouter-{ROUTER}", table="nat", rules=rules[1:])
    row = judge("dvr-nat-rules", f, ev(dvr_local_nat=broken))
    assert (
        row.cause == "NAT not programmed in the router" and "DNAT 198.51.100.40 -> 192.168.1.10 missing" in row.evidence
    )
    snat = IptablesResponse(
        netns=f"snat-{ROUTER}",
        table="nat",
        rules=["-A neutron-l3-agent-snat -o qg-a6 -j SNAT --to-source 198.51.100.20"],
    )
    assert judge("dvr-nat-rules", dvr_facts(), ev(dvr_snat_nat=snat)).verdict == Verdict.OK


def test_dvr_macs_from_the_br_int_flows():
    assert dvr_macs(FLOWS_C1) == ({"fa:16:3f:8e:b7:56"}, {"fa:16:3f:5b:b3:3f", "fa:16:3f:9e:32:23"})
    f = dvr_facts()
    ok = judge("dvr-macs", f, ev(dvr_int_flows={"compute-1": FLOWS_C1, "network": FLOWS_NET}))
    assert ok.verdict == Verdict.OK
    # measured in the lab before the OVS agents were started one by one: the network node missed the others
    missed = judge("dvr-macs", f, ev(dvr_int_flows={"compute-1": FLOWS_C1, "network": FLOWS_NET[:1]}))
    assert missed.cause == "DVR MACs not registered"
    assert "network has not registered compute-1's DVR MAC fa:16:3f:8e:b7:56" in missed.evidence


def test_egress_gateway_and_destination():
    f = dvr_facts(fip=True)
    row = judge("dvr-external-gateway", f, ev(dvr_gateway=pong("198.51.100.1", received=0)))
    assert row.cause == "external gateway unreachable" and f"fip-{EXT} on compute-1" in row.evidence
    dest = judge("dvr-destination-reachable", dvr_facts(), ev(dvr_to=pong("203.0.113.10")))
    assert dest.verdict == Verdict.OK and f"snat-{ROUTER} on network" in dest.evidence


def test_check_all_dvr_agent_modes_by_node_role():
    from steth.controller.checks import dvr_agents

    f = dvr_facts()
    assert dvr_agents.findings(f.agents)[0] == Verdict.OK
    verdict, lines = dvr_agents.findings(dvr_facts(compute_mode="legacy").agents)
    assert verdict == Verdict.FAIL and lines == ["compute-1 (compute): L3 agent agent_mode=legacy, needs dvr"]
    no_snat = [a for a in f.agents if not (a.binary == "neutron-l3-agent" and a.host == "network")]
    no_snat.append(agent("network", "neutron-l3-agent", agent_mode="dvr"))
    assert "no L3 agent runs agent_mode=dvr_snat" in dvr_agents.findings(no_snat)[1][-1]
    legacy_cloud = [agent("compute-1"), agent("network", "neutron-l3-agent", agent_mode="legacy")]
    assert dvr_agents.findings(legacy_cloud)[0] == Verdict.SKIPPED
