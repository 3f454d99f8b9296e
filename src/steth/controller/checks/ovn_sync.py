"""`steth ovn sync-check`: Neutron's objects against OVN's Northbound and Southbound rows, and against
the Open vSwitch of the chassis a port is bound to. Drift is named row by row: what Neutron says, what
OVN (or the chassis) says.

Chains checked:
* port: Neutron port <-> NB Logical_Switch_Port (exists, addresses, port security, up) <-> SB Port_Binding
  (chassis, up, requested-chassis) <-> the bound chassis' OVS Interface with that iface-id <-> Neutron status;
* subnet with DHCP <-> NB DHCP_Options (cidr, router) and the subnet's VIF ports pointing at it;
* router <-> NB Logical_Router, its ports, SNAT rows, the gateway port's gateway chassis, floating IPs'
  dnat_and_snat rows;
* security group <-> NB Port_Group (its member ports) and one ACL per rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...openstack.ovn_model import NbSnapshot, SbSnapshot
from ...wire.models import OvsShowResponse, Verdict

# device owners whose ports are not VIFs; OVN models them differently (router ports, localports)
ROUTER_OWNERS = ("network:router_interface", "network:router_gateway", "network:router_interface_distributed")
SKIP_OWNERS = ("network:floatingip", "network:dhcp", "network:distributed")


@dataclass(frozen=True)
class Drift:
    kind: str  # port, subnet, router, floatingip, security-group, lsp
    id: str
    check: str  # what was compared
    verdict: Verdict
    neutron: str  # what Neutron says
    ovn: str  # what OVN / the chassis says


@dataclass
class NeutronView:
    """What Neutron says, as plain dicts of the SDK resources' fields steth compares."""

    ports: list[dict[str, Any]] = field(default_factory=list)
    subnets: list[dict[str, Any]] = field(default_factory=list)
    routers: list[dict[str, Any]] = field(default_factory=list)
    floating_ips: list[dict[str, Any]] = field(default_factory=list)
    security_groups: list[dict[str, Any]] = field(default_factory=list)


def _lsp_addresses(port: dict[str, Any]) -> str:
    ips = " ".join(ip["ip_address"] for ip in port.get("fixed_ips") or [])
    return f"{port['mac_address']} {ips}".strip()


def pg_name(sg_id: str) -> str:
    """Neutron's Port_Group name for a security group."""
    return "pg_" + sg_id.replace("-", "_")


@dataclass
class NodeOvs:
    """A chassis' local OVS as its steth-agent reported it (or why it could not)."""

    show: OvsShowResponse | None = None
    error: str = ""


def ports(
    neutron: NeutronView, nb: NbSnapshot, sb: SbSnapshot, ovs: dict[str, NodeOvs], only: set[str] | None = None
) -> list[Drift]:
    out: list[Drift] = []
    hosts = {c.hostname: c.name for c in sb.chassis.values()}
    for p in neutron.ports:
        pid = p["id"]
        owner = p.get("device_owner") or ""
        if only is not None and pid not in only:
            continue
        if owner.startswith(SKIP_OWNERS):
            continue
        lsp = nb.ports.get(pid)
        if lsp is None:
            out.append(
                Drift(
                    "port",
                    pid,
                    "nb-lsp",
                    Verdict.FAIL,
                    f"port on network {p['network_id']} ({owner})",
                    "no Logical_Switch_Port in NB",
                )
            )
            continue
        if lsp.switch != f"neutron-{p['network_id']}":
            out.append(
                Drift("port", pid, "nb-switch", Verdict.FAIL, f"network {p['network_id']}", f"LSP on {lsp.switch}")
            )
        if owner.startswith(ROUTER_OWNERS):
            continue  # type=router LSPs: the router checks cover them
        want = _lsp_addresses(p)
        if want not in lsp.addresses:
            out.append(Drift("port", pid, "nb-addresses", Verdict.FAIL, want, " | ".join(lsp.addresses) or "none"))
        if p.get("port_security_enabled", True):
            if not any(ps.split()[:1] == [p["mac_address"]] for ps in lsp.port_security):
                out.append(
                    Drift(
                        "port",
                        pid,
                        "nb-port-security",
                        Verdict.FAIL,
                        f"enabled for {p['mac_address']}",
                        " | ".join(lsp.port_security) or "no port_security",
                    )
                )
        host = p.get("binding_host_id") or ""
        status = p.get("status") or ""
        pb = sb.port_bindings.get(pid)
        if pb is None:
            out.append(
                Drift(
                    "port",
                    pid,
                    "sb-binding",
                    Verdict.FAIL,
                    f"status {status}, host {host or '-'}",
                    "no Port_Binding in SB (northd has not translated this LSP)",
                )
            )
            continue
        want_chassis = hosts.get(host, "")
        if host and not want_chassis:
            out.append(
                Drift(
                    "port",
                    pid,
                    "sb-chassis",
                    Verdict.FAIL,
                    f"bound to host {host}",
                    f"no chassis with hostname {host}; Port_Binding chassis {pb.chassis or 'none'}",
                )
            )
        elif host and pb.chassis != want_chassis:
            out.append(
                Drift(
                    "port",
                    pid,
                    "sb-chassis",
                    Verdict.FAIL,
                    f"bound to host {host} ({want_chassis})",
                    f"Port_Binding chassis {pb.chassis or 'none'}, requested {pb.requested_chassis or '-'}",
                )
            )
        on = pb.chassis or want_chassis  # unbound: is the VIF plugged on the host Neutron binds it to?
        if host and on:
            node = ovs.get(on)
            if node is not None and node.show is not None:
                if node.show.with_iface_id(pid) is None:
                    out.append(
                        Drift(
                            "port",
                            pid,
                            "chassis-iface",
                            Verdict.FAIL,
                            f"plugged on {host}",
                            f"no OVS Interface with iface-id {pid} on {on}",
                        )
                    )
            elif node is not None and node.error:
                out.append(
                    Drift(
                        "port",
                        pid,
                        "chassis-iface",
                        Verdict.ERROR,
                        f"plugged on {host}",
                        f"{on}'s OVS not readable: {node.error}",
                    )
                )
        active = status == "ACTIVE"
        ovn_up = bool(lsp.up) and bool(pb.up) and bool(pb.chassis)
        if active != ovn_up:
            out.append(
                Drift(
                    "port",
                    pid,
                    "status",
                    Verdict.FAIL,
                    f"status {status}",
                    f"LSP up={lsp.up}, Port_Binding up={pb.up} on {pb.chassis or 'no chassis'}",
                )
            )
    if only is None:
        known = {p["id"] for p in neutron.ports}
        for name, lsp in sorted(nb.ports.items()):
            if lsp.type in ("localnet", "localport", "virtual") or name.startswith("provnet-"):
                continue
            if "neutron:network_name" in lsp.external_ids and name not in known:
                out.append(
                    Drift(
                        "lsp",
                        name,
                        "neutron-port",
                        Verdict.FAIL,
                        "no such port",
                        f"Logical_Switch_Port on {lsp.switch} (orphan)",
                    )
                )
    return out


def subnets(neutron: NeutronView, nb: NbSnapshot) -> list[Drift]:
    out: list[Drift] = []
    by_subnet = {d.subnet_id: d for d in nb.dhcp_options.values() if d.subnet_id and "port_id" not in d.external_ids}
    for s in neutron.subnets:
        if s.get("ip_version") != 4 or not s.get("is_dhcp_enabled", s.get("enable_dhcp")):
            continue
        d = by_subnet.get(s["id"])
        if d is None:
            out.append(
                Drift(
                    "subnet",
                    s["id"],
                    "nb-dhcp-options",
                    Verdict.FAIL,
                    f"DHCP enabled on {s['cidr']}",
                    "no DHCP_Options row: OVN answers no DHCP on this subnet",
                )
            )
            continue
        if d.cidr != s["cidr"]:
            out.append(Drift("subnet", s["id"], "dhcp-cidr", Verdict.FAIL, s["cidr"], d.cidr))
        gw = s.get("gateway_ip")
        if gw and d.options.get("router") != gw:
            out.append(
                Drift(
                    "subnet",
                    s["id"],
                    "dhcp-router",
                    Verdict.FAIL,
                    f"gateway {gw}",
                    f"router option {d.options.get('router', 'none')}",
                )
            )
        for lsp in nb.ports.values():
            if (
                lsp.switch == f"neutron-{s['network_id']}"
                and lsp.type == ""
                and lsp.addresses
                and not lsp.dhcpv4_options
            ):
                if any(a.split()[1:] and _in_cidr(a.split()[1:], s["cidr"]) for a in lsp.addresses):
                    out.append(
                        Drift(
                            "port",
                            lsp.name,
                            "lsp-dhcp",
                            Verdict.FAIL,
                            f"DHCP from subnet {s['id']}",
                            "LSP has no dhcpv4_options",
                        )
                    )
    return out


def _in_cidr(ips: list[str], cidr: str) -> bool:
    import ipaddress

    net = ipaddress.ip_network(cidr)
    return any(ipaddress.ip_address(ip) in net for ip in ips if ":" not in ip or net.version == 6)
