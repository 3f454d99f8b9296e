"""Which hops the VM's own packet crosses on ML2/OVN, worked out from Neutron's facts and OVN's databases.

OVN routes in a distributed logical router on the VM's own chassis: an echo to the router's own
addresses is answered there (measured on the lab: nothing leaves the compute node). A packet leaves
the chassis when it is routed out of the router's gateway port, whose chassisredirect port
(``cr-lrp-...``) is bound to one gateway chassis (Gateway_Chassis / HA_Chassis_Group, SB Port_Binding):
it crosses the tenant network to that chassis (Geneve, UDP 6081, between the two chassis' encap IPs;
or the physnet's VLAN for a VLAN network), is NATed there and leaves on the NIC of the bridge its
``ovn-bridge-mappings`` give the external network's physnet. A distributed floating IP (NAT row with
``external_mac`` and ``logical_port``) leaves from the VM's own chassis instead.

Pure: the evidence (NB/SB snapshot, each path node's ``ovs show`` and interfaces) comes in, the plan
goes out (ovn_dataplane.py collects and judges).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ...openstack.ovn_model import Chassis, Nat, NbSnapshot, SbSnapshot
from ...wire.models import Interface, OvsShowResponse
from .facts import Facts
from .vm_path import PathHop
from .vm_probe import Target, target_of

GENEVE_UDP = 6081


@dataclass
class NodeView:
    """What a chassis host's agent showed: its Open vSwitch and its interfaces."""

    ovs: OvsShowResponse
    interfaces: list[Interface] = field(default_factory=list)

    def mappings(self) -> dict[str, str]:
        """physnet -> bridge, from ovn-bridge-mappings in the Open_vSwitch row's external_ids."""
        text = self.ovs.system_ids.get("ovn-bridge-mappings", "")
        pairs = (p.split(":", 1) for p in text.split(",") if ":" in p)
        return {k.strip(): v.strip() for k, v in pairs}

    def bridge_nics(self, bridge: str | None) -> list[str]:
        br = self.ovs.bridge(bridge) if bridge else None
        return br.nics()[0] if br else []

    def interface(self, name: str | None) -> Interface | None:
        return next((i for i in self.interfaces if i.name == name), None)

    def encap_nic(self) -> str | None:
        """The NIC carrying ovn-encap-ip: the interface holding the address, or the NIC of the OVS bridge
        whose internal port holds it (the lab's br-tenant on eth1)."""
        ip = self.ovs.system_ids.get("ovn-encap-ip", "")
        holder = next((i for i in self.interfaces if any(a.address == ip for a in i.addresses)), None)
        if holder is None:
            return None
        nics = self.bridge_nics(holder.name)
        return nics[0] if nics else holder.name

    def physnet_nic(self, physnet: str | None) -> str | None:
        nics = self.bridge_nics(self.mappings().get(physnet or ""))
        return nics[0] if nics else None


@dataclass
class OvnPath:
    """The plan of one probe: where it goes, its hops in the request's order, and the facts they rest on."""

    target: Target
    compute: str
    transport: str  # geneve | vlan | flat | local (never leaves the VM's chassis)
    hops: list[PathHop]
    gateway_host: str | None = None  # the gateway chassis' host, when the packet goes there
    encap: dict[str, str] = field(default_factory=dict)  # host -> its chassis' encap IP (Geneve)
    distributed_fip: Nat | None = None
    notes: list[str] = field(default_factory=list)  # why a hop is not watched


def chassis_of(sb: SbSnapshot, host: str) -> Chassis | None:
    return next((c for c in sb.chassis.values() if c.hostname == host or c.name == host), None)


def gateway_chassis(f: Facts, nb: NbSnapshot, sb: SbSnapshot) -> Chassis | None:
    """The chassis the router's gateway port is bound to (its cr-lrp Port_Binding), if any."""
    if f.router is None:
        return None
    lr = nb.routers.get(f"neutron-{f.router.id}")
    for name in lr.ports if lr else ():
        lrp = nb.router_ports.get(name)
        if lrp is None or not lrp.gateway_chassis:
            continue
        pb = sb.port_bindings.get(f"cr-{lrp.name}")
        if pb is not None and pb.chassis:
            return sb.chassis.get(pb.chassis)
    return None


def distributed_fip(f: Facts, nb: NbSnapshot) -> Nat | None:
    """The VM's floating IP's NAT row when it is distributed (external_mac and logical_port set)."""
    if f.router is None or f.port is None:
        return None
    lr = nb.routers.get(f"neutron-{f.router.id}")
    for n in lr.nat if lr else ():
        if n.type == "dnat_and_snat" and n.logical_port == f.port.id and n.external_mac:
            return n
    return None


def router_addresses(f: Facts, nb: NbSnapshot) -> set[str]:
    """Every address of the VM's router (its LRPs' networks): OVN answers them on the VM's chassis."""
    out = set(f.router_port.ips if f.router_port else []) | set(f.router.gateway_ips if f.router else [])
    lr = nb.routers.get(f"neutron-{f.router.id}") if f.router else None
    for name in lr.ports if lr else ():
        lrp = nb.router_ports.get(name)
        out |= {n.split("/")[0] for n in (lrp.networks if lrp else ())}
    return out


def target_for(f: Facts, nb: NbSnapshot, sb: SbSnapshot) -> Target | None:
    """``--to``, else the external subnet's gateway when the router's gateway is on another chassis (the
    router's own addresses are answered on the VM's chassis and prove nothing beyond it), else the subnet's
    gateway (the distributed router on the VM's own chassis)."""
    if f.to is None and f.router_port is not None and f.external_subnet and f.external_subnet.gateway_ip:
        gw = gateway_chassis(f, nb, sb)
        if gw is not None and gw.hostname != f.compute and gw.name != f.compute:
            why = f"the router's upstream gateway (through gateway chassis {gw.name})"
            return Target(f.external_subnet.gateway_ip, None, why, True, True, f.router_port.mac_address)
    t = target_of(f)
    if t is not None and t.address in router_addresses(f, nb):
        t.beyond_router = False  # answered by the router pipeline on the VM's chassis
    return t


def plan(f: Facts, nb: NbSnapshot, sb: SbSnapshot, t: Target, vif: str, views: dict[str, NodeView]) -> OvnPath:
    """The hops of the probe in the request's order (the VM's tap sees only the reply: the probe is
    injected into br-int as from it)."""
    compute = f.compute or ""
    seg = f.segment
    ntype = seg.network_type if seg else "geneve"
    path = OvnPath(t, compute, "local", [PathHop(compute, "vm-tap", vif, request=False)])
    if not t.beyond_router:
        return path
    mine = views.get(compute)
    fip = path.distributed_fip = distributed_fip(f, nb)
    ext_physnet = (
        f.external_network.segment.physical_network if f.external_network and f.external_network.segment else None
    )
    if fip is not None:  # out of the VM's own chassis, on its external bridge
        nic = mine.physnet_nic(ext_physnet) if mine else None
        if nic:
            path.hops.append(PathHop(compute, "external", nic))
        else:
            path.notes.append(f"{compute} maps no NIC to the external physnet {ext_physnet}")
        return path
    gw = gateway_chassis(f, nb, sb)
    if gw is None:
        path.notes.append("the router's gateway port is bound to no chassis")
        return path
    host = gw.hostname or gw.name
    path.gateway_host = host
    theirs = views.get(host)
    if host != compute:
        path.transport = "geneve" if ntype in ("geneve", "vxlan") else ntype
        if path.transport == "geneve":
            me, them = chassis_of(sb, compute), gw
            path.encap = {h: c.encaps[0].ip for h, c in ((compute, me), (host, them)) if c is not None and c.encaps}
            nics = (mine.encap_nic() if mine else None, theirs.encap_nic() if theirs else None)
        else:
            physnet = seg.physical_network if seg else None
            nics = (mine.physnet_nic(physnet) if mine else None, theirs.physnet_nic(physnet) if theirs else None)
        for node, name, nic in ((compute, "compute-uplink", nics[0]), (host, "gateway-uplink", nics[1])):
            if nic:
                ends = frozenset({path.encap[node]}) if node in path.encap else frozenset()
                path.hops.append(PathHop(node, name, nic, endpoints=ends))
            else:
                path.notes.append(f"no uplink NIC of {node} for the {path.transport} network found")
    nic = theirs.physnet_nic(ext_physnet) if theirs else None
    if nic:
        path.hops.append(PathHop(host, "external", nic))
    else:
        path.notes.append(f"{host} maps no NIC to the external physnet {ext_physnet}")
    return path
