"""`steth check dhcp` on ML2/OVN: no dnsmasq and no DHCP port, ovn-controller on the VM's own chassis
answers the DISCOVER (pinctrl) from the subnet's NB DHCP_Options.

The DISCOVER is injected into br-int as if received on the VM's tap (OpenFlow packet-out); OVN's
logical flows hand it to ovn-controller, whose OFFER comes back out of that tap, where it is captured.
When no OFFER comes, the Northbound and Southbound databases say why: no DHCP_Options for the subnet,
the port's LSP without them, the port not bound to this chassis, the chassis' ovn-controller not
acknowledging the SB (down or disconnected).
"""

from __future__ import annotations

import asyncio
import ipaddress
from typing import TYPE_CHECKING

from ...openstack.ovn_model import NbSnapshot, OvnConfig, SbSnapshot
from ...wire.models import DhcpInjectSpec, Verdict
from .. import api
from ..inventory import resolve_node
from . import dhcp
from .dhcp_port import PortFacts

if TYPE_CHECKING:
    from ..client import AgentClient
    from ..config import ControllerConfig


def subnet_options(nb: NbSnapshot, facts: PortFacts) -> list[str]:
    """DHCP_Options uuids of the port's IPv4 subnets (the subnet's row, not a port's own)."""
    ips = [ipaddress.ip_address(ip) for ip in facts.port.ips if ":" not in ip]
    return [
        d.uuid
        for d in nb.dhcp_options.values()
        if "port_id" not in d.external_ids and any(ip in ipaddress.ip_network(d.cidr) for ip in ips)
    ]


def why_no_offer(nb: NbSnapshot, sb: SbSnapshot, facts: PortFacts) -> str:
    """What the databases say about a port ovn-controller did not answer (first broken link)."""
    port, host = facts.port, facts.port.binding_host or ""
    chassis = [c for c in sb.chassis.values() if c.hostname == host or c.name == host]
    if not chassis:
        return f"no chassis of {host} in the Southbound DB: ovn-controller on {host} never registered"
    c = chassis[0]
    priv = sb.chassis_private.get(c.name)
    if priv is None or priv.nb_cfg < sb.nb_cfg:
        seen = priv.nb_cfg if priv else "none"
        return (
            f"ovn-controller on {host} (chassis {c.name}) is down or not connected to the SB: "
            f"Chassis_Private.nb_cfg {seen} behind SB_Global.nb_cfg {sb.nb_cfg}"
        )
    pb = sb.port_bindings.get(port.id)
    if pb is None or pb.chassis != c.name:
        where = pb.chassis or "no chassis" if pb else "no Port_Binding"
        return f"port {port.id} is not bound to chassis {c.name} ({where}): ovn-controller there does not answer for it"
    rows = subnet_options(nb, facts)
    if not rows:
        return f"no DHCP_Options row for the port's subnet in NB: ovn-controller on {host} has nothing to offer"
    lsp = nb.ports.get(port.id)
    if lsp is not None and not lsp.dhcpv4_options:
        return f"the port's Logical_Switch_Port has no dhcpv4_options (the subnet's row is {rows[0][:8]})"
    return (
        f"ovn-controller on {host} sent no OFFER although NB and SB look right "
        "(is ovn-controller running? are its flows installed? `ovn-appctl -t ovn-controller connection-status`)"
    )


async def check_port(
    client: AgentClient,
    config: ControllerConfig,
    facts: PortFacts,
    ovn: OvnConfig,
    duration: float,
    settle: float | None = None,
) -> dhcp.Analysis:
    """``settle``: end the capture that long after the OFFER (else at ``duration``)."""
    from ...openstack import ovn as ovn_db

    port = facts.port
    host = port.binding_host or ""
    shown = await api.ovs_show(client, resolve_node(config, host), "br-int")
    found = shown.with_iface_id(port.id)
    nb, sb = await asyncio.gather(asyncio.to_thread(ovn_db.read_nb, ovn), asyncio.to_thread(ovn_db.read_sb, ovn))
    if found is None:
        return dhcp.Analysis(
            Verdict.FAIL if shown.ovs_available and shown.bridges else Verdict.ERROR,
            f"no interface with external_ids:iface-id={port.id} on br-int of {host} ({shown.detail}): "
            "the VM's port is not plugged, so OVN binds it nowhere and answers no DHCP",
            [],
            [],
        )
    tap = found[1].name
    servers = {nb.dhcp_options[u].options.get("server_id", "") for u in subnet_options(nb, facts)}
    plan = dhcp.Plan(
        port=port,
        network=facts.network,
        hops=[dhcp.HopPlan(host, "vm-tap", tap, discover=False)],
        inject_node=host,
        inject=DhcpInjectSpec(mac=port.mac_address, bridge="br-int", ovs_port=tap),
        neutron_servers=servers - {""},
    )
    analysis = await dhcp.trace(client, {host: resolve_node(config, host)}, plan, duration, settle)
    if analysis.verdict == Verdict.ERROR:
        return analysis
    where = f"DISCOVER injected on {host}'s br-int as from {tap} (OpenFlow packet-out), handed to ovn-controller"
    if analysis.rogue:
        analysis.reason = f"{where}; {analysis.rogue[0]}"
    elif analysis.hops and analysis.hops[0].offer:
        analysis.reason = f"{where}; its OFFER (server {', '.join(sorted(plan.neutron_servers))}) reached {tap}"
    else:
        analysis.verdict = Verdict.FAIL
        analysis.reason = f"{where}; no OFFER came back to {tap}: {why_no_offer(nb, sb, facts)}"
    return analysis
