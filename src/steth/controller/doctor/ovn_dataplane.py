"""Evidence of the ML2/OVN data plane: the path chassis' Open vSwitch and interfaces, the VM's own packet
captured at every hop OVN uses (ovn_path.py plans them; vm_probe.py injects and captures, vm_path.py
tallies), and the DHCP exchange with ovn-controller (`steth check dhcp` on OVN, checks/dhcp_ovn.py).

Each kind is collected once per run, concurrently; the checks (ovn_dpchecks.py) judge them.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from ...wire.models import Interface, OvsShowResponse
from .. import api
from ..checks import dhcp, dhcp_ovn
from ..checks.dhcp_port import PortFacts
from .evidence import KINDS, Gatherer, Kind, PerHost, Unprobed, guarded, nothing
from .ovn_checks import OVN_DB, OvnDb
from .ovn_path import NodeView, OvnPath, gateway_chassis, plan, target_for
from .ovs_evidence import OVS, vif
from .vm_probe import VmProbe, probe_path

DHCP_WINDOW = 4.0  # ovn-controller answers at once (pinctrl); the trace ends SETTLE after the OFFER
DHCP_SETTLE = 0.5


async def _nodes(g: Gatherer) -> PerHost[NodeView]:
    """``ovs show`` and the interfaces of the VM's chassis and of the router's gateway chassis."""
    f = g.f
    if not f.compute:
        return {}
    mine = asyncio.ensure_future(g.on(f.compute, lambda n: api.interfaces(g.client, n)))  # while NB/SB are read
    db = await g.get(OVN_DB)
    hosts = [f.compute]
    if isinstance(db, OvnDb):
        gw = gateway_chassis(f, db.nb, db.sb)
        if gw is not None and (gw.hostname or gw.name) not in hosts:
            hosts.append(gw.hostname or gw.name)
    ovs = await g.get(OVS)
    shown: list[OvsShowResponse | Unprobed] = await asyncio.gather(
        *(_show(g, h, ovs.get(h)) for h in hosts)  # the VM's host's is collected already
    )
    ifaces: list[list[Interface] | Unprobed] = await asyncio.gather(
        mine, *(g.on(h, lambda n: api.interfaces(g.client, n)) for h in hosts[1:])
    )
    out: PerHost[NodeView] = {}
    for h, s, i in zip(hosts, shown, ifaces):
        bad = s if isinstance(s, Unprobed) else i if isinstance(i, Unprobed) else None
        out[h] = bad if bad is not None else NodeView(s, i)  # type: ignore[arg-type]
    return out


async def _show(g: Gatherer, host: str, have: OvsShowResponse | Unprobed | None) -> OvsShowResponse | Unprobed:
    if have is not None:
        return have
    return await g.on(host, lambda n: api.ovs_show(g.client, n))


@dataclass
class OvnProbe:
    path: OvnPath
    probe: VmProbe | Unprobed


async def _vm_probe(g: Gatherer) -> OvnProbe | Unprobed | None:
    """The VM's own packet (ICMP echo, or a TCP SYN for --to ADDRESS:PORT) injected into br-int of its
    chassis as from its port, captured on every hop of the OVN path at once."""
    f = g.f
    fixed = f.fixed_ip
    db = await g.get(OVN_DB)
    if not isinstance(db, OvnDb) or not fixed or ":" in fixed:
        return db if isinstance(db, Unprobed) else None
    t = target_for(f, db.nb, db.sb)
    found = vif(f, await g.get(OVS))
    if t is None or found is None:
        return None
    views = {h: v for h, v in (await g.get(OVN_NODES)).items() if isinstance(v, NodeView)}
    bridge, _port, iface = found
    path = plan(f, db.nb, db.sb, t, iface.name, views)
    return OvnProbe(path, await probe_path(g, t, fixed, path.hops, {"bridge": bridge.name, "ovs_port": iface.name}))


async def _dhcp(g: Gatherer) -> dhcp.Analysis | Unprobed | None:
    """A DISCOVER injected as the VM, its OFFER from ovn-controller captured at the VM's tap."""
    f = g.f
    if f.subnet is None or not f.subnet.enable_dhcp or f.network is None or f.port is None:
        return None
    if g.config.ovn is None:
        return Unprobed("steth.conf has no [ovn] section (nb_connection, sb_connection)")
    facts = PortFacts(f.port, f.network, [], [])
    return await guarded(dhcp_ovn.check_port(g.client, g.config, facts, g.config.ovn, DHCP_WINDOW, DHCP_SETTLE))


OVN_NODES: Kind[PerHost[NodeView]] = KINDS.add(Kind("ovn-nodes", _nodes, dict))
OVN_VM_PROBE: Kind[OvnProbe | Unprobed | None] = KINDS.add(Kind("ovn-vm-probe", _vm_probe, nothing))
OVN_DHCP: Kind[dhcp.Analysis | Unprobed | None] = KINDS.add(Kind("ovn-dhcp", _dhcp, nothing))
