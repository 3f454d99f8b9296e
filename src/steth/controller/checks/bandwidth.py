"""Bandwidth between nodes with iperf3: plan rounds, run them, judge the figures.

Scheduling: a node takes part in at most one test at a time, so tests never
share (and disturb) a node. A full mesh uses the circle method of round-robin
tournaments: N-1 rounds of N/2 pairs for even N, N rounds for odd N (one node
sits out each round). Explicit pairs are packed greedily into rounds with the
same rule; a star needs one round per spoke. The tests of one round run
concurrently; the next round starts when all of them are done.

Each test: an iperf3 server is started (under a lease) on the server node,
bound to its address on the network; the client node runs iperf3 against it
from its own address on that network; the server's lease is released at once
afterwards, whatever happened.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ...errors import AgentError, AgentUnreachableError, UsageError
from ...wire.iperf import IperfClientRequest, IperfServerRequest, Protocol, format_rate
from ...wire.models import AgentInfo, Verdict
from .. import api
from ..client import AgentClient
from ..config import ControllerConfig
from ..inventory import interface_on_network
from .bandwidth_rounds import Pair

Progress = Callable[[str], None]
SERVER_LEASE_MARGIN = 30.0  # seconds a server's lease outlives the test it is for


# ---- options and results ---------------------------------------------------------


@dataclass(frozen=True)
class Options:
    duration: float = 10.0
    parallel: int = 1
    protocol: Protocol = Protocol.TCP
    bandwidth: int | None = None  # target bits/s (UDP)
    reverse: bool = False
    bidir: bool = False
    min_bandwidth: int | None = None  # overrides [bandwidth] of the config
    port: int | None = None  # server port; None: one from the agent's range
    connect_timeout: float = 3.0


@dataclass
class Row:
    round: int
    network: str
    source: str  # the sending node
    destination: str  # the receiving node
    client: str
    server: str
    protocol: str
    bits_per_second: float | None = None
    sent_bits_per_second: float | None = None
    retransmits: int | None = None
    jitter_ms: float | None = None
    loss_pct: float | None = None
    client_cpu_pct: float | None = None
    server_cpu_pct: float | None = None
    expected_bits_per_second: int | None = None
    started_at: float = 0.0
    ended_at: float = 0.0
    verdict: Verdict = Verdict.ERROR
    error: str = ""

    COLUMNS = (
        "round",
        "network",
        "source",
        "destination",
        "client",
        "server",
        "protocol",
        "bits_per_second",
        "throughput",
        "sent_bits_per_second",
        "retransmits",
        "jitter_ms",
        "loss_pct",
        "client_cpu_pct",
        "server_cpu_pct",
        "expected_bits_per_second",
        "started_at",
        "ended_at",
        "verdict",
        "error",
    )

    def values(self) -> list[Any]:
        out: list[Any] = []
        for c in self.COLUMNS:
            if c == "throughput":
                out.append(format_rate(self.bits_per_second))
            elif c == "verdict":
                out.append(self.verdict.value)
            elif c == "bits_per_second" or c == "sent_bits_per_second":
                v = getattr(self, c)
                out.append(round(v) if v is not None else None)
            elif c in ("started_at", "ended_at"):
                out.append(round(getattr(self, c), 3))
            else:
                out.append(getattr(self, c))
        return out


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    rounds: int = 0
    unreachable: set[str] = field(default_factory=set)  # nodes whose agent did not answer


def verdict_for(bps: float, expected: int | None) -> Verdict:
    return Verdict.FAIL if expected is not None and bps < expected else Verdict.OK


# ---- running -------------------------------------------------------------------


class BandwidthCheck:
    def __init__(
        self, client: AgentClient, config: ControllerConfig, options: Options, progress: Progress | None = None
    ) -> None:
        self.c = client
        self.config = config
        self.opts = options
        self.progress = progress or (lambda _: None)
        self._infos: dict[str, AgentInfo | AgentError] = {}

    async def _learn(self, names: set[str]) -> None:
        """/v1/info of every node not asked yet, all at once."""
        todo = [self.config.nodes[n] for n in sorted(names) if n not in self._infos]
        outcomes = await self.c.fan_out(todo, lambda n: api.info(self.c, n))
        for o in outcomes:
            self._infos[o.node.name] = o.value if o.ok else o.error  # type: ignore[assignment]

    def _address(self, node: str, network: str) -> str:
        """The node's address on ``network``; _Unavailable when its agent did not answer or it has none."""
        info = self._infos[node]
        if isinstance(info, AgentError):
            raise _Unavailable(info.message, unreachable=isinstance(info, AgentUnreachableError))
        found = interface_on_network(self.config, info, network)
        if not found:
            raise _Unavailable(f"{node} has no address on network {network} ({self.config.networks[network]})")
        return found[0].address

    async def run(self, network: str, rounds: list[list[Pair]], report: Report) -> None:
        if network not in self.config.networks:
            raise UsageError(
                f"network {network!r} is not in [networks] of {self.config.source}",
                f"known networks: {', '.join(self.config.networks) or 'none'}",
            )
        await self._learn({n for r in rounds for p in r for n in p})
        expected = self.opts.min_bandwidth
        if expected is None and not (self.opts.protocol is Protocol.UDP and self.opts.bandwidth):
            # a paced UDP test measures loss and jitter at the rate asked for, not the link's capacity
            expected = self.config.bandwidth.get(network)
        for i, pairs in enumerate(rounds, 1):
            report.rounds += 1
            self.progress(f"{network}: round {i}/{len(rounds)}: " + ", ".join(f"{a}->{b}" for a, b in pairs))
            results = await asyncio.gather(
                *(self._test(report.rounds, network, a, b, expected, report) for a, b in pairs)
            )
            for rows in results:
                report.rows.extend(rows)

    def _rows_skeleton(self, rnd: int, network: str, client: str, server: str, expected: int | None) -> list[Row]:
        """One row per direction measured: client->server, server->client, or both."""
        forward = (client, server)
        backward = (server, client)
        if self.opts.bidir:
            dirs = [forward, backward]
        elif self.opts.reverse:
            dirs = [backward]
        else:
            dirs = [forward]
        return [
            Row(
                round=rnd,
                network=network,
                source=s,
                destination=d,
                client=client,
                server=server,
                protocol=self.opts.protocol.value,
                expected_bits_per_second=expected,
            )
            for s, d in dirs
        ]

    async def _test(
        self, rnd: int, network: str, client: str, server: str, expected: int | None, report: Report
    ) -> list[Row]:
        rows = self._rows_skeleton(rnd, network, client, server, expected)
        started = time.time()
        error = ""
        try:
            error = await self._measure(network, client, server, rows)
        except _Unavailable as exc:
            error = exc.message
            if exc.unreachable and exc.node:
                report.unreachable.add(exc.node)
        ended = time.time()
        for row in rows:
            row.started_at, row.ended_at = started, ended
            if error:
                row.verdict, row.error = Verdict.ERROR, error
        return rows

    async def _measure(self, network: str, client: str, server: str, rows: list[Row]) -> str:
        """Run one test and fill ``rows``; returns an error text ('' when measured)."""
        o = self.opts
        try:
            server_addr = self._address(server, network)
        except _Unavailable as exc:
            exc.node = server
            raise
        try:
            client_addr = self._address(client, network)
        except _Unavailable as exc:
            exc.node = client
            raise
        lease = o.duration + o.connect_timeout + SERVER_LEASE_MARGIN
        try:
            srv = await api.iperf_server_start(
                self.c,
                self.config.nodes[server],
                IperfServerRequest(bind=server_addr, port=o.port, lease_seconds=lease),
            )
        except AgentError as exc:
            raise _Unavailable(
                f"iperf3 server on {server}: {exc.message}",
                unreachable=isinstance(exc, AgentUnreachableError),
                node=server,
            ) from None
        try:
            req = IperfClientRequest(
                server=server_addr,
                port=srv.port,
                protocol=o.protocol,
                duration=o.duration,
                parallel=o.parallel,
                bandwidth=o.bandwidth,
                reverse=o.reverse,
                bidir=o.bidir,
                bind=client_addr,
                connect_timeout=o.connect_timeout,
            )
            try:
                result = await api.iperf_client(self.c, self.config.nodes[client], req)
            except AgentError as exc:
                raise _Unavailable(
                    f"iperf3 client on {client}: {exc.message}",
                    unreachable=isinstance(exc, AgentUnreachableError),
                    node=client,
                ) from None
        finally:
            try:
                await api.iperf_server_stop(self.c, self.config.nodes[server], srv.lease_id)
            except AgentError:
                pass  # its lease ends by itself on the agent
        if result.error:
            return f"{client} -> {server_addr}:{srv.port}: {result.error}"
        by_direction = {f.direction: f for f in result.flows}
        for row in rows:
            flow = by_direction.get("forward" if row.source == client else "reverse")
            if flow is None:
                row.verdict, row.error = Verdict.ERROR, "iperf3 reported no figures for this direction"
                continue
            row.bits_per_second = flow.bits_per_second
            row.sent_bits_per_second = flow.sent_bits_per_second
            row.retransmits = flow.retransmits
            row.jitter_ms = round(flow.jitter_ms, 4) if flow.jitter_ms is not None else None
            row.loss_pct = flow.loss_pct
            row.client_cpu_pct, row.server_cpu_pct = result.cpu_client_pct, result.cpu_server_pct
            row.verdict = verdict_for(flow.bits_per_second, row.expected_bits_per_second)
        return ""


class _Unavailable(Exception):
    def __init__(self, message: str, unreachable: bool = False, node: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.unreachable = unreachable
        self.node = node


# ---- analysis ------------------------------------------------------------------


def summary(rows: list[Row], slowest: int = 3) -> list[str]:
    """Lines for people: the slowest links, the nodes common to every slow result, errors."""
    lines = []
    rates = [(r.bits_per_second, r) for r in rows if r.bits_per_second is not None]
    measured = [r for _, r in sorted(rates, key=lambda pair: pair[0])]
    if measured:
        lines.append(
            "slowest: "
            + "; ".join(
                f"{r.source} -> {r.destination} ({r.network}) {format_rate(r.bits_per_second)}"
                for r in measured[:slowest]
            )
        )
    slow = [r for r in rows if r.verdict == Verdict.FAIL]
    if slow:
        common = set.intersection(*({r.source, r.destination} for r in slow))
        threshold = min(r.expected_bits_per_second or 0 for r in slow)
        line = f"{len(slow)} of {len(measured)} results below {format_rate(threshold)}"
        if common:
            line += f"; every slow result involves {', '.join(sorted(common))}"
        else:
            counts = Counter(n for r in slow for n in (r.source, r.destination))
            line += "; nodes in slow results: " + ", ".join(f"{n} ({c})" for n, c in counts.most_common(5))
        lines.append(line)
    elif measured and any(r.expected_bits_per_second for r in measured):
        lines.append(f"all {len(measured)} results meet the expected bandwidth")
    errors = [r for r in rows if r.verdict == Verdict.ERROR]
    if errors:
        lines.append(
            f"{len(errors)} result(s) could not be measured: "
            + "; ".join(sorted({f"{r.source} -> {r.destination}: {r.error}" for r in errors})[:5])
        )
    return lines


def slow_nodes(rows: list[Row]) -> set[str]:
    """Nodes involved in every result below the expected bandwidth (empty when none or no common node)."""
    slow = [r for r in rows if r.verdict == Verdict.FAIL]
    return set.intersection(*({r.source, r.destination} for r in slow)) if slow else set()
