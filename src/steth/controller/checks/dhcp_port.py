"""The DHCP path of one Neutron port: what Neutron says, what the port's node shows, the hops to trace.

Used by `steth check dhcp` (trace a DISCOVER along the path) and `steth capture --port` (capture on
every hop of it). Neutron is asked first, synchronously (:func:`port_facts`); the agents then,
in one session (:func:`plan_path`, :func:`check_port`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...errors import UsageError
from ...openstack.adapter import NetworkInfo, PortInfo
from ...wire.models import OvsInterfaceInfo, OvsPortInfo, OvsShowResponse, Verdict
from .. import api
from ..config import ControllerConfig
from ..inventory import resolve_node
from . import dhcp

if TYPE_CHECKING:
    from ...openstack.adapter import OpenStack
    from ..client import AgentClient


LINUX_BRIDGE_VIF = "bridge"  # binding:vif_type of a port the linuxbridge mechanism driver bound


@dataclass
class PortFacts:
    """Neutron's view of a port's DHCP: its network, the network's DHCP ports and their hosts."""

    port: PortInfo
    network: NetworkInfo
    dhcp_ports: list[PortInfo]
    dhcp_hosts: list[str]


@dataclass
class PortPath:
    """The hops to trace, and the port's VIF on br-int of its node (``plan`` None: no VIF there)."""

    plan: dhcp.Plan | None
    vif: tuple[OvsPortInfo, OvsInterfaceInfo] | None
    shown: OvsShowResponse


def port_facts(cloud: OpenStack, port: PortInfo) -> PortFacts:
    """Ask Neutron; a port bound to no host has no path (a usage error, said before any agent is asked)."""
    if not port.binding_host:
        raise UsageError(f"port {port.id} is not bound to a host", "is it plugged into a VM?")
    dhcp_ports = cloud.dhcp_ports(port.network_id)
    return PortFacts(
        port=port,
        network=cloud.network(port.network_id),
        dhcp_ports=dhcp_ports,
        dhcp_hosts=sorted({p.binding_host for p in dhcp_ports if p.binding_host}),
    )


async def plan_path(client: AgentClient, config: ControllerConfig, facts: PortFacts, uplink: str) -> PortPath:
    """The hops of the port's path from Neutron's data and the br-int of the port's node."""
    port = facts.port
    assert port.binding_host  # port_facts refused an unbound port
    if port.vif_type == LINUX_BRIDGE_VIF:  # ML2/Linux bridge: no Open vSwitch on the node to ask
        brq = f"brq{port.network_id[:11]}"
        plan = dhcp.plan(port, facts.network, facts.dhcp_ports, facts.dhcp_hosts, uplink, linux_bridge=brq)
        detail = f"Linux bridge port (binding:vif_type {port.vif_type}): tap in {brq}"
        return PortPath(plan, None, OvsShowResponse(ovs_available=False, detail=detail, verdict=Verdict.SKIPPED))
    shown = await api.ovs_show(client, resolve_node(config, port.binding_host), "br-int")
    found = shown.with_iface_id(port.id)
    if found is None:
        return PortPath(None, None, shown)
    _, ovs_port, iface = found
    plan = dhcp.plan(port, facts.network, facts.dhcp_ports, facts.dhcp_hosts, uplink, ovs_port=ovs_port.name)
    return PortPath(plan, (ovs_port, iface), shown)


async def check_port(
    client: AgentClient, config: ControllerConfig, facts: PortFacts, uplink: str, duration: float
) -> dhcp.Analysis:
    """Plan the hops, run the traces on every node at once, analyse (with what the VIF's tag says)."""
    path = await plan_path(client, config, facts, uplink)
    if path.plan is None:
        shown = path.shown
        return dhcp.Analysis(
            Verdict.FAIL if shown.ovs_available and shown.bridges else Verdict.ERROR,
            f"no interface with external_ids:iface-id={facts.port.id} on br-int of {facts.port.binding_host} "
            f"({shown.detail}): the VM's port is not plugged into Open vSwitch",
            [],
            [],
        )
    nodes = {h.node: resolve_node(config, h.node) for h in path.plan.hops}
    analysis = await dhcp.trace(client, nodes, path.plan, duration)
    if path.vif:
        dhcp.explain_tag(analysis, path.vif[0])
    return analysis
