"""Path MTU between every pair on every network, and interface MTUs against the expected one.

Every pair is probed once with don't-fragment at the expected size. For pairs
that fail, the largest passing size is searched with all candidate sizes of a
round sent at once (K candidates per round narrow the range K-fold), so a
search takes a few probe timeouts whatever the number of pairs.
"""

from __future__ import annotations

import ipaddress
from collections import Counter, defaultdict
from dataclasses import dataclass

from ...errors import AgentError
from ...wire import encap
from ...wire.models import PingRequest, PingResponse, Verdict
from .. import api
from ..client import AgentClient
from .nodes import NodeView

IPV4_OVERHEAD = 28  # IP header 20 + ICMP header 8
IPV6_OVERHEAD = 48  # IPv6 header 40 + ICMPv6 header 8
MIN_MTU = 68
CANDIDATES_PER_ROUND = 16
VETH_SLACK = 4  # Linux veth/bridge ports accept frames up to MTU + 4 (room for a VLAN tag)


@dataclass
class MtuRow:
    network: str
    check: str  # path | interface
    source: str
    destination: str
    interface: str
    expected_mtu: int
    measured_mtu: int | None  # path MTU found, or the interface's MTU
    verdict: Verdict
    note: str = ""


@dataclass(frozen=True)
class Pair:
    network: str
    source: str
    destination: str
    address: str

    @property
    def overhead(self) -> int:
        return IPV6_OVERHEAD if ipaddress.ip_address(self.address).version == 6 else IPV4_OVERHEAD


def expected_mtus(
    views: list[NodeView], networks: list[str], configured: dict[str, int], override: int | None
) -> dict[str, int]:
    """--mtu, else the config's [mtu], else the most common interface MTU on that network."""
    result = {}
    for net in networks:
        if override:
            result[net] = override
        elif net in configured:
            result[net] = configured[net]
        else:
            mtus = Counter(_iface_mtu(v, net) for v in views if net in v.on)
            result[net] = mtus.most_common(1)[0][0] if mtus else 1500
    return result


def _iface_mtu(view: NodeView, net: str) -> int:
    name = view.on[net].interface
    return next(i.mtu for i in view.info.interfaces if i.name == name)  # type: ignore[union-attr]


def interface_rows(views: list[NodeView], networks: list[str], expected: dict[str, int]) -> list[MtuRow]:
    rows = []
    for net in networks:
        for v in views:
            if net not in v.on:
                continue
            mtu = _iface_mtu(v, net)
            ok = mtu == expected[net]
            rows.append(
                MtuRow(
                    net,
                    "interface",
                    v.name,
                    "",
                    v.on[net].interface,
                    expected[net],
                    mtu,
                    Verdict.OK if ok else Verdict.FAIL,
                    "" if ok else f"{v.name} {v.on[net].interface} has MTU {mtu}, {net} expects {expected[net]}",
                )
            )
    return rows


def pairs_of(views: list[NodeView], networks: list[str]) -> list[Pair]:
    return [
        Pair(net, s.name, d.name, d.on[net].address)
        for net in networks
        for s in views
        if s.alive and net in s.on
        for d in views
        if d is not s and net in d.on
    ]


def candidates(lo: int, hi: int, k: int = CANDIDATES_PER_ROUND) -> list[int]:
    """Up to k sizes spread over (lo, hi], always including hi; lo is known to pass."""
    if hi <= lo:
        return []
    span = hi - lo
    if span <= k:
        return list(range(lo + 1, hi + 1))
    return sorted({lo + max(1, round(span * i / k)) for i in range(1, k + 1)})


@dataclass
class Probed:
    """One round: which pair passed at which size, and the pairs whose source agent failed (its message)."""

    passed: dict[tuple[Pair, int], bool]
    errors: dict[Pair, str]


async def _probe(
    client: AgentClient, views: dict[str, NodeView], jobs: dict[tuple[str, int], list[Pair]], count: int, timeout: float
) -> Probed:
    """Send every (source, payload size) job at once."""
    import asyncio

    async def one(source: str, size: int, pairs: list[Pair]) -> Probed:
        req = PingRequest(
            targets=list(dict.fromkeys(p.address for p in pairs)),
            count=count,
            interval=0.05,
            timeout=timeout,
            size=size,
            dont_fragment=True,
        )
        try:
            resp: PingResponse = await api.ping(client, views[source].node, req)
        except AgentError as exc:  # not a lost probe: nothing was measured, say why
            return Probed({}, {p: exc.message for p in pairs})
        got = {r.target: r.received > 0 for r in resp.results}
        return Probed({(p, size): got.get(p.address, False) for p in pairs}, {})

    result = Probed({}, {})
    for part in await asyncio.gather(*(one(s, size, ps) for (s, size), ps in jobs.items())):
        result.passed.update(part.passed)
        for p, message in part.errors.items():
            result.errors.setdefault(p, message)
    return result


async def run(
    client: AgentClient, views: list[NodeView], networks: list[str], expected: dict[str, int], timeout: float = 1.0
) -> list[MtuRow]:
    by_name = {v.name: v for v in views}
    pairs = pairs_of(views, networks)
    # round 0: everyone at the expected size
    jobs: dict[tuple[str, int], list[Pair]] = defaultdict(list)
    for p in pairs:
        jobs[(p.source, expected[p.network] - p.overhead)].append(p)
    first = await _probe(client, by_name, jobs, count=2, timeout=timeout)
    errors = dict(first.errors)  # pair -> the agent's error: an `error` row, out of the search
    failing = [p for p in pairs if p not in errors and not first.passed[(p, expected[p.network] - p.overhead)]]
    # search rounds for the failing pairs: payload bounds, lo known passing (or below minimum)
    lo = {p: MIN_MTU - p.overhead - 1 for p in failing}
    hi = {p: expected[p.network] - p.overhead - 1 for p in failing}
    while True:
        jobs = defaultdict(list)
        for p in failing:
            for size in candidates(lo[p], hi[p]):
                jobs[(p.source, size)].append(p)
        if not jobs:
            break
        seen = await _probe(client, by_name, jobs, count=1, timeout=timeout)
        errors.update(seen.errors)
        failing = [p for p in failing if p not in errors]
        for p in failing:
            sizes = candidates(lo[p], hi[p])
            passed = [s for s in sizes if seen.passed[(p, s)]]
            failed_above = [s for s in sizes if not seen.passed[(p, s)] and s > max(passed, default=lo[p])]
            if passed:
                lo[p] = max(passed)
            hi[p] = min(failed_above, default=lo[p] + 1) - 1 if failed_above else lo[p]
            if not passed and min(sizes) == MIN_MTU - p.overhead:
                hi[p] = lo[p]  # not even the smallest size passes: unreachable
    return [_row(p, expected[p.network], lo.get(p), errors.get(p)) for p in pairs]


def _row(p: Pair, exp: int, lo: int | None, error: str | None) -> MtuRow:
    """The path row of one pair: ``lo`` the largest payload that passed (None: the expected size did),
    ``error`` what its source agent answered instead of probing."""
    row = MtuRow(p.network, "path", p.source, p.destination, "", exp, None, Verdict.FAIL)
    if error is not None:
        row.verdict, row.note = Verdict.ERROR, f"{p.source} could not probe {p.destination} on {p.network}: {error}"
    elif lo is None:
        row.measured_mtu, row.verdict = exp, Verdict.OK
    elif lo + p.overhead < MIN_MTU:
        row.note = f"{p.destination} unreachable from {p.source} on {p.network} at any size"
    else:
        row.measured_mtu = lo + p.overhead
        row.note = f"path MTU {p.source} -> {p.destination} is {row.measured_mtu} < {exp}"
    return row


# ---- analysis ------------------------------------------------------------


def findings(
    rows: list[MtuRow],
    tunnels: dict[str, str],
    neutron_mtu: dict[str, int],
    expected: dict[str, int],
    family: dict[str, int] | None = None,
) -> list[str]:
    out = [r.note for r in rows if r.check == "interface" and r.verdict is Verdict.FAIL]
    paths = [r for r in rows if r.check == "path"]
    for net in dict.fromkeys(r.network for r in paths):
        out += _path_findings(net, [r for r in paths if r.network == net], expected[net])
    for net, kind in tunnels.items():
        if net not in expected:
            continue
        fam = (family or {}).get(net, 4)
        measured = [r.measured_mtu for r in paths if r.network == net and r.measured_mtu]
        underlay = min(measured + [expected[net]])
        safe = underlay - encap.overhead(kind, fam)
        line = (
            f"{net} carries {kind} over IPv{fam}: largest safe instance MTU {safe} ({underlay} - "
            f"{encap.overhead(kind, fam)})"
        )
        configured = [v for v in (neutron_mtu.get("global_physnet_mtu"), neutron_mtu.get("path_mtu")) if v]
        if configured:
            neutron = min(configured) - encap.overhead(kind, fam)
            if neutron > safe:
                line += (
                    f"; WARNING: Neutron would give {kind} networks MTU {neutron} "
                    f"(min of global_physnet_mtu/path_mtu {min(configured)} - overhead), above it"
                )
        out.append(line)
    return out


def _path_findings(net: str, rows: list[MtuRow], expected: int) -> list[str]:
    bad = [r for r in rows if r.verdict is Verdict.FAIL]
    if not bad:
        return []
    nodes = sorted({r.source for r in rows} | {r.destination for r in rows})
    out = []
    explained: set[int] = set()
    if len(nodes) >= 3:
        for n in nodes:
            mine = [i for i, r in enumerate(rows) if n in (r.source, r.destination)]
            if mine and all(rows[i].verdict is Verdict.FAIL for i in mine):
                values = sorted({m for m in (rows[i].measured_mtu for i in mine) if m})
                shown = "/".join(str(v) for v in values) or "none"
                out.append(
                    f"{net}: every path to and from {n} has a lower MTU ({shown} < {expected}): "
                    f"{n}'s interface, its link or its switch port" + _slack_note(values)
                )
                explained.update(mine)
    for i, r in enumerate(rows):
        if r.verdict is Verdict.FAIL and i not in explained:
            out.append(f"{net}: {r.note}" + _slack_note([r.measured_mtu] if r.measured_mtu else []))
    return out


def _slack_note(values: list[int]) -> str:
    if not values:
        return ""
    return f" (a device MTU of N may measure up to N+{VETH_SLACK}: Linux veth and bridge ports allow a VLAN tag)"
