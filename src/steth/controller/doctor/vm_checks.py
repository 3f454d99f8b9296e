"""The VM's own packet as a check (the chain's proof), and what the router namespace's state explains:
a router that receives on qr- and sends nothing on qg- is named with its ip_forward, routes and FORWARD."""

from __future__ import annotations

import ipaddress
from typing import ClassVar

from ...wire.models import IptablesResponse, Verdict
from ...wire.vmprobe import RouterState
from .evidence import Evidence, Kind, Unprobed
from .facts import Facts
from .model import CheckResult
from .ns_evidence import qrouter
from .registry import Check, check
from .vm_path import PathHop, PathVerdict
from .vm_probe import ROUTER_FORWARDING, VM_PROBE, RouterForwarding, VmProbe


def route_to(state: RouterState, address: str) -> str | None:
    """The namespace's route that carries ``address`` (longest prefix), as text, or None."""
    ip = ipaddress.ip_address(address)
    best: tuple[int, str] | None = None
    for r in state.routes:
        where = r.split()[0]
        net = ipaddress.ip_network("0.0.0.0/0" if where == "default" else where, strict=False)
        if ip in net and (best is None or net.prefixlen > best[0]):
            best = (net.prefixlen, r)
    return best[1] if best else None


def forward_drops(filt: IptablesResponse) -> list[str]:
    """The FORWARD chain's DROP/REJECT policy and rules of a filter table."""
    out = [ln for ln in filt.rules if ln.startswith(":FORWARD ") and ln.split()[1] in ("DROP", "REJECT")]
    out += [ln for ln in filt.rules if ln.startswith("-A FORWARD ") and ("-j DROP" in ln or "-j REJECT" in ln)]
    return out


def router_faults(
    f: Facts, fw: RouterForwarding | None, destination: str, forwarding: bool = True
) -> tuple[list[str], list[str]]:
    """(what in the router's namespace stops forwarding to ``destination``, the facts read), from its state.
    ``forwarding=False``: for the router's own packets (ip_forward and FORWARD do not apply)."""
    if fw is None:
        return [], []
    found: list[str] = []
    facts: list[str] = []
    st = fw.state
    if isinstance(st, RouterState) and st.verdict == Verdict.OK:
        facts.append(f"net.ipv4.ip_forward={1 if st.ip_forward else 0}")
        if st.ip_forward is False and forwarding:
            found.append("net.ipv4.ip_forward=0 in the namespace: it routes nothing")
        route = route_to(st, destination)
        facts.append(f"route to {destination}: {route or 'none'}")
        if route is None:
            found.append(f"no route to {destination} in the namespace (routes: {'; '.join(st.routes) or 'none'})")
        down = [n for n, up in st.links.items() if not up and n.startswith(("qr-", "qg-"))]
        if down:
            found.append(f"interface(s) down in the namespace: {', '.join(down)}")
    elif isinstance(st, RouterState):
        facts.append(st.detail)
    if forwarding and isinstance(fw.filter, IptablesResponse) and fw.filter.verdict == Verdict.OK:
        drops = forward_drops(fw.filter)
        if drops:
            found.append(f"iptables FORWARD drops: {'; '.join(drops)}")
        else:
            facts.append("iptables FORWARD: no DROP/REJECT")
    return found, facts


@check
class VmOwnPacket(Check):
    """The proof of the path: the VM's own packet, captured at every hop at once, got through and back."""

    key = "vm-own-packet"
    name = "VM's own packet"
    plane = "data"
    needs: ClassVar[tuple[Kind[object], ...]] = (VM_PROBE, ROUTER_FORWARDING)
    proof = True

    def judge(self, f: Facts, ev: Evidence) -> CheckResult:
        p = ev[VM_PROBE]
        if p is None:
            return self.skipped(
                "not probed: no IPv4 target on a routed path (an IPv6 or on-link --to), or the VM's port is not "
                "on its bridge (br-int, brq)",
                unproven=True,
            )
        if isinstance(p, Unprobed):
            return self.unprobed(p)
        v = p.verdict
        text = probe_text(p)
        if v.ok and v.proven:
            return self.ok(text)
        if v.ok:
            return self.skipped(text, unproven=True)
        return self.broken(f, ev, p, v, text)

    def broken(self, f: Facts, ev: Evidence, p: VmProbe, v: PathVerdict, text: str) -> CheckResult:
        """The row of a probe that did not go through and back (a backend's own check names its hops)."""
        return self._broken(f, p, v, text, ev[ROUTER_FORWARDING])

    def _broken(self, f: Facts, p: VmProbe, v: PathVerdict, text: str, fw: RouterForwarding | None) -> CheckResult:
        lost = v.lost_request or v.lost_reply
        last = v.last_request if v.lost_request else v.last_reply
        dest = p.target.address
        ns = qrouter(f.router.id) if f.router else "qrouter-"
        if lost is None or (v.lost_request is None and v.last_reply is None):  # the request went all the way
            return unanswered(self, v, text, dest)
        found, facts = router_faults(f, fw, dest)
        if last is not None and last.name == "qr" and lost.name in ("qg", "external") and v.lost_request:
            why = "; ".join(found) if found else "nothing in its ip_forward, routes or FORWARD chain explains it"
            return self.fail(
                f"{text}; {ns} on {f.l3_host}: {why} ({'; '.join(facts)})",
                cause="router not forwarding",
                catalogue=7,
                next_step=router_step(found, ns, f.l3_host),
            )
        if v.lost_request and lost.name == "qr":
            return self.fail(
                text,
                cause="router interface not reached on the network node",
                catalogue=None,
                next_step=_carrier(p, lost)
                or f"on {lost.node}: the qr- port on br-int (its tag must be the network's local VLAN, "
                f"its iface-id the router port), and {ns}'s {lost.interface}",
            )
        if v.lost_request and lost.name == "external":
            return self.fail(
                text + (f"; {'; '.join(found)}" if found else ""),
                cause="router gateway port not reaching the external bridge",
                catalogue=None,
                next_step=_carrier(p, lost)
                or f"on {lost.node}: the qg- port on br-int (tag, iface-id) and the patch to the external bridge",
            )
        if v.lost_reply and found and lost.name in ("qr", "network-uplink"):
            return self.fail(
                f"{text}; {ns}: {'; '.join(found)}",
                cause="router not forwarding",
                catalogue=7,
                next_step=router_step(found, ns, f.l3_host),
            )
        side = "compute node" if lost.node == f.compute else "network node"
        return self.fail(
            text,
            cause=f"VM's packet lost on the {side} ({lost.name})",
            catalogue=None,
            next_step=f"on {lost.node}: what carries the packet from {last.label if last else 'the injection'} "
            f"to {lost.interface} ({p.carriers.get(lost.name) or 'br-int flows and tags, the firewall, the underlay'})",
        )


def _carrier(p: VmProbe, lost: PathHop) -> str | None:
    """The backend's own next step for a hop the packet did not reach (vm_probe.VmProbe.carriers)."""
    what = p.carriers.get(lost.name)
    return f"on {lost.node}: {what} ({lost.interface})" if what else None


def router_step(found: list[str], ns: str, host: str | None) -> str:
    steps = []
    text = " ".join(found)
    if "down" in text:
        steps.append(f"bring the interface up in {ns}")
    if "ip_forward=0" in text:
        steps.append(f"ip netns exec {ns} sysctl -w net.ipv4.ip_forward=1")
    if "no route" in text:
        steps.append(f"restore {ns}'s route (the L3 agent sets the default route from the external subnet's gateway)")
    if "FORWARD drops" in text:
        steps.append(f"remove the DROP from {ns}'s FORWARD chain")
    steps.append(f"then restart the L3 agent on {host} to resync the router")
    return "; ".join(steps)


def _dest(p: VmProbe) -> str:
    return f"{p.target.address}:{p.target.port} (TCP SYN)" if p.target.port else f"{p.target.address} (ICMP echo)"


def probe_text(p: VmProbe) -> str:
    """The proof row's evidence: target, verdict, the hops' marks, the time, and ICMP errors about it."""
    text = f"{p.target.why} {_dest(p)}: {p.verdict.reason} [{hops_text(p.hops)}] ({p.seconds:.1f} s)"
    errors = sorted({e for h in p.hops for e in h.icmp_errors})
    return f"{text}; ICMP errors about it: {', '.join(errors)}" if errors else text


def unanswered(check: Check, v: PathVerdict, text: str, dest: str, next_step: str | None = None) -> CheckResult:
    """The request left the last hop steth watches and no reply came: upstream's, once every capture ran.
    ``next_step``: a backend's own (DVR names where the packet left), else the router's upstream."""
    if not v.proven:
        return check.skipped(text, unproven=True)
    return check.fail(
        text + ": it left the last hop steth watches and nothing answered",
        cause="destination does not answer the VM",
        catalogue=8,
        next_step=next_step
        or f"the path beyond {v.last_request.label if v.last_request else 'the router'}: the upstream route "
        f"toward {dest}, its firewall, and the return route to the router's gateway address",
    )


def hops_text(hops: list[PathHop]) -> str:
    """node/hop:RQ per hop (R request seen, Q reply seen, - not, ! capture error)."""
    parts = []
    for h in hops:
        if h.error:
            parts.append(f"{h.node}/{h.name}:! ({h.error})")
            continue
        mark = ("R" if h.seen_request else "-") if h.request else "."
        mark += ("Q" if h.seen_reply else "-") if h.reply else "."
        parts.append(f"{h.node}/{h.name}:{mark}")
    return "hops R=request Q=reply seen: " + ", ".join(parts)
