"""The VM's own packet on ML2/OVS with distributed routers: DVR's hop plan, and the forwarding state of the
namespaces where the probe stopped. The probe itself (injection on br-int, captures, verdict) is the OVS
chain's (vm_probe.py, vm_path.py); the DVR chain passes this plan as its Collector of VM_PROBE.

The path, from Neutron (the router is distributed, the port's floating IPs, the SNAT node) and the router
namespaces' routes and links (``fg-``, the ``sg-`` on the VM's subnet, another subnet's ``qr-``):
- the VM's first hop is its own compute node's ``qrouter-`` (``qr-``): the subnet's gateway ends there;
- east-west to another subnet of the router is routed there too (in on ``qr-``, out on the other ``qr-``);
  the reply is routed by the destination's node, so only the VM's hops expect it;
- a floating IP leaves the same node: ``rfp-`` (qrouter-) -> ``fpr-`` (fip-) -> ``fg-`` -> the node's
  external NIC, and the reply comes back the same way;
- everything else goes to the SNAT node: out of ``qr-`` again toward the ``sg-`` port, over the tunnel (or
  VLAN) from the compute node's uplink to the network node's, ``sg-`` -> ``qg-`` in ``snat-`` -> the
  network node's external NIC; the reply comes back from ``sg-`` straight to the VM (not through ``qr-``).

An agent holds 4 captures by default (``--capture-max-concurrent``), one of them the VM's tap while its
spoofing check runs: a plan with more hops on a node waits for that check, and keeps at most 4 per node,
dropping the hops least needed to place a loss (SPARE).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ...wire.models import Verdict
from ...wire.vmprobe import RouterState
from .. import api
from ..config_model import NodeConfig
from .dvr_evidence import fip_ns, qrouter_ns, snat_host, snat_ns, uses_fip
from .evidence import KINDS, Collector, Gatherer, Kind, Unprobed
from .facts import Facts
from .ovs_evidence import OVS, VM_FRAMES, uplink
from .vm_checks import route_to
from .vm_path import PathHop
from .vm_probe import VM_PROBE, Entry, RouterForwarding, Target, VmProbe, external_nic, injection, own_packet

CAPTURES_PER_AGENT = 4  # the agent's default --capture-max-concurrent
# dropped first when a node has more hops than captures, in this order: the rfp-/fpr- pair (both namespaces'
# state is read when the probe stops between qr- and fg-), then a hybrid plug's qvo (the tap sees the reply,
# qr- the request)
SPARE = ("rfp", "fpr", "qvo")


def _dev(st: RouterState | None, prefix: str, cidr: str | None = None) -> str | None:
    """The interface named ``prefix``... of a namespace: the one its route to ``cidr`` leaves by, else its
    first link so named."""
    if st is None or not st.exists or st.verdict != Verdict.OK:
        return None
    if cidr is not None:
        for r in st.routes:
            parts = r.split()
            dev = parts[parts.index("dev") + 1] if "dev" in parts[:-1] else ""
            if parts[0] == cidr and dev.startswith(prefix):
                return dev
        return None
    return next((n for n in sorted(st.links) if n.startswith(prefix)), None)


def _other_qr(st: RouterState | None, own: str, address: str) -> str | None:
    """Another qr- of the router namespace whose subnet holds ``address`` (east-west), or None."""
    if st is None or not st.exists or st.verdict != Verdict.OK:
        return None
    route = route_to(st, address)
    parts = route.split() if route else []
    dev = parts[parts.index("dev") + 1] if "dev" in parts[:-1] else ""
    return dev if dev.startswith("qr-") and dev != own else None


def dvr_hops(f: Facts, t: Target, states: dict[str, RouterState | None], ext_nic: dict[str, str | None],
             uplinks: dict[str, str]) -> list[PathHop]:  # fmt: skip
    """The hops after the VM's own (tap, qvo), in the request's order. ``states``: the router's namespaces
    (qrouter- and fip- of the compute node, snat- of the SNAT node) by name; ``ext_nic``/``uplinks``: by host."""
    assert f.router is not None and f.router_port is not None
    compute = f.compute or ""
    qns, qr = qrouter_ns(f), f"qr-{f.router_port.id[:11]}"
    external_ip = t.address in f.router.gateway_ips  # on qg- in snat-: reached as SNAT'ed traffic is
    if not t.beyond_router and not external_ip:  # the router's own qr- address: the compute node's qr- answers
        return [PathHop(compute, "qr", qr, qns)]
    other = _other_qr(states.get(qns), qr, t.address)
    if other is not None:  # east-west: routed here; the reply is routed on the destination's node
        return [PathHop(compute, "qr", qr, qns, reply=False), PathHop(compute, "qr-out", other, qns, reply=False)]
    rid = f.router.id[:11]
    if uses_fip(f) and not external_ip:
        fns = fip_ns(f)
        hops = [
            PathHop(compute, "qr", qr, qns),
            PathHop(compute, "rfp", f"rfp-{rid}", qns),
            PathHop(compute, "fpr", f"fpr-{rid}", fns),
        ]
        fg = _dev(states.get(fns), "fg-")
        if fg:
            hops.append(PathHop(compute, "fg", fg, fns))
        if ext_nic.get(compute):
            hops.append(PathHop(compute, "external", ext_nic[compute] or ""))
        return hops
    hops = [PathHop(compute, "qr", qr, qns, reply=False)]  # in and out of qr-, toward sg-
    snat = snat_host(f)
    if not snat:
        return hops
    if snat != compute:
        hops.append(PathHop(compute, "compute-uplink", uplinks.get(compute, "eth1")))
        hops.append(PathHop(snat, "network-uplink", uplinks.get(snat, "eth1")))
    sns = snat_ns(f)
    sg = _dev(states.get(sns), "sg-", f.subnet.cidr if f.subnet else None)
    if sg:
        hops.append(PathHop(snat, "sg", sg, sns))
    if f.gateway_port is not None:
        hops.append(PathHop(snat, "qg", f"qg-{f.gateway_port.id[:11]}", sns))
    if ext_nic.get(snat) and not external_ip:
        hops.append(PathHop(snat, "external", ext_nic[snat] or ""))
    return hops


def fit(hops: list[PathHop], budget: dict[str, int]) -> list[PathHop]:
    """At most ``budget[node]`` hops per node: the SPARE ones go first."""
    keep = list(hops)
    for name in SPARE:
        per = Counter(h.node for h in keep)
        keep = [h for h in keep if not (h.name == name and per[h.node] > budget.get(h.node, CAPTURES_PER_AGENT))]
    return keep


async def _states(g: Gatherer) -> dict[str, RouterState | None]:
    """The router's namespaces on the path (one namespace each: quicker than listing a node's namespaces)."""
    f = g.f
    where = [(f.compute, qrouter_ns(f)), (f.compute, fip_ns(f)) if uses_fip(f) else (snat_host(f), snat_ns(f))]

    def state_of(ns: str) -> Callable[[NodeConfig], Awaitable[RouterState]]:
        return lambda node: api.router_state(g.client, node, ns)

    got = await asyncio.gather(*(g.on(h, state_of(ns)) for h, ns in where))
    return {ns: st if isinstance(st, RouterState) else None for (_, ns), st in zip(where, got)}


async def _dvr_plan(g: Gatherer, t: Target) -> tuple[list[PathHop], Entry]:
    f = g.f
    ovs, states = await asyncio.gather(g.get(OVS), _states(g))
    first, entry = injection(f, ovs)
    hosts = [h for h in dict.fromkeys([f.compute, snat_host(f)]) if h]
    rest = dvr_hops(f, t, states, {h: external_nic(f, ovs, h) for h in hosts}, {h: uplink(f, ovs, h) for h in hosts})
    hops = first + rest
    budget = {h: CAPTURES_PER_AGENT for h in hosts}
    if sum(h.node == f.compute for h in hops) >= CAPTURES_PER_AGENT:
        await g.get(VM_FRAMES)  # the spoofing check's capture of the tap ends first (3 s, run at once)
    return fit(hops, budget), entry


async def _dvr_vm_probe(g: Gatherer) -> VmProbe | Unprobed | None:
    if g.f.router is None or g.f.router_port is None:  # no router: to the DHCP server, as on ML2/OVS
        return await VM_PROBE.collect(g)
    return await own_packet(g, _dvr_plan)


@dataclass
class NsForwarding:
    node: str
    netns: str
    forwarding: RouterForwarding


def stopped_in(p: VmProbe) -> list[tuple[str, str]]:
    """(node, namespace) of the hops around where the probe stopped (the last that saw it, the first that did
    not), request first; empty when it went through."""
    v = p.verdict
    if v.ok:
        return []
    around = [v.last_request, v.lost_request] if v.lost_request else [v.last_reply, v.lost_reply]
    if not v.lost_request and not v.lost_reply:  # no reply at all: the egress namespace is the last one
        around = [v.last_request]
    out: list[tuple[str, str]] = []
    for h in around:
        if h is not None and h.netns and (h.node, h.netns) not in out:
            out.append((h.node, h.netns))
    return out


async def _ns_forwarding(g: Gatherer) -> list[NsForwarding]:
    """ip_forward, routes, links and filter table of the namespaces where the VM's own packet stopped."""
    probe = await g.get(VM_PROBE)
    if not isinstance(probe, VmProbe):
        return []

    async def one(node: str, ns: str) -> NsForwarding:
        state, filt = await asyncio.gather(
            g.on(node, lambda n: api.router_state(g.client, n, ns)),
            g.on(node, lambda n: api.iptables(g.client, n, ns, "filter")),
        )
        return NsForwarding(node, ns, RouterForwarding(state, filt))

    return list(await asyncio.gather(*(one(n, ns) for n, ns in stopped_in(probe))))


NS_FORWARDING: Kind[list[NsForwarding]] = KINDS.add(Kind("dvr_ns_forwarding", _ns_forwarding, list))
VM_PROBE_DVR = Collector(VM_PROBE, _dvr_vm_probe)  # the DVR chain's way to plan the VM's own packet
