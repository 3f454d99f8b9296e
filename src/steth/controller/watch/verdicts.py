"""Reading the agents' watch results together: a node problem or a pair problem.

A destination that most of its probers cannot reach is the node's problem (its
link, its host, its firewall); one that a single prober cannot reach is that
pair's problem (a path, an ACL, a switch port between the two).
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass

from ...wire.watch import WatchStatus


@dataclass(frozen=True)
class Finding:
    network: str
    destination: str
    kind: str  # node | pair | some | mtu
    probers: tuple[str, ...]  # the probers that see the problem
    of: int  # how many probe it

    def text(self) -> str:
        who = ", ".join(self.probers)
        if self.kind == "node":
            return (
                f"{self.network}: {self.destination} is unreachable from {len(self.probers)} of its {self.of} "
                f"probers ({who}): a problem of node {self.destination}"
            )
        if self.kind == "pair":
            return f"{self.network}: only {who} cannot reach {self.destination}: a problem of that pair's path"
        if self.kind == "some":
            return (
                f"{self.network}: {self.destination} is unreachable from {len(self.probers)} of its {self.of} "
                f"probers ({who}): paths shared by those probers"
            )
        if self.kind == "mtu":
            return (
                f"{self.network}: full-size don't-fragment probes to {self.destination} are lost from {who} "
                "while small ones pass: an MTU black hole"
            )
        raise ValueError(f"unknown finding kind {self.kind!r}")


def findings(statuses: dict[str, WatchStatus]) -> list[Finding]:
    """Findings from the last results of every agent that answered."""
    seen: dict[tuple[str, str], list[tuple[str, bool]]] = defaultdict(list)
    mtu_bad: dict[tuple[str, str], list[str]] = defaultdict(list)
    for source, st in statuses.items():
        for r in st.results:
            if r.up is None:
                continue
            seen[(r.network, r.peer)].append((source, r.up))
            if r.up and r.mtu_ok is False:
                mtu_bad[(r.network, r.peer)].append(source)
    out = []
    for (net, dst), views in sorted(seen.items()):
        down = tuple(sorted(s for s, up in views if not up))
        if not down:
            continue
        if len(down) * 2 > len(views):
            kind = "node"
        elif len(down) == 1:
            kind = "pair"
        else:
            kind = "some"
        out.append(Finding(net, dst, kind, down, len(views)))
    for (net, dst), sources in sorted(mtu_bad.items()):
        out.append(Finding(net, dst, "mtu", tuple(sorted(sources)), len(seen[(net, dst)])))
    return out


def stale(status: WatchStatus, now: float | None = None) -> bool:
    """An active watch whose last round is older than three intervals (or that never finished one)."""
    if not status.active or status.plan is None:
        return False
    now = time.time() if now is None else now
    last = status.last_round_at or status.started_at or now
    return now - last > 3 * status.plan.interval + status.plan.interval  # the first round waits a random phase
