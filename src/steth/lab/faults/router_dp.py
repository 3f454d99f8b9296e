"""Fault kinds of the router's forwarding (inside ``qrouter-``) and of the network node's side of a tenant
network (its ports on br-int): the breaks that look perfect from inside the router, made as an operator
or a broken agent would, each undone exactly."""

from __future__ import annotations

import json

from ...errors import LabError
from ...host import proc, undo
from .neutron_base import api, claim, conn, neutron_network, router_rec, vsctl
from .registry import FaultContext, kind

MARK = "steth-lab-fault"  # the comment on the iptables rule a fault adds


def _ns(ctx: FaultContext) -> str:
    return f"qrouter-{router_rec(ctx).id}"


def network_node(ctx: FaultContext) -> str:
    return next(n.name for n in ctx.topo.nodes if n.role == "network")


@kind(
    "router-no-forward",
    "set net.ipv4.ip_forward=0 in the router's namespace: it still answers pings itself, routes nothing",
    params=(),
    area="neutron",
)
def _no_forward(ctx: FaultContext) -> str:
    ns = _ns(ctx)
    claim(ctx, f"{ns} ip_forward")
    ctx.record(undo.argv(["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"], ns))
    ctx.run(["sysctl", "-q", "-w", "net.ipv4.ip_forward=0"], ns)
    return f"net.ipv4.ip_forward=0 in {ns}"


@kind(
    "router-route-removed",
    "delete the default route in the router's namespace (the L3 agent's route via the external gateway)",
    params=(),
    area="neutron",
)
def _route_removed(ctx: FaultContext) -> str:
    ns = _ns(ctx)
    claim(ctx, f"{ns} default route")
    got = proc.run(["ip", "-j", "-4", "route", "show", "default"], netns=ns, timeout=15)
    routes = json.loads(got.stdout or "[]") if got.returncode == 0 else []
    if not routes or not routes[0].get("gateway"):
        raise LabError(f"no default route in {ns}", "the router has no gateway, or the L3 agent has not built it")
    gw, dev = routes[0]["gateway"], routes[0]["dev"]
    ctx.record(undo.argv(["ip", "route", "replace", "default", "via", gw, "dev", dev], ns))
    ctx.run(["ip", "route", "del", "default", "via", gw, "dev", dev], ns)
    return f"default route via {gw} dev {dev} deleted in {ns}"


@kind(
    "router-forward-drop",
    "insert a DROP at the top of the FORWARD chain in the router's namespace (a stray firewall rule)",
    params=(),
    area="neutron",
)
def _forward_drop(ctx: FaultContext) -> str:
    ns = _ns(ctx)
    claim(ctx, f"{ns} FORWARD")
    spec = ["FORWARD", "-m", "comment", "--comment", MARK, "-j", "DROP"]
    ctx.record(undo.argv(["iptables", "-D", *spec], ns))
    ctx.run(["iptables", "-I", spec[0], "1", *spec[1:]], ns)
    ctx.run(["conntrack", "-F"], ns)  # flows already forwarded would go on otherwise
    return f"DROP inserted at the top of FORWARD in {ns}"


@kind(
    "router-gateway-down",
    "take the router's gateway interface (qg-) down inside its namespace",
    params=(),
    area="neutron",
)
def _gateway_down(ctx: FaultContext) -> str:
    ns = _ns(ctx)
    net = conn(ctx).network
    router_id = router_rec(ctx).id
    gws = list(
        api("listing the router's gateway port", net.ports, device_id=router_id, device_owner="network:router_gateway")
    )
    if not gws:
        raise LabError(f"router {router_id} has no gateway port", "remove the router-gateway-removed fault first")
    ifname = f"qg-{gws[0].id[:11]}"
    claim(ctx, f"{ns} {ifname}")
    ctx.record(undo.argv(["ip", "route", "replace", "default", "via", _gateway_ip(ctx, ns), "dev", ifname], ns))
    ctx.record(undo.link_set(ifname, ns, state="up"))
    ctx.set_link(ns, ifname, state="down")
    return f"{ifname} down in {ns} (its routes go with it; put back on removal)"


def _gateway_ip(ctx: FaultContext, ns: str) -> str:
    got = proc.run(["ip", "-j", "-4", "route", "show", "default"], netns=ns, timeout=15)
    routes = json.loads(got.stdout or "[]") if got.returncode == 0 else []
    if not routes or not routes[0].get("gateway"):
        raise LabError(f"no default route in {ns}", "remove the router-route-removed fault first")
    return str(routes[0]["gateway"])


def _network_port(ctx: FaultContext, owner: str) -> tuple[str, str]:
    """(port id, its interface name on the network node's br-int) of the --network's DHCP or router port."""
    net_id = neutron_network(ctx)
    query = {"network_id": net_id, "device_owner": owner}
    if owner.startswith("network:router_interface"):
        query["device_id"] = router_rec(ctx).id
    ports = list(api(f"listing the {owner} port of network {net_id}", conn(ctx).network.ports, **query))
    if not ports:
        raise LabError(f"network {ctx.params['network']} has no {owner} port")
    pid = ports[0].id
    return pid, ("tap" if owner == "network:dhcp" else "qr-") + pid[:11]


@kind(
    "router-port-wrong-tag",
    "give the router's qr- port of a tenant network (--network vlan|vxlan) a wrong local VLAN tag on the "
    "network node's br-int (--tag, default 4093)",
    params=("network",),
    optional=("tag",),
    area="neutron",
)
def _router_port_wrong_tag(ctx: FaultContext) -> str:
    _pid, port = _network_port(ctx, "network:router_interface")
    node = network_node(ctx)
    cmd = vsctl(ctx, node)
    new = int(ctx.params.get("tag") or 4093)
    claim(ctx, f"{node} {port} tag")
    old = proc.run([*cmd, "get", "Port", port, "tag"], timeout=15).stdout.strip()
    if not old.isdigit():
        raise LabError(f"{port} on {node} has no tag to change", "is the L3 agent's router built?")
    ctx.record(undo.argv([*cmd, "set", "Port", port, f"tag={old}"]))
    ctx.run([*cmd, "set", "Port", port, f"tag={new}"], None)
    return f"{port} tag {old} -> {new} on {node}'s br-int"


@kind(
    "dhcp-port-unplugged",
    "clear the iface-id of a tenant network's DHCP port (--network vlan|vxlan) on the network node's br-int: "
    "the OVS agent no longer wires it",
    params=("network",),
    area="neutron",
)
def _dhcp_port_unplugged(ctx: FaultContext) -> str:
    pid, iface = _network_port(ctx, "network:dhcp")
    node = network_node(ctx)
    cmd = vsctl(ctx, node)
    claim(ctx, f"{node} {iface} iface-id")
    ctx.record(undo.argv([*cmd, "set", "Interface", iface, f"external_ids:iface-id={pid}"]))
    ctx.run([*cmd, "remove", "Interface", iface, "external_ids", "iface-id"], None)
    return f"external_ids:iface-id of {iface} cleared on {node}'s br-int (port {pid})"
