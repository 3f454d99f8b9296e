"""doctor's control-plane checks and diagnosis on Neutron records built by hand (no cloud)."""

from __future__ import annotations

import pytest

from steth.controller.doctor.backend import Backend
from steth.controller.doctor.chains import chain_for
from steth.controller.doctor.diagnose import diagnose
from steth.controller.doctor.evidence import Evidence
from steth.controller.doctor.facts import Facts, Target
from steth.controller.doctor.model import CheckResult
from steth.controller.doctor.secgroups import Flow, allowing_rule
from steth.errors import UsageError
from steth.openstack.adapter import NetworkInfo, NeutronAgent, PortInfo, SegmentInfo, SubnetInfo
from steth.openstack.l3 import FloatingIpInfo, RouterInfo, RuleInfo, SecurityGroupInfo
from steth.wire.verdict import Verdict

OVS_CHAIN = chain_for(Backend.OVS)
PORT_ID = "11111111-2222-3333-4444-555555555555"
NET_ID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"


def rule(
    direction: str,
    protocol: str | None = None,
    prefix: str | None = None,
    pmin: int | None = None,
    pmax: int | None = None,
    group: str | None = None,
    ethertype: str = "IPv4",
) -> RuleInfo:
    return RuleInfo("r", direction, ethertype, protocol, pmin, pmax, prefix, group)


def default_egress() -> SecurityGroupInfo:
    return SecurityGroupInfo(
        "sg1", "vm", [rule("egress"), rule("egress", ethertype="IPv6"), rule("ingress", "icmp", "0.0.0.0/0")]
    )


def agent(host: str, binary: str = "neutron-openvswitch-agent", alive: bool = True, **conf) -> NeutronAgent:
    kind = {
        "neutron-openvswitch-agent": "Open vSwitch agent",
        "neutron-dhcp-agent": "DHCP agent",
        "neutron-l3-agent": "L3 agent",
    }[binary]
    configuration = {
        "bridge_mappings": {"physnet1": "br-tenant"},
        "tunnel_types": ["vxlan"],
        "tunneling_ip": f"10.0.99.{len(host)}",
        "integration_bridge": "br-int",
        **conf,
    }
    return NeutronAgent(f"id-{host}-{binary}", kind, binary, host, alive, True, configuration)


def healthy(**over) -> Facts:
    port = PortInfo(
        PORT_ID,
        "vm1",
        "fa:16:3e:00:00:01",
        [{"subnet_id": "s1", "ip_address": "192.168.1.10"}],
        NET_ID,
        "ACTIVE",
        "compute-1",
        "ovs",
        {},
        "normal",
        "dev",
        "compute:nova",
        True,
        security_group_ids=["sg1"],
    )
    subnet = SubnetInfo("s1", "sub", "192.168.1.0/24", 4, "192.168.1.1", True, dns_nameservers=["203.0.113.53"])
    net = NetworkInfo(NET_ID, "net", "ACTIVE", 1450, True, [SegmentInfo("vxlan", None, 1001)], ["s1"], [subnet])
    dhcp_port = PortInfo(
        "d" * 36,
        "",
        "fa:16:3e:00:00:02",
        [{"subnet_id": "s1", "ip_address": "192.168.1.2"}],
        NET_ID,
        "ACTIVE",
        "network",
        "ovs",
        {},
        "normal",
        "dhcp",
        "network:dhcp",
        True,
    )
    rport = PortInfo(
        "r" * 36,
        "",
        "fa:16:3e:00:00:03",
        [{"subnet_id": "s1", "ip_address": "192.168.1.1"}],
        NET_ID,
        "ACTIVE",
        "network",
        "ovs",
        {},
        "normal",
        "router",
        "network:router_interface",
        True,
    )
    router = RouterInfo("router-id", "r1", "ACTIVE", True, "ext-net", ["198.51.100.20"], True)
    f = Facts(
        ref="vm1",
        port=port,
        network=net,
        subnet=subnet,
        agents=[
            agent("compute-1"),
            agent("network"),
            agent("network", "neutron-dhcp-agent"),
            agent("network", "neutron-l3-agent"),
        ],
        dhcp_ports=[dhcp_port],
        security_groups=[default_egress()],
        router=router,
        router_port=rport,
        to=Target("203.0.113.10"),
    )
    f.dhcp_agents = [a for a in f.agents if a.binary == "neutron-dhcp-agent"]
    f.l3_agents = [a for a in f.agents if a.binary == "neutron-l3-agent"]
    for k, v in over.items():
        setattr(f, k, v)
    return f


def control_checks(f: Facts) -> list[CheckResult]:
    """The control plane's rows of the ovs chain: Neutron's records alone, nothing probed."""
    return [r for r in OVS_CHAIN.judge(f, Evidence()) if r.plane == "control"]


def first_failure(f: Facts):
    return diagnose(control_checks(f)).root_cause


def test_healthy_records_pass_every_control_check():
    checks = control_checks(healthy())
    assert [c.verdict for c in checks if c.verdict != Verdict.OK] == []
    assert diagnose(checks).healthy


def test_admin_down_port_is_the_root_cause_before_its_status():
    f = healthy()
    f.port.admin_state_up = False
    f.port.status = "DOWN"
    root = first_failure(f)
    assert root.check == "port admin state" and "admin_state_up=False" in root.evidence
    assert f.port.id in root.next_step


def test_bound_to_a_host_without_agent():
    f = healthy()
    f.port.binding_host = "compute-1-gone"
    f.port.vif_type = "binding_failed"
    root = first_failure(f)
    assert root.check == "port binding" and root.catalogue == 10
    assert "no L2 agent reports from host compute-1-gone" in root.evidence


def test_dead_l2_agent_is_cause_3():
    f = healthy()
    f.agents[0].alive = False
    root = first_failure(f)
    assert (root.check, root.catalogue) == ("L2 agent alive", 3)


def test_vlan_network_on_an_agent_without_the_mapping_is_cause_4():
    f = healthy()
    f.network.segments = [SegmentInfo("vlan", "physnet9", 101)]
    root = first_failure(f)
    assert root.catalogue == 4 and "physnet9" in root.evidence


def test_dhcp_disabled_and_no_agent():
    f = healthy()
    f.subnet.enable_dhcp = False
    assert first_failure(f).check == "DHCP server"
    f = healthy(dhcp_agents=[])
    assert first_failure(f).catalogue == 6


def test_no_dns_servers_is_a_warning_not_a_cause():
    f = healthy()
    f.subnet.dns_nameservers = []
    checks = control_checks(f)
    assert [c.verdict for c in checks if c.check == "DNS servers"] == [Verdict.WARN]
    assert diagnose(checks).healthy


def test_security_group_without_egress_denies_to():
    f = healthy(security_groups=[SecurityGroupInfo("sg2", "empty", [])])
    root = first_failure(f)
    assert root.catalogue == 1 and "egress icmp to 203.0.113.10" in root.evidence
    f = healthy(security_groups=[SecurityGroupInfo("sg2", "empty", [])], to=None)
    assert first_failure(f) is None  # nothing needed to leave the network


def test_security_group_tcp_port_ranges():
    sg = SecurityGroupInfo("sg", "web", [rule("egress", "tcp", None, 80, 81)])
    assert allowing_rule([sg], Flow("egress", "tcp", "203.0.113.10", 80))
    assert allowing_rule([sg], Flow("egress", "tcp", "203.0.113.10", 443)) is None
    assert allowing_rule([sg], Flow("egress", "icmp", "203.0.113.10")) is None
    remote = SecurityGroupInfo("sg", "grp", [rule("ingress", "icmp", group="other")])
    assert allowing_rule([remote], Flow("ingress", "icmp", "192.168.1.1")) is None
    prefixed = SecurityGroupInfo("sg", "p", [rule("egress", "icmp", "203.0.113.0/24")])
    assert allowing_rule([prefixed], Flow("egress", "icmp", "203.0.113.10"))
    assert allowing_rule([prefixed], Flow("egress", "icmp", "198.51.100.1")) is None


def test_port_security_off_allows_everything():
    f = healthy(security_groups=[])
    f.port.port_security_enabled = False
    assert first_failure(f) is None


def test_subnet_not_on_a_router_fails_only_when_leaving_the_network():
    f = healthy(router=None, router_port=None, l3_agents=[])
    assert first_failure(f).check == "router interface"
    f = healthy(router=None, router_port=None, l3_agents=[], to=None)
    checks = control_checks(f)
    assert diagnose(checks).healthy
    assert [c.verdict for c in checks if c.check == "router interface"] == [Verdict.WARN]


def test_router_without_gateway_and_without_snat():
    f = healthy(router=RouterInfo("router-id", "r1", "ACTIVE", True, None, [], False))
    root = first_failure(f)
    assert (root.check, root.catalogue) == ("router gateway", 7)
    f = healthy(router=RouterInfo("router-id", "r1", "ACTIVE", True, "ext", ["198.51.100.20"], False))
    assert "SNAT" in first_failure(f).cause


def test_dead_l3_agent():
    f = healthy()
    f.l3_agents[0].alive = False
    root = first_failure(f)
    assert root.check == "L3 agent alive" and root.cause == "L3 agent down"


def test_asked_about_an_unassociated_floating_ip():
    fip = FloatingIpInfo("fip-id", "198.51.100.15", "ext", None, None, None, "DOWN")
    f = Facts(ref="198.51.100.15", port=None, asked_fip=fip)
    root = first_failure(f)
    assert root.catalogue == 22 and "198.51.100.15" in root.evidence


def test_target_parsing():
    assert Target.parse("203.0.113.10") == Target("203.0.113.10", None)
    assert Target.parse("203.0.113.10:80") == Target("203.0.113.10", 80)
    assert Target.parse("2001:db8::1") == Target("2001:db8::1", None)
    for bad in ("example.com", "203.0.113.10:0", "203.0.113.10:http"):
        with pytest.raises(UsageError):
            Target.parse(bad)
