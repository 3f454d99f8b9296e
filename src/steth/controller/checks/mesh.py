"""Full-mesh reachability: every node pings every peer on every network, all at once.

One /v1/ping request per source agent carries all its targets on all networks,
so the wall time is bounded by the probe timeouts, not by the number of pairs.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from ...errors import AgentError
from ...wire.models import PingRequest, PingResponse, Verdict
from .. import api
from ..client import AgentClient
from ..config import NodeConfig
from .nodes import NodeView

Targets = dict[str, list[tuple[str, str, str]]]  # source -> [(network, destination, address)]
Answers = dict[str, PingResponse | AgentError]  # source -> its ping answer, or why there is none

MAX_PAIR_LINES = 10  # beyond this, pair findings are summarised


@dataclass
class MeshRow:
    network: str
    source: str
    destination: str
    address: str
    sent: int
    received: int
    loss_pct: float
    rtt_min_ms: float | None
    rtt_avg_ms: float | None
    rtt_max_ms: float | None
    jitter_ms: float | None
    verdict: Verdict
    error: str = ""


@dataclass(frozen=True)
class Thresholds:
    max_loss_pct: float = 0.0
    max_rtt_ms: float | None = None


@dataclass(frozen=True)
class ProbeSettings:
    count: int = 3
    interval: float = 0.2
    timeout: float = 1.0

    def __post_init__(self) -> None:
        """Bounded as the agent's ping request is (pydantic ValidationError names the bad field)."""
        PingRequest(targets=["127.0.0.1"], count=self.count, interval=self.interval, timeout=self.timeout)


def plan(views: list[NodeView], networks: list[str]) -> dict[str, list[tuple[str, str, str]]]:
    """source -> [(network, destination, address)] for every live source and every known peer address."""
    targets: dict[str, list[tuple[str, str, str]]] = {}
    for src in views:
        if not src.alive:
            continue
        targets[src.name] = [
            (net, dst.name, dst.on[net].address)
            for net in networks
            if net in src.on
            for dst in views
            if dst is not src and net in dst.on
        ]
    return targets


def judge(loss_pct: float, rtt_avg: float | None, received: int, t: Thresholds) -> Verdict:
    if received == 0 or loss_pct > t.max_loss_pct:
        return Verdict.FAIL
    if t.max_rtt_ms is not None and rtt_avg is not None and rtt_avg > t.max_rtt_ms:
        return Verdict.FAIL
    return Verdict.OK


def rows_from(
    views: list[NodeView],
    networks: list[str],
    targets: dict[str, list[tuple[str, str, str]]],
    answers: dict[str, PingResponse | AgentError],
    thresholds: Thresholds,
) -> list[MeshRow]:
    """One row per (network, source, destination), including pairs that could not be probed."""
    rows = []
    for net in networks:
        for src in views:
            for dst in views:
                if dst is src:
                    continue
                rows.append(_row(net, src, dst, targets, answers, thresholds))
    return rows


def _unprobed(net: str, src: NodeView, dst: NodeView, addr: str, error: str) -> MeshRow:
    """A pair that could not be probed: nothing sent, all lost, an error verdict saying why."""
    return MeshRow(net, src.name, dst.name, addr, 0, 0, 100.0, None, None, None, None, Verdict.ERROR, error)


def _row(net: str, src: NodeView, dst: NodeView, targets: Targets, answers: Answers, t: Thresholds) -> MeshRow:
    addr = dst.on[net].address if net in dst.on else ""
    if not src.alive:
        return _unprobed(net, src, dst, addr, f"agent {src.name} unreachable: cannot probe from it")
    if net not in src.on:
        return _unprobed(net, src, dst, addr, f"{src.name} has no address on {net}")
    if not addr:
        why = "agent unreachable, address unknown" if not dst.alive else f"no address on {net}"
        return _unprobed(net, src, dst, "", f"{dst.name}: {why}")
    answer = answers.get(src.name)
    if isinstance(answer, AgentError) or answer is None:
        return _unprobed(net, src, dst, addr, str(answer.message if answer else "no answer"))
    result = next(r for r in answer.results if r.target == addr)
    verdict = (
        Verdict.ERROR
        if result.verdict is Verdict.ERROR
        else judge(result.loss_pct, result.rtt_avg_ms, result.received, t)
    )
    return MeshRow(
        net,
        src.name,
        dst.name,
        addr,
        result.sent,
        result.received,
        result.loss_pct,
        result.rtt_min_ms,
        result.rtt_avg_ms,
        result.rtt_max_ms,
        result.rtt_mdev_ms,
        verdict,
        result.error or "",
    )


async def run(
    client: AgentClient, views: list[NodeView], networks: list[str], probe: ProbeSettings, thresholds: Thresholds
) -> list[MeshRow]:
    targets = plan(views, networks)
    by_name = {v.name: v for v in views}

    async def one(node: NodeConfig) -> PingResponse:
        addrs = list(dict.fromkeys(a for _, _, a in targets[node.name]))
        if not addrs:
            return PingResponse(results=[])
        req = PingRequest(targets=addrs, count=probe.count, interval=probe.interval, timeout=probe.timeout)
        return await api.ping(client, node, req)

    outcomes = await client.fan_out([by_name[s].node for s in targets], one)
    answers: Answers = {}
    for o in outcomes:
        if o.value is not None:
            answers[o.node.name] = o.value
        elif o.error is not None:
            answers[o.node.name] = o.error
    return rows_from(views, networks, targets, answers, thresholds)


# ---- analysis ------------------------------------------------------------


def findings(rows: list[MeshRow], unreachable: list[str]) -> list[str]:
    """Failing pairs grouped so the cause shows: a network down, a node cut off or one-way, a pair, asymmetry."""
    out = [f"agent {n} is unreachable: no probes from it, and its addresses are unknown" for n in unreachable]
    bad = [r for r in rows if r.verdict is Verdict.FAIL]
    nets_with_failures = sorted({r.network for r in bad})
    for net in nets_with_failures:
        out += _network_findings(net, [r for r in rows if r.network == net and r.verdict is not Verdict.ERROR])
    all_nets = sorted({r.network for r in rows})
    if bad and len(all_nets) > 1 and len(nets_with_failures) == 1:
        out.append(
            f"only network {nets_with_failures[0]} is affected; "
            f"{', '.join(n for n in all_nets if n not in nets_with_failures)} are healthy"
        )
    if not out and not any(r.verdict is Verdict.ERROR for r in rows):
        out.append(f"all {len(rows)} pairs ok on {', '.join(all_nets)}")
    return out


def _network_findings(net: str, rows: list[MeshRow]) -> list[str]:
    fail = {(r.source, r.destination) for r in rows if r.verdict is Verdict.FAIL}
    nodes = sorted({r.source for r in rows} | {r.destination for r in rows})
    pairs = {(r.source, r.destination) for r in rows}
    if pairs and fail == pairs:
        return [f"{net}: no pair works ({len(pairs)} pairs fail): the network itself (switch, VLAN, addressing)"]
    out = []
    explained: set[tuple[str, str]] = set()
    if len(nodes) >= 3:  # with two nodes a one-way failure is a pair, not a node
        for n in nodes:
            inbound = {(s, d) for s, d in pairs if d == n}
            outbound = {(s, d) for s, d in pairs if s == n}
            in_bad, out_bad = inbound <= fail, outbound <= fail
            if in_bad and out_bad:
                out.append(f"{net}: {n} is cut off: it reaches no peer and no peer reaches it (its link?)")
            elif in_bad:
                out.append(f"{net}: {n} is unreachable from every peer but reaches them (inbound filtering on {n}?)")
            elif out_bad:
                out.append(f"{net}: {n} reaches no peer but every peer reaches it (outbound filtering on {n}?)")
            else:
                continue
            explained |= (inbound if in_bad else set()) | (outbound if out_bad else set())
    pair_lines = []
    for s, d in sorted(fail - explained):
        if (d, s) in fail - explained:
            if s < d:
                pair_lines.append(f"{net}: {s} and {d} cannot reach each other (this pair only)")
        else:
            back = "works" if (d, s) in pairs else "was not probed"
            pair_lines.append(f"{net}: {s} -> {d} fails while {d} -> {s} {back} (asymmetric)")
    if len(pair_lines) > MAX_PAIR_LINES:
        per_node: dict[str, int] = defaultdict(int)
        for s, d in fail - explained:
            per_node[s] += 1
            per_node[d] += 1
        worst = sorted(per_node.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
        pair_lines = [
            f"{net}: {len(fail - explained)} of {len(pairs)} directed pairs fail with no single node "
            f"or pair to blame (an overloaded or flooded segment?); most involved: "
            + ", ".join(f"{n} ({c})" for n, c in worst),
            *pair_lines[: MAX_PAIR_LINES // 2],
            f"{net}: ... see the matrix or -f json for every pair",
        ]
    return out + pair_lines


def matrix(rows: list[MeshRow], nodes: list[str]) -> tuple[list[str], list[list[str]]]:
    """Table of cells 'ok 0.31' / 'FAIL 100%' / 'err', one row per (network, source)."""
    cell: dict[tuple[str, str, str], MeshRow] = {(r.network, r.source, r.destination): r for r in rows}
    networks = list(dict.fromkeys(r.network for r in rows))
    table = []
    for net in networks:
        for src in nodes:
            line = [net, src]
            for dst in nodes:
                r = cell.get((net, src, dst))
                if src == dst or r is None:
                    line.append("-")
                elif r.verdict is Verdict.OK:
                    line.append(f"ok {r.rtt_avg_ms:.2f}ms")
                elif r.verdict is Verdict.FAIL:
                    line.append(f"FAIL {r.loss_pct:g}%" + (f" {r.rtt_avg_ms:.1f}ms" if r.received else ""))
                else:
                    line.append("error")
            table.append(line)
    return ["net", "from \\ to", *nodes], table


def per_network_counts(rows: list[MeshRow]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        counts[r.network][r.verdict.value] += 1
    return {k: dict(v) for k, v in counts.items()}
