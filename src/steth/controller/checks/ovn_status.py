"""`steth ovn status`: the health of an OVN control plane from what its databases say.

Pure analysis of a cluster view and NB/SB snapshots (openstack/ovn_model.py) into findings:
NB and SB cluster health per member, ovn-northd active (it holds the SB lock ``ovn_northd``, and
NB_Global.nb_cfg reaches SB_Global),
every chassis registered once and alive (Chassis_Private.nb_cfg keeping up), its encapsulation IPs,
and every router gateway port bound to a live gateway chassis.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...openstack.ovn_model import ClusterMember, NbSnapshot, SbSnapshot
from ...openstack.ovn_northd import LOCK, NorthdLock
from ...wire.models import OvsShowResponse, Verdict

MAX_INDEX_LAG = 50  # log entries a member may trail the leader before it is called behind


@dataclass(frozen=True)
class Finding:
    check: str  # cluster-nb, cluster-sb, northd, chassis, encap, gateway, read
    subject: str  # member remote, chassis name, router port
    verdict: Verdict
    evidence: str


def cluster(db: str, members: list[ClusterMember]) -> list[Finding]:
    """One finding per member and one for the cluster: a single leader, a quorum, members in step."""
    check = f"cluster-{db}"
    out: list[Finding] = []
    reachable = [m for m in members if m.reachable]
    leaders = [m for m in reachable if m.leader and m.connected]
    lead_index = leaders[0].index if len(leaders) == 1 else None
    for m in members:
        if not m.reachable:
            out.append(Finding(check, m.remote, Verdict.FAIL, f"unreachable: {m.error}"))
            continue
        if m.error:
            out.append(Finding(check, m.remote, Verdict.FAIL, m.error))
            continue
        role = "leader" if m.leader else "follower"
        lag = lead_index - m.index if lead_index is not None and m.index is not None else None
        text = f"{m.model}, {role}, {'connected' if m.connected else 'NOT connected to its cluster'}, index {m.index}"
        text += f" (leader's {lead_index}, lag {lag})" if lag else ""
        text += f", sid {m.sid[:8]}, cid {m.cid[:8]}" if m.sid else ""
        bad = not m.connected or (lag is not None and lag > MAX_INDEX_LAG)
        out.append(Finding(check, m.remote, Verdict.FAIL if bad else Verdict.OK, text))
    cids = {m.cid for m in reachable if m.cid}
    quorum = len(members) // 2 + 1
    connected = [m for m in reachable if m.connected]
    if len(cids) > 1:
        verdict, text = Verdict.FAIL, f"the members belong to {len(cids)} different clusters: {', '.join(sorted(cids))}"
    elif len(leaders) != 1:
        verdict = Verdict.FAIL
        text = f"{len(leaders)} leaders among {len(members)} members ({len(reachable)} reachable)"
    elif len(connected) < quorum:
        verdict, text = Verdict.FAIL, f"only {len(connected)} of {len(members)} members connected (quorum {quorum})"
    else:
        verdict = Verdict.OK
        text = f"leader {leaders[0].remote}, {len(connected)} of {len(members)} members connected (quorum {quorum})"
    if len(members) == 1 and members[0].model == "standalone" and members[0].reachable:
        verdict, text = Verdict.OK, "standalone database (not clustered)"
    out.append(Finding(check, "cluster", verdict, text))
    return out


def northd(
    before: tuple[NbSnapshot, SbSnapshot],
    after: tuple[NbSnapshot, SbSnapshot],
    settle: float,
    lock: NorthdLock | None = None,
) -> Finding:
    """ovn-northd is proven active by the SB leader refusing steth its lock ``ovn_northd`` (another client,
    the active northd, holds it), or by NB_Global.nb_cfg reaching SB_Global during the check. When neither
    was seen -- the lock could not be asked and nothing moved -- it is "not proven", never "active"."""
    nb, sb = after
    want = nb.nb_global.nb_cfg
    caught_up = sb.nb_cfg >= want and nb.nb_global.sb_cfg >= want
    text = f"NB_Global.nb_cfg {want}, SB_Global.nb_cfg {sb.nb_cfg}, NB_Global.sb_cfg {nb.nb_global.sb_cfg}"
    if lock is not None and lock.held is False:
        return Finding(
            "northd",
            "ovn-northd",
            Verdict.FAIL,
            f"no ovn-northd is active: the SB leader {lock.remote} granted steth the lock '{LOCK}', which an "
            f"active northd would hold (steth gave it back at once); {text}",
        )
    if not caught_up:
        return Finding(
            "northd",
            "ovn-northd",
            Verdict.FAIL,
            f"no ovn-northd is translating NB to SB: {text}"
            + (f" after {settle:g} s (before: SB_Global.nb_cfg {before[1].nb_cfg})" if settle else ""),
        )
    if lock is not None and lock.held:
        return Finding(
            "northd",
            "ovn-northd",
            Verdict.OK,
            f"active: an ovn-northd holds the lock '{LOCK}' on the SB leader {lock.remote}; {text}",
        )
    moved = before[1].nb_cfg < sb.nb_cfg or before[1].nb_cfg < before[0].nb_global.nb_cfg
    if moved:
        return Finding("northd", "ovn-northd", Verdict.OK, f"active: nb_cfg reached SB during the check; {text}")
    why = f"the lock '{LOCK}' could not be asked ({lock.error})" if lock is not None else "the lock was not asked"
    return Finding(
        "northd",
        "ovn-northd",
        Verdict.WARN,
        f"not proven: {why}, and nothing changed in NB during the check ({text}); "
        "Neutron bumps nb_cfg at most every agent_down_time/2 s",
    )


def chassis(nb: NbSnapshot, sb: SbSnapshot) -> list[Finding]:
    """Every chassis once (no two per hostname, a Chassis_Private each), alive, with its encapsulations."""
    out: list[Finding] = []
    by_host: dict[str, list[str]] = {}
    for c in sb.chassis.values():
        by_host.setdefault(c.hostname or c.name, []).append(c.name)
    encap_owner: dict[str, list[str]] = {}
    for c in sb.chassis.values():
        for e in c.encaps:
            encap_owner.setdefault(e.ip, []).append(c.name)
    target = sb.nb_cfg
    for c in sorted(sb.chassis.values(), key=lambda c: c.name):
        problems = []
        twins = [n for n in by_host[c.hostname or c.name] if n != c.name]
        if twins:
            problems.append(f"hostname {c.hostname} is also chassis {', '.join(twins)} (stale or duplicate system-id)")
        priv = sb.chassis_private.get(c.name)
        if priv is None:
            problems.append("no Chassis_Private row: its ovn-controller never reported")
            alive = "?"
        else:
            lag = target - priv.nb_cfg
            alive = f"nb_cfg {priv.nb_cfg} of {target}"
            if lag > 0:
                problems.append(f"Chassis_Private.nb_cfg {priv.nb_cfg} behind SB_Global.nb_cfg {target}: not alive")
        encaps = ", ".join(f"{e.type} {e.ip}" for e in c.encaps) or "none"
        if not c.encaps:
            problems.append("no Encap: no tunnel reaches it")
        for e in c.encaps:
            if len(set(encap_owner[e.ip])) > 1:
                others = sorted(set(encap_owner[e.ip]) - {c.name})
                problems.append(f"encap IP {e.ip} also used by {', '.join(others)}")
        role = "gateway" if c.is_gateway() else "chassis"
        maps = ",".join(f"{k}:{v}" for k, v in sorted(c.bridge_mappings().items())) or "no bridge mappings"
        text = f"{role}, hostname {c.hostname}, {alive}, encap {encaps}, {maps}"
        if problems:
            out.append(Finding("chassis", c.name, Verdict.FAIL, f"{'; '.join(problems)} ({text})"))
        else:
            out.append(Finding("chassis", c.name, Verdict.OK, text))
    orphans = sorted(set(sb.chassis_private) - set(sb.chassis))
    for name in orphans:
        out.append(Finding("chassis", name, Verdict.FAIL, "Chassis_Private without a Chassis row (stale)"))
    if not sb.chassis:
        out.append(Finding("chassis", "-", Verdict.FAIL, "no chassis registered in the Southbound DB"))
    return out


def alive_chassis(sb: SbSnapshot) -> set[str]:
    return {n for n, p in sb.chassis_private.items() if n in sb.chassis and p.nb_cfg >= sb.nb_cfg}


def gateways(nb: NbSnapshot, sb: SbSnapshot) -> list[Finding]:
    """Every router port with gateway chassis: its chassisredirect binding on a live gateway chassis."""
    out = []
    alive = alive_chassis(sb)
    gw_ports = {
        f"lrp-{lr.external_ids['neutron:gw_port_id']}"
        for lr in nb.routers.values()
        if lr.external_ids.get("neutron:gw_port_id")
    }
    for name in sorted(gw_ports - set(nb.router_ports)):
        out.append(
            Finding("gateway", name, Verdict.FAIL, "the router's gateway port (neutron:gw_port_id) is not in NB")
        )
    for lrp in sorted(nb.router_ports.values(), key=lambda p: p.name):
        if not lrp.gateway_chassis:
            if lrp.name in gw_ports:
                text = "no Gateway_Chassis: the router's SNAT and floating IPs are hosted by no chassis"
                out.append(Finding("gateway", f"{lrp.name} ({lrp.router})", Verdict.FAIL, text))
            continue
        names = [g.chassis_name for g in lrp.gateway_chassis]
        listed = ", ".join(f"{g.chassis_name} (prio {g.priority})" for g in lrp.gateway_chassis)
        pb = sb.port_bindings.get(f"cr-{lrp.name}")
        bound = pb.chassis if pb else ""
        subject = f"{lrp.name} ({lrp.router})"
        if not any(n in sb.chassis for n in names):
            out.append(Finding("gateway", subject, Verdict.FAIL, f"none of its gateway chassis exist: {listed}"))
        elif pb is None:
            out.append(Finding("gateway", subject, Verdict.FAIL, f"no cr-{lrp.name} Port_Binding in SB; {listed}"))
        elif not bound:
            out.append(Finding("gateway", subject, Verdict.FAIL, f"cr-{lrp.name} is bound to no chassis; {listed}"))
        elif bound not in alive:
            out.append(Finding("gateway", subject, Verdict.FAIL, f"bound to {bound}, which is not alive; {listed}"))
        elif bound not in names:
            out.append(Finding("gateway", subject, Verdict.FAIL, f"bound to {bound}, not a gateway chassis: {listed}"))
        else:
            text = f"bound to {bound} (alive); gateway chassis {listed}"
            out.append(Finding("gateway", subject, Verdict.OK, text))
    return out


def chassis_ovs(sb: SbSnapshot, shows: dict[str, tuple[OvsShowResponse | None, str]]) -> list[Finding]:
    """Per chassis read through its steth-agent (name -> (ovs show, error)): every bridge of its bridge
    mappings exists with a NIC, and br-int has a tunnel port to every other chassis' encap IP."""
    out: list[Finding] = []
    for name, (show, error) in sorted(shows.items()):
        c = sb.chassis.get(name)
        if c is None:
            continue
        if show is None:
            out.append(Finding("chassis-ovs", name, Verdict.ERROR, f"its OVS could not be read: {error}"))
            continue
        problems, seen = [], []
        sid = show.system_ids.get("system-id", "")
        if sid and sid != name:
            held = "; its Encap keeps the new one from registering" if sid not in sb.chassis else ""
            problems.append(f"its OVS now has system-id {sid}: chassis {name} is stale{held}")
        for physnet, bridge in sorted(c.bridge_mappings().items()):
            b = show.bridge(bridge)
            if b is None:
                problems.append(f"bridge {bridge} of {physnet} does not exist")
                continue
            good, broken = b.nics()
            if not good:
                problems.append(
                    f"bridge {bridge} of {physnet} has no NIC{' (' + ', '.join(broken) + ')' if broken else ''}"
                )
            else:
                seen.append(f"{physnet}:{bridge} ({', '.join(good)})")
        remotes = set(show.tunnel_ofports())
        want = {e.ip: o.name for o in sb.chassis.values() if o.name != name for e in o.encaps}
        missing = sorted(f"{ip} ({owner})" for ip, owner in want.items() if ip not in remotes)
        if missing:
            problems.append(f"no tunnel port on its OVS to {', '.join(missing)}")
        if down := bfd_down(show, want):
            problems.append(f"tunnels with BFD not up: {'; '.join(down)}")
        text = f"mappings {', '.join(seen) or 'none'}; tunnels to {len(want) - len(missing)} of {len(want)} chassis"
        out.append(
            Finding(
                "chassis-ovs",
                name,
                Verdict.FAIL if problems else Verdict.OK,
                f"{'; '.join(problems)} ({text})" if problems else text,
            )
        )
    return out


def bfd_down(show: OvsShowResponse, want: dict[str, str]) -> list[str]:
    """The tunnels toward ``want`` (remote encap IP -> chassis) whose BFD is on and not up, each as
    "chassis (ip): BFD state, diagnostic". ovn-controller turns BFD on toward gateway chassis."""
    return [
        f"{want[ip]} ({ip}): BFD {i.bfd_status.get('state', 'no state')}"
        + (f", {i.bfd_status['diagnostic']}" if i.bfd_status.get("diagnostic") else "")
        for ip, i in sorted(show.tunnel_interfaces().items())
        if ip in want and i.bfd.get("enable") == "true" and i.bfd_status.get("state") != "up"
    ]
