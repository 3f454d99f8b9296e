"""Control-plane checks of the port itself: what Neutron's records say (shared by every backend's chain)."""

from __future__ import annotations

from ...openstack.adapter import NeutronAgent
from ...wire.encap import TUNNEL_TYPES
from .evidence import Evidence
from .facts import Facts
from .model import CheckResult
from .registry import Check, check
from .secgroups import Flow, allowing_rule, describe_groups


def describe_agent(a: NeutronAgent) -> str:
    state = "alive" if a.alive else "DEAD (no heartbeat within agent_down_time)"
    admin = "" if a.admin_state_up else ", admin-disabled"
    return f"{a.binary or a.agent_type} on {a.host}: {state}{admin}"


@check
class FloatingIpAsked(Check):
    """When the question was a floating IP address: is it associated with a port at all?"""

    key = "floating-ip-associated"
    name = "floating IP associated"
    plane = "control"

    def applies(self, f: Facts) -> bool:
        return f.asked_fip is not None

    def judge(self, f: Facts, ev: Evidence) -> CheckResult:
        fip = f.asked_fip
        assert fip is not None
        if not fip.port_id:
            return self.fail(
                f"floating IP {fip.address} ({fip.id}) has no port: port_id is empty, status {fip.status}",
                cause="floating IP not associated",
                catalogue=22,
                next_step=f"openstack floating ip set --port <the VM's port> {fip.address}",
            )
        return self.ok(f"floating IP {fip.address} -> port {fip.port_id} fixed IP {fip.fixed_ip}")


@check
class PortAdmin(Check):
    key = "port-admin-state"
    name = "port admin state"
    plane = "control"

    def judge(self, f: Facts, ev: Evidence) -> CheckResult:
        p = f.vm_port
        where = f"port {p.id} ({p.name or 'unnamed'}, {p.mac_address}, {', '.join(p.ips) or 'no fixed IP'})"
        if not p.admin_state_up:
            return self.fail(
                f"{where}: admin_state_up=False, status {p.status}",
                cause="port administratively down",
                catalogue=None,
                next_step=f"openstack port set --enable {p.id}",
            )
        return self.ok(f"{where}: admin_state_up=True")


@check
class PortBinding(Check):
    """Bound to a host whose L2 agent can carry the network (tunnel type, or physnet in bridge_mappings)."""

    key = "port-binding"
    name = "port binding"
    plane = "control"

    def judge(self, f: Facts, ev: Evidence) -> CheckResult:
        p, net = f.vm_port, f.vm_network
        seg = net.segment
        net_type = seg.network_type if seg else "unknown"
        host = p.binding_host
        if not host:
            return self.fail(
                f"binding:host_id is empty, vif_type {p.vif_type}: no compute host claimed it",
                cause="port not bound to a host",
                catalogue=10,
                next_step="check nova-compute's log for the VM; the port must be bound by the host that runs it",
            )
        agent = f.l2_agent(host)
        base = f"binding:host_id={host}, vif_type={p.vif_type}, network {net.name or net.id} {net_type}"
        if seg and seg.physical_network:
            base += f" physnet {seg.physical_network}"
        if agent is None:
            hosts = sorted({a.host for a in f.agents if a.is_l2})
            return self.fail(
                f"{base}; no L2 agent reports from host {host} (L2 agents on: {', '.join(hosts) or 'none'})",
                cause="port bound to a host without an L2 agent",
                catalogue=10,
                next_step=f"binding:host_id must be the agent's `host` name; fix the host name or rebind "
                f"(openstack port set --host <host> {p.id})",
            )
        mismatch = _agent_cannot_carry(agent, net_type, seg.physical_network if seg else None)
        if mismatch:
            return self.fail(
                f"{base}; {mismatch}",
                cause="bridge mapping mismatch" if "mapping" in mismatch else "port binding mismatch",
                catalogue=4 if "mapping" in mismatch else 10,
                next_step=f"add the mapping / tunnel type to the agent's configuration on {host} and restart it",
            )
        if p.vif_type in ("binding_failed", "unbound", None, ""):
            why = (
                "its L2 agent is dead"
                if not agent.alive
                else "see neutron-server's log for the mechanism drivers' refusal"
            )
            return self.fail(
                f"{base}; binding failed ({why})",
                cause="L2 agent down" if not agent.alive else "port binding failed",
                catalogue=3 if not agent.alive else 10,
                next_step=f"bring the agent on {host} back, then rebind: openstack port set --host {host} {p.id}",
            )
        return self.ok(f"{base}; agent {agent.binary} on {host} can carry it")


def _agent_cannot_carry(agent: NeutronAgent, net_type: str, physnet: str | None) -> str:
    if net_type in TUNNEL_TYPES:
        if net_type not in agent.tunnel_types:
            return (
                f"the agent on {agent.host} has tunnel_types {agent.tunnel_types or 'none'}, "
                f"the network needs {net_type}"
            )
        return ""
    if net_type in ("vlan", "flat") and physnet and physnet not in agent.bridge_mappings:
        return (
            f"physnet {physnet} is not in bridge_mappings of the agent on {agent.host} "
            f"({', '.join(f'{k}:{v}' for k, v in agent.bridge_mappings.items()) or 'empty'})"
        )
    return ""


@check
class L2AgentAlive(Check):
    key = "l2-agent-alive"
    name = "L2 agent alive"
    plane = "control"

    def judge(self, f: Facts, ev: Evidence) -> CheckResult:
        p = f.vm_port
        agent = f.l2_agent(p.binding_host)
        if agent is None:
            return self.skipped(f"no L2 agent on {p.binding_host or 'an unbound port'}")
        if not agent.alive or not agent.admin_state_up:
            return self.fail(
                describe_agent(agent),
                cause="L2 agent down",
                catalogue=3,
                next_step=f"restart the agent on {agent.host} (systemctl restart {agent.binary}) and read its log",
            )
        return self.ok(describe_agent(agent))


@check
class PortStatus(Check):
    """ACTIVE once the L2 agent wired the port. DOWN is what Neutron shows for many breaks further down
    (unplugged VIF, dead VLAN), so chains put it after the check of the VM's switch port."""

    key = "port-status"
    name = "port status"
    plane = "control"

    def judge(self, f: Facts, ev: Evidence) -> CheckResult:
        p = f.vm_port
        if p.status != "ACTIVE":
            return self.fail(
                f"status {p.status}: the L2 agent on {p.binding_host} has not wired the port",
                cause="port DOWN",
                catalogue=3,
                next_step=f"is the VM's interface plugged into br-int on {p.binding_host}? see the agent's log",
            )
        return self.ok("status ACTIVE (the L2 agent wired it)")


def _needed_flows(f: Facts) -> list[Flow]:
    flows = []
    if f.to:
        flows.append(Flow("egress", "tcp" if f.to.tcp_port else "icmp", f.to.address, f.to.tcp_port))
    return flows


def probe_sources(f: Facts) -> list[str]:
    """Addresses the data plane pings the VM from (the DHCP ports and the router interface)."""
    srcs = [ip for p in f.dhcp_ports for ip in p.ips if ":" not in ip]
    if f.router_port is not None:
        srcs += [ip for ip in f.router_port.ips if ":" not in ip]
    return srcs


def ingress_icmp_allowed(f: Facts, source: str) -> bool:
    p = f.port
    if p is None or not p.port_security_enabled:
        return True
    return allowing_rule(f.security_groups, Flow("ingress", "icmp", source)) is not None


@check
class SecurityGroups(Check):
    """Do the port's groups allow what the question needs (egress to --to), and the data plane's pings?"""

    key = "security-groups"
    name = "security groups"
    plane = "control"

    def judge(self, f: Facts, ev: Evidence) -> CheckResult:
        p = f.vm_port
        if not p.port_security_enabled:
            return self.ok("port_security_enabled=False: no filtering (and no anti-spoofing) on this port")
        names = ", ".join(g.name or g.id for g in f.security_groups) or "none"
        evidence = [f"groups: {names}; DHCP, ARP and ND are always allowed by Neutron"]
        for flow in _needed_flows(f):
            found = allowing_rule(f.security_groups, flow)
            if found is None:
                return self.fail(
                    f"{evidence[0]}; nothing allows {flow.describe()}; "
                    f"egress rules: {describe_groups(f.security_groups, 'egress')}",
                    cause="security group denies the traffic",
                    catalogue=1,
                    next_step=f"openstack security group rule create --egress --protocol {flow.protocol}"
                    f"{f' --dst-port {flow.port}' if flow.port else ''} "
                    f"--remote-ip {flow.remote}/32 <group>",
                )
            evidence.append(f"{flow.describe()} allowed by {found[0].name or found[0].id[:8]}: {found[1].describe()}")
        blocked = [s for s in probe_sources(f) if not ingress_icmp_allowed(f, s)]
        if blocked:
            evidence.append(
                f"ingress ICMP from {', '.join(blocked)} not allowed: pings from the DHCP/router "
                "namespaces cannot prove the VM answers"
            )
        return self.ok("; ".join(evidence))


@check
class AllowedAddresses(Check):
    key = "allowed-addresses"
    name = "allowed addresses"
    plane = "control"

    def judge(self, f: Facts, ev: Evidence) -> CheckResult:
        p = f.vm_port
        if not p.port_security_enabled:
            return self.ok("port security off: the VM may use any address")
        pairs = (
            ", ".join(
                f"{a.get('ip_address')}{'/' + a['mac_address'] if a.get('mac_address') else ''}"
                for a in p.allowed_address_pairs
            )
            or "none"
        )
        return self.ok(f"the VM may send from {', '.join(p.ips)} with {p.mac_address}; allowed_address_pairs: {pairs}")
