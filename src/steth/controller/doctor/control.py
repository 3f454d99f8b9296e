"""Control-plane checks: what Neutron's own records say about the port's path, in chain order."""

from __future__ import annotations

from ...openstack.adapter import AgentInfo
from ...wire.encap import TUNNEL_TYPES
from .facts import Facts
from .model import Check, fail, ok, skipped, warn
from .secgroups import Flow, allowing_rule, describe_groups


def _agent(a: AgentInfo) -> str:
    state = "alive" if a.alive else "DEAD (no heartbeat within agent_down_time)"
    admin = "" if a.admin_state_up else ", admin-disabled"
    return f"{a.binary or a.agent_type} on {a.host}: {state}{admin}"


def floating_ip_asked(f: Facts) -> Check:
    fip = f.asked_fip
    assert fip is not None
    if not fip.port_id:
        return fail(
            "floating IP associated",
            f"floating IP {fip.address} ({fip.id}) has no port: port_id is empty, status {fip.status}",
            cause="floating IP not associated",
            catalogue=22,
            next_step=f"openstack floating ip set --port <the VM's port> {fip.address}",
        )
    return ok("floating IP associated", f"floating IP {fip.address} -> port {fip.port_id} fixed IP {fip.fixed_ip}")


def port_admin(f: Facts) -> Check:
    p = f.port
    assert p is not None
    where = f"port {p.id} ({p.name or 'unnamed'}, {p.mac_address}, {', '.join(p.ips) or 'no fixed IP'})"
    if not p.admin_state_up:
        return fail(
            "port admin state",
            f"{where}: admin_state_up=False, status {p.status}",
            cause="port administratively down",
            catalogue=None,
            next_step=f"openstack port set --enable {p.id}",
        )
    return ok("port admin state", f"{where}: admin_state_up=True")


def port_binding(f: Facts) -> Check:
    p = f.port
    assert p is not None and f.network is not None
    seg = f.network.segment
    net_type = seg.network_type if seg else "unknown"
    host = p.binding_host
    if not host:
        return fail(
            "port binding",
            f"binding:host_id is empty, vif_type {p.vif_type}: no compute host claimed it",
            cause="port not bound to a host",
            catalogue=10,
            next_step="check nova-compute's log for the VM; the port must be bound by the host that runs it",
        )
    agent = f.l2_agent(host)
    base = f"binding:host_id={host}, vif_type={p.vif_type}, network {f.network.name or f.network.id} {net_type}"
    if seg and seg.physical_network:
        base += f" physnet {seg.physical_network}"
    if agent is None:
        hosts = sorted({a.host for a in f.agents if a.is_l2})
        return fail(
            "port binding",
            f"{base}; no L2 agent reports from host {host} (L2 agents on: {', '.join(hosts) or 'none'})",
            cause="port bound to a host without an L2 agent",
            catalogue=10,
            next_step=f"binding:host_id must be the agent's `host` name; fix the host name or rebind "
            f"(openstack port set --host <host> {p.id})",
        )
    mismatch = _agent_cannot_carry(agent, net_type, seg.physical_network if seg else None)
    if mismatch:
        return fail(
            "port binding",
            f"{base}; {mismatch}",
            cause="bridge mapping mismatch" if "mapping" in mismatch else "port binding mismatch",
            catalogue=4 if "mapping" in mismatch else 10,
            next_step=f"add the mapping / tunnel type to the agent's configuration on {host} and restart it",
        )
    if p.vif_type in ("binding_failed", "unbound", None, ""):
        why = (
            "its L2 agent is dead" if not agent.alive else "see neutron-server's log for the mechanism drivers' refusal"
        )
        return fail(
            "port binding",
            f"{base}; binding failed ({why})",
            cause="L2 agent down" if not agent.alive else "port binding failed",
            catalogue=3 if not agent.alive else 10,
            next_step=f"bring the agent on {host} back, then rebind: openstack port set --host {host} {p.id}",
        )
    return ok("port binding", f"{base}; agent {agent.binary} on {host} can carry it")


def _agent_cannot_carry(agent: AgentInfo, net_type: str, physnet: str | None) -> str:
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


def l2_agent_alive(f: Facts) -> Check:
    p = f.port
    assert p is not None
    agent = f.l2_agent(p.binding_host)
    if agent is None:
        return skipped("L2 agent alive", f"no L2 agent on {p.binding_host or 'an unbound port'}")
    if not agent.alive or not agent.admin_state_up:
        return fail(
            "L2 agent alive",
            _agent(agent),
            cause="L2 agent down",
            catalogue=3,
            next_step=f"restart the agent on {agent.host} (systemctl restart {agent.binary}) and read its log",
        )
    return ok("L2 agent alive", _agent(agent))


def port_status(f: Facts) -> Check:
    p = f.port
    assert p is not None
    if p.status != "ACTIVE":
        return fail(
            "port status",
            f"status {p.status}: the L2 agent on {p.binding_host} has not wired the port",
            cause="port DOWN",
            catalogue=3,
            next_step=f"is the VM's interface plugged into br-int on {p.binding_host}? see the agent's log",
        )
    return ok("port status", "status ACTIVE (the L2 agent wired it)")


def dhcp_service(f: Facts) -> Check:
    s, net = f.subnet, f.network
    assert net is not None
    if s is None:
        return skipped("DHCP server", "the port has no fixed IP on a subnet")
    if not s.enable_dhcp:
        return fail(
            "DHCP server",
            f"subnet {s.name or s.id} {s.cidr}: enable_dhcp=False",
            cause="no DHCP server",
            catalogue=6,
            next_step=f"openstack subnet set --dhcp {s.id} (or configure the VM statically)",
        )
    if not f.dhcp_agents:
        return fail(
            "DHCP server",
            f"no DHCP agent hosts network {net.id}",
            cause="no DHCP server",
            catalogue=6,
            next_step=f"openstack network agent add network --dhcp <dhcp-agent> {net.id}",
        )
    alive = [a for a in f.dhcp_agents if a.alive and a.admin_state_up]
    text = "; ".join(_agent(a) for a in f.dhcp_agents)
    ports = ", ".join(f"{p.binding_host}:{'/'.join(p.ips)}" for p in f.dhcp_ports) or "none"
    if not alive:
        return fail(
            "DHCP server",
            f"{text}; DHCP ports {ports}",
            cause="no DHCP server (DHCP agent down)",
            catalogue=6,
            next_step="restart the DHCP agent(s) hosting the network",
        )
    return ok("DHCP server", f"subnet {s.cidr} enable_dhcp=True; {text}; DHCP ports {ports}")


def dns_servers(f: Facts) -> Check:
    s = f.subnet
    if s is None:
        return skipped("DNS servers", "no subnet")
    if not s.dns_nameservers:
        return warn(
            "DNS servers",
            f"subnet {s.cidr} has no dns_nameservers: the VM resolves names only if "
            "the DHCP agent's dnsmasq forwards (dnsmasq_dns_servers)",
            next_step=f"openstack subnet set --dns-nameserver <resolver> {s.id}",
        )
    return ok("DNS servers", f"subnet {s.cidr} dns_nameservers {', '.join(s.dns_nameservers)}")


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


def security_groups(f: Facts) -> Check:
    p = f.port
    assert p is not None
    if not p.port_security_enabled:
        return ok("security groups", "port_security_enabled=False: no filtering (and no anti-spoofing) on this port")
    names = ", ".join(g.name or g.id for g in f.security_groups) or "none"
    evidence = [f"groups: {names}; DHCP, ARP and ND are always allowed by Neutron"]
    for flow in _needed_flows(f):
        found = allowing_rule(f.security_groups, flow)
        if found is None:
            return fail(
                "security groups",
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
    return ok("security groups", "; ".join(evidence))


def anti_spoofing(f: Facts) -> Check:
    p = f.port
    assert p is not None
    if not p.port_security_enabled:
        return ok("allowed addresses", "port security off: the VM may use any address")
    pairs = (
        ", ".join(
            f"{a.get('ip_address')}{'/' + a['mac_address'] if a.get('mac_address') else ''}"
            for a in p.allowed_address_pairs
        )
        or "none"
    )
    return ok(
        "allowed addresses",
        f"the VM may send from {', '.join(p.ips)} with {p.mac_address}; allowed_address_pairs: {pairs}",
    )


def _l3_needed(f: Facts) -> bool:
    return f.to is not None or bool(f.floating_ips) or f.asked_fip is not None


def router_interface(f: Facts) -> Check:
    s = f.subnet
    if s is None:
        return skipped("router interface", "no subnet")
    if f.router is None:
        text = f"no router has an interface on subnet {s.name or s.id} {s.cidr}"
        if _l3_needed(f):
            return fail(
                "router interface",
                text,
                cause="subnet not attached to a router",
                catalogue=7,
                next_step=f"openstack router add subnet <router> {s.id}",
            )
        return warn("router interface", text + ": the VM reaches only its own network")
    rp = f.router_port
    ip = "/".join(rp.ips) if rp else "?"
    gw_note = "" if s.gateway_ip in (rp.ips if rp else []) else f" (the subnet's gateway_ip is {s.gateway_ip})"
    return ok("router interface", f"router {f.router.name or f.router.id} has {ip} on {s.cidr}{gw_note}")


def router_gateway(f: Facts) -> Check:
    r = f.router
    if r is None:
        return skipped("router gateway", "no router")
    if not r.has_gateway:
        text = f"router {r.name or r.id}: external_gateway_info is empty"
        if _l3_needed(f):
            return fail(
                "router gateway",
                text,
                cause="router without external gateway",
                catalogue=7,
                next_step=f"openstack router set --external-gateway <external network> {r.id}",
            )
        return warn("router gateway", text)
    snat = "SNAT on" if r.enable_snat else "SNAT OFF"
    text = f"router {r.name or r.id} gateway {', '.join(r.gateway_ips)} on network {r.gateway_network_id}, {snat}"
    if not r.enable_snat and f.to is not None and not f.floating_ips:
        return fail(
            "router gateway",
            text + ": a VM without a floating IP cannot reach outside",
            cause="router without SNAT",
            catalogue=7,
            next_step=f"openstack router set --external-gateway {r.gateway_network_id} --enable-snat {r.id}",
        )
    return ok("router gateway", text)


def l3_agent_alive(f: Facts) -> Check:
    r = f.router
    if r is None:
        return skipped("L3 agent alive", "no router")
    if not f.l3_agents:
        return fail(
            "L3 agent alive",
            f"no L3 agent hosts router {r.name or r.id}",
            cause="router not scheduled",
            catalogue=7,
            next_step=f"openstack network agent add router --l3 <l3-agent> {r.id}",
        )
    alive = [a for a in f.l3_agents if a.alive and a.admin_state_up]
    text = "; ".join(_agent(a) for a in f.l3_agents)
    if not alive:
        return fail(
            "L3 agent alive",
            text,
            cause="L3 agent down",
            catalogue=3,
            next_step=f"restart the L3 agent on {f.l3_agents[0].host} and read its log",
        )
    return ok("L3 agent alive", text)


def floating_ips(f: Facts) -> Check:
    if not f.floating_ips:
        return ok("floating IP", "none associated with this port (outbound traffic uses the router's SNAT)")
    text = "; ".join(f"{x.address} -> {x.fixed_ip} ({x.status})" for x in f.floating_ips)
    return ok("floating IP", text)


def control_checks(f: Facts) -> list[Check]:
    """The control plane in chain order: the port, its binding and agent, DHCP, filtering, routing."""
    checks: list[Check] = []
    if f.asked_fip is not None:
        checks.append(floating_ip_asked(f))
    if f.port is None:
        return checks
    checks += [
        port_admin(f),
        port_binding(f),
        l2_agent_alive(f),
        port_status(f),
        dhcp_service(f),
        dns_servers(f),
        security_groups(f),
        anti_spoofing(f),
        router_interface(f),
        router_gateway(f),
        l3_agent_alive(f),
        floating_ips(f),
    ]
    return checks
