"""Control-plane checks of the services on the port's path: DHCP, DNS, the router, its agent, floating IPs."""

from __future__ import annotations

from .evidence import Evidence
from .facts import Facts
from .model import CheckResult
from .neutron_port import describe_agent
from .registry import Check, check


def l3_needed(f: Facts) -> bool:
    """Does the question leave the VM's network (a destination, a floating IP)?"""
    return f.to is not None or bool(f.floating_ips) or f.asked_fip is not None


@check
class DhcpServer(Check):
    key = "dhcp-server"
    name = "DHCP server"
    plane = "control"

    def judge(self, f: Facts, ev: Evidence) -> CheckResult:
        s, net = f.subnet, f.vm_network
        if s is None:
            return self.skipped("the port has no fixed IP on a subnet")
        if not s.enable_dhcp:
            return self.fail(
                f"subnet {s.name or s.id} {s.cidr}: enable_dhcp=False",
                cause="no DHCP server",
                catalogue=6,
                next_step=f"openstack subnet set --dhcp {s.id} (or configure the VM statically)",
            )
        if not f.dhcp_agents:
            return self.fail(
                f"no DHCP agent hosts network {net.id}",
                cause="no DHCP server",
                catalogue=6,
                next_step=f"openstack network agent add network --dhcp <dhcp-agent> {net.id}",
            )
        alive = [a for a in f.dhcp_agents if a.alive and a.admin_state_up]
        text = "; ".join(describe_agent(a) for a in f.dhcp_agents)
        ports = ", ".join(f"{p.binding_host}:{'/'.join(p.ips)}" for p in f.dhcp_ports) or "none"
        if not alive:
            return self.fail(
                f"{text}; DHCP ports {ports}",
                cause="no DHCP server (DHCP agent down)",
                catalogue=6,
                next_step="restart the DHCP agent(s) hosting the network",
            )
        return self.ok(f"subnet {s.cidr} enable_dhcp=True; {text}; DHCP ports {ports}")


@check
class DnsServers(Check):
    key = "dns-servers"
    name = "DNS servers"
    plane = "control"

    def judge(self, f: Facts, ev: Evidence) -> CheckResult:
        s = f.subnet
        if s is None:
            return self.skipped("no subnet")
        if not s.dns_nameservers:
            return self.warn(
                f"subnet {s.cidr} has no dns_nameservers: the VM resolves names only if "
                "the DHCP agent's dnsmasq forwards (dnsmasq_dns_servers)",
                next_step=f"openstack subnet set --dns-nameserver <resolver> {s.id}",
            )
        return self.ok(f"subnet {s.cidr} dns_nameservers {', '.join(s.dns_nameservers)}")


@check
class RouterInterface(Check):
    key = "router-interface"
    name = "router interface"
    plane = "control"

    def judge(self, f: Facts, ev: Evidence) -> CheckResult:
        s = f.subnet
        if s is None:
            return self.skipped("no subnet")
        if f.router is None:
            text = f"no router has an interface on subnet {s.name or s.id} {s.cidr}"
            if l3_needed(f):
                return self.fail(
                    text,
                    cause="subnet not attached to a router",
                    catalogue=7,
                    next_step=f"openstack router add subnet <router> {s.id}",
                )
            return self.warn(text + ": the VM reaches only its own network")
        rp = f.router_port
        ip = "/".join(rp.ips) if rp else "?"
        gw_note = "" if s.gateway_ip in (rp.ips if rp else []) else f" (the subnet's gateway_ip is {s.gateway_ip})"
        return self.ok(f"router {f.router.name or f.router.id} has {ip} on {s.cidr}{gw_note}")


@check
class RouterGateway(Check):
    key = "router-gateway"
    name = "router gateway"
    plane = "control"

    def judge(self, f: Facts, ev: Evidence) -> CheckResult:
        r = f.router
        if r is None:
            return self.skipped("no router")
        if not r.has_gateway:
            text = f"router {r.name or r.id}: external_gateway_info is empty"
            if l3_needed(f):
                return self.fail(
                    text,
                    cause="router without external gateway",
                    catalogue=7,
                    next_step=f"openstack router set --external-gateway <external network> {r.id}",
                )
            return self.warn(text)
        snat = "SNAT on" if r.enable_snat else "SNAT OFF"
        text = f"router {r.name or r.id} gateway {', '.join(r.gateway_ips)} on network {r.gateway_network_id}, {snat}"
        if not r.enable_snat and f.to is not None and not f.floating_ips:
            return self.fail(
                text + ": a VM without a floating IP cannot reach outside",
                cause="router without SNAT",
                catalogue=7,
                next_step=f"openstack router set --external-gateway {r.gateway_network_id} --enable-snat {r.id}",
            )
        return self.ok(text)


@check
class L3AgentAlive(Check):
    key = "l3-agent-alive"
    name = "L3 agent alive"
    plane = "control"

    def judge(self, f: Facts, ev: Evidence) -> CheckResult:
        r = f.router
        if r is None:
            return self.skipped("no router")
        if not f.l3_agents:
            return self.fail(
                f"no L3 agent hosts router {r.name or r.id}",
                cause="router not scheduled",
                catalogue=7,
                next_step=f"openstack network agent add router --l3 <l3-agent> {r.id}",
            )
        alive = [a for a in f.l3_agents if a.alive and a.admin_state_up]
        text = "; ".join(describe_agent(a) for a in f.l3_agents)
        if not alive:
            return self.fail(
                text,
                cause="L3 agent down",
                catalogue=3,
                next_step=f"restart the L3 agent on {f.l3_agents[0].host} and read its log",
            )
        return self.ok(text)


@check
class FloatingIps(Check):
    key = "floating-ips"
    name = "floating IP"
    plane = "control"

    def judge(self, f: Facts, ev: Evidence) -> CheckResult:
        if not f.floating_ips:
            return self.ok("none associated with this port (outbound traffic uses the router's SNAT)")
        return self.ok("; ".join(f"{x.address} -> {x.fixed_ip} ({x.status})" for x in f.floating_ips))
