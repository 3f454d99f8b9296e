"""VLAN trunk check: plan (which interface per node), run (listen everywhere, send everywhere,
collect), analyse (per sender, receiver and VLAN; summary naming exactly what is missing where).

The analysis is pure (no I/O) so it is unit tested on made-up results.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ...errors import AgentError, AgentUnreachableError, UsageError
from ...wire.models import Verdict
from ...wire.vlan import (
    MAX_LISTEN_SECONDS,
    VlanCaptureResult,
    VlanCollectRequest,
    VlanListenRequest,
    VlanListenStarted,
    VlanSendRequest,
    format_ranges,
)
from .. import api
from ..client import AgentClient
from ..config import ControllerConfig, NodeConfig
from ..inventory import interface_on_network

DEFAULT_NETWORK = "tenant"
_SENDER_OK = re.compile(r"^[A-Za-z0-9_.@:+-]{1,32}$")


def vlan_label(v: int) -> str:
    return "untagged" if v == 0 else str(v)


# ---- analysis (pure) ---------------------------------------------------------------


@dataclass
class VlanReport:
    """What every node heard from every other; ``heard[receiver][sender]`` is a set of VLANs."""

    vlans: list[int]
    nodes: list[str]  # in order
    interfaces: dict[str, str] = field(default_factory=dict)  # node -> interface probed
    heard: dict[str, dict[str, set[int]]] = field(default_factory=dict)
    sent: set[str] = field(default_factory=set)  # nodes whose sweep went out complete
    listened: set[str] = field(default_factory=set)  # nodes whose capture came back
    errors: dict[str, str] = field(default_factory=dict)  # node -> why it could not take part
    unreachable: set[str] = field(default_factory=set)
    drops: dict[str, int] = field(default_factory=dict)  # node -> frames its socket buffer dropped
    mismatched: list[str] = field(default_factory=list)  # "X heard VLAN a from Y as VLAN b"

    # --- pairs ---
    def pairs(self) -> Iterator[tuple[str, str]]:
        for s in self.nodes:
            for r in self.nodes:
                if s != r:
                    yield s, r

    def pair_ok(self, s: str, r: str) -> bool:
        """Both ends did their part (else the pair's rows are errors, not failures)."""
        return s in self.sent and r in self.listened

    def missing(self, s: str, r: str) -> set[int]:
        if not self.pair_ok(s, r):
            return set()
        return set(self.vlans) - self.heard.get(r, {}).get(s, set())

    def verdict(self, s: str, r: str, v: int) -> Verdict:
        if not self.pair_ok(s, r):
            return Verdict.ERROR
        return Verdict.OK if v in self.heard.get(r, {}).get(s, ()) else Verdict.FAIL

    def rows(self) -> Iterator[dict[str, Any]]:
        """One row per (VLAN, source, destination): every row, for -f json."""
        for s, r in self.pairs():
            got = self.heard.get(r, {}).get(s, set())
            ok_pair = self.pair_ok(s, r)
            err = "" if ok_pair else (self.errors.get(s) or self.errors.get(r) or "")
            for v in self.vlans:
                verdict = (Verdict.OK if v in got else Verdict.FAIL) if ok_pair else Verdict.ERROR
                yield {
                    "vlan": v,
                    "source": s,
                    "destination": r,
                    "source_interface": self.interfaces.get(s, ""),
                    "destination_interface": self.interfaces.get(r, ""),
                    "verdict": verdict.value,
                    "error": err,
                }

    def pair_rows(self) -> list[dict[str, Any]]:
        """Compact: per (source, destination) how many VLANs are carried and which are missing."""
        out = []
        for s, r in self.pairs():
            if not self.pair_ok(s, r):
                out.append(
                    {
                        "source": s,
                        "destination": r,
                        "ok": 0,
                        "missing": "",
                        "verdict": Verdict.ERROR.value,
                        "detail": self.errors.get(s) or self.errors.get(r) or "",
                    }
                )
                continue
            miss = self.missing(s, r)
            out.append(
                {
                    "source": s,
                    "destination": r,
                    "ok": len(self.vlans) - len(miss),
                    "missing": format_ranges(miss),
                    "verdict": (Verdict.FAIL if miss else Verdict.OK).value,
                    "detail": "",
                }
            )
        return out

    @property
    def has_failures(self) -> bool:
        return any(self.missing(s, r) for s, r in self.pairs())

    @property
    def has_errors(self) -> bool:
        return bool(self.errors)

    # --- summary ---
    def findings(self) -> list[tuple[str, list[int]]]:
        """(statement template, VLANs) grouped; a template holds "{subject}" and "{is}" for the VLAN list."""
        by_statement: dict[str, set[int]] = {}
        good = [n for n in self.nodes if n in self.sent and n in self.listened]
        missing = {(s, r): self.missing(s, r) for s, r in self.pairs()}
        failing = sorted(set().union(*missing.values())) if missing else []
        tested = {(s, r) for s, r in self.pairs() if self.pair_ok(s, r)}
        into = {n: {(s, r) for s, r in tested if r == n} for n in good}
        out = {n: {(s, r) for s, r in tested if s == n} for n in good}
        for v in failing:
            fails = {(s, r) for (s, r), m in missing.items() if v in m}
            for statement in self._explain(fails, good, tested, into, out):
                by_statement.setdefault(statement, set()).add(v)
        ordered = sorted(by_statement.items(), key=lambda kv: (min(kv[1]), kv[0]))
        return [(stmt, sorted(vs)) for stmt, vs in ordered]

    def _explain(
        self,
        fails: set[tuple[str, str]],
        good: list[str],
        tested: set[tuple[str, str]],
        into: dict[str, set[tuple[str, str]]],
        out: dict[str, set[tuple[str, str]]],
    ) -> list[str]:
        """Statements explaining the failing pairs of one VLAN: whole nodes first, then single pairs."""
        if fails == tested and len(good) > 1:
            return ["{subject} {is} carried between none of the nodes"]
        in_cut = {n for n in good if into[n] and into[n] <= fails}
        out_cut = {n for n in good if out[n] and out[n] <= fails}
        # two nodes, one direction: the receiving side is the one told about
        if len(good) == 2:
            out_cut = {n for n in out_cut if n in in_cut}
        statements = []
        explained: set[tuple[str, str]] = set()
        for n in self.nodes:
            if n in in_cut and n in out_cut:
                statements.append(
                    f"{{subject}} {{is}} not carried on {n} {self.interfaces.get(n, '')} "
                    f"({n} hears no peer and no peer hears {n})"
                )
                explained |= into[n] | out[n]
            elif n in in_cut:
                statements.append(
                    f"{{subject}} {{is}} not carried to {n} {self.interfaces.get(n, '')} ({n} hears no peer on it)"
                )
                explained |= into[n]
        for n in self.nodes:
            if n in out_cut and n not in in_cut and not out[n] <= explained:
                statements.append(
                    f"{{subject}} {{is}} not carried from {n} {self.interfaces.get(n, '')} (no peer hears {n})"
                )
                explained |= out[n]
        rest = fails - explained
        done: set[tuple[str, str]] = set()
        for s, r in sorted(rest, key=lambda p: (self.nodes.index(p[0]), self.nodes.index(p[1]))):
            if (s, r) in done:
                continue
            if (r, s) in rest:
                statements.append(f"{{subject}} {{is}} missing only between {s} and {r}")
                done |= {(s, r), (r, s)}
            else:
                statements.append(f"{{subject}} {{is}} missing only from {s} to {r}")
                done.add((s, r))
        return statements

    def summary(self) -> list[str]:
        lines = []
        for template, vlans in self.findings():
            many = len(vlans) > 1
            subject = ("VLANs " if many else "VLAN ") + format_ranges(vlans)
            if vlans == [0]:
                subject = "Untagged frames"
                many = True
            verb = "are" if many else "is"
            lines.append(template.replace("{subject}", subject).replace("{is}", verb))
        for node in self.nodes:
            if node in self.errors:
                lines.append(f"{node}: {self.errors[node]}")
            if self.drops.get(node):
                lines.append(
                    f"{node}: its capture dropped {self.drops[node]} frames (receive buffer full): "
                    "missing VLANs may be false alarms; retry with --rate"
                )
        lines += self.mismatched
        if not lines:
            n = len(self.nodes)
            lines.append(
                f"all {len(self.vlans)} VLANs ({format_ranges(self.vlans)}) carried between all "
                f"{n} nodes ({n * (n - 1)} directed pairs)"
            )
        return lines


def report_from(
    vlans: list[int],
    nodes: list[str],
    interfaces: dict[str, str],
    sender_ids: dict[str, str],
    captures: dict[str, VlanCaptureResult],
) -> VlanReport:
    """Fold the agents' capture results into a report (``sender_ids``: id in the payload -> node)."""
    rep = VlanReport(vlans=list(vlans), nodes=list(nodes), interfaces=dict(interfaces))
    wanted = set(vlans)
    for receiver, cap in captures.items():
        got: dict[str, set[int]] = {}
        for h in cap.heard:
            sender = sender_ids.get(h.sender)
            if sender is None or sender == receiver:
                continue
            got.setdefault(sender, set()).update(v for v in h.vlans if v in wanted)
            for m in h.mismatched[:10]:
                rep.mismatched.append(
                    f"{receiver} {cap.interface} heard VLAN {vlan_label(m.sent)} from {sender} "
                    f"as {vlan_label(m.seen)} (tag changed on the way)"
                )
        rep.heard[receiver] = got
        if cap.kernel_drops:
            rep.drops[receiver] = cap.kernel_drops
    return rep


# ---- run -----------------------------------------------------------------------


def sender_id(node: NodeConfig, index: int) -> str:
    return node.name if _SENDER_OK.match(node.name) else f"node{index}"


async def resolve_interfaces(
    client: AgentClient, config: ControllerConfig, nodes: list[NodeConfig], interface: str | None, network: str | None
) -> tuple[dict[str, str], dict[str, AgentError]]:
    """node -> interface to probe; nodes that cannot take part -> their error."""
    if interface:
        return {n.name: interface for n in nodes}, {}
    net = network or (DEFAULT_NETWORK if DEFAULT_NETWORK in config.networks else None)
    if net is None:
        raise UsageError(
            "no --interface, no --network, and no network named 'tenant' in the config",
            "give --interface IFACE or --network NAME "
            f"(networks in {config.source}: {', '.join(config.networks) or 'none'})",
        )
    if net not in config.networks:
        raise UsageError(
            f"network {net!r} is not in [networks] of {config.source}",
            f"known networks: {', '.join(config.networks) or 'none'}",
        )
    outcomes = await client.fan_out(nodes, lambda n: api.info(client, n))
    found: dict[str, str] = {}
    errors: dict[str, AgentError] = {}
    for o in outcomes:
        if o.value is None:
            if o.error is not None:
                errors[o.node.name] = o.error
            continue
        on_net = interface_on_network(config, o.value, net)
        if not on_net:
            errors[o.node.name] = AgentError(f"has no address on network {net} ({config.networks[net]})")
        else:
            found[o.node.name] = on_net[0].interface
    return found, errors


async def run_check(
    client: AgentClient,
    config: ControllerConfig,
    nodes: list[NodeConfig],
    vlans: list[int],
    *,
    interface: str | None = None,
    network: str | None = None,
    duration: float = 20.0,
    grace: float = 0.3,
    rate: float | None = None,
    repeat: int = 1,
) -> VlanReport:
    """Every node listens; then every node sends its sweep at once (told apart by the payload); collect."""
    if len(nodes) < 2:
        raise UsageError("a VLAN check needs at least two nodes", "give --nodes A,B[,...] or configure more nodes")
    names = [n.name for n in nodes]
    interfaces, problems = await resolve_interfaces(client, config, nodes, interface, network)
    run_id = secrets.token_hex(8)
    ids = {n.name: sender_id(n, i) for i, n in enumerate(nodes)}
    sender_ids = {v: k for k, v in ids.items()}
    active = [n for n in nodes if n.name in interfaces]
    sweep = len(vlans) * repeat / rate if rate else 0.0
    if sweep + grace + 5 > MAX_LISTEN_SECONDS:
        raise UsageError(
            f"{len(vlans) * repeat} frames at {rate:g} frames/s take {sweep:.0f} s: captures last at "
            f"most {MAX_LISTEN_SECONDS:g} s",
            "raise --rate or check fewer VLANs at a time",
        )
    duration = min(max(duration, sweep + grace + 5, 1.0), MAX_LISTEN_SECONDS)

    listens = await client.fan_out(
        active,
        lambda n: api.vlan_listen(
            client, n, VlanListenRequest(interface=interfaces[n.name], run_id=run_id, duration=duration)
        ),
    )
    started: dict[str, VlanListenStarted] = {}
    for listen in listens:
        if listen.value is not None:
            started[listen.node.name] = listen.value
        elif listen.error is not None:
            problems[listen.node.name] = listen.error
    # only nodes still answering send; the listeners are bound already (listen answers after bind)
    senders = [n for n in active if not isinstance(problems.get(n.name), AgentUnreachableError)]
    sends = await client.fan_out(
        senders,
        lambda n: api.vlan_send(
            client,
            n,
            VlanSendRequest(
                interface=interfaces[n.name], run_id=run_id, sender=ids[n.name], vlans=vlans, repeat=repeat, rate=rate
            ),
        ),
    )
    collects = await client.fan_out(
        [n for n in active if n.name in started],
        lambda n: api.vlan_collect(client, n, started[n.name].capture_id, VlanCollectRequest(grace=grace)),
    )

    captures: dict[str, VlanCaptureResult] = {}
    for collect in collects:
        if collect.value is None:
            if collect.error is not None:
                problems.setdefault(collect.node.name, collect.error)
        elif collect.value.verdict != Verdict.ERROR:
            captures[collect.node.name] = collect.value
        else:
            problems.setdefault(collect.node.name, AgentError(f"capture failed: {collect.value.error}"))
    rep = report_from(vlans, names, interfaces, sender_ids, captures)
    rep.listened = set(captures)
    for send in sends:
        if send.value is None:
            if send.error is not None:
                problems.setdefault(send.node.name, send.error)
        elif send.value.verdict == Verdict.OK:
            rep.sent.add(send.node.name)
        else:
            problems.setdefault(send.node.name, AgentError(f"send failed: {send.value.error}"))
    for name, err in problems.items():
        rep.errors[name] = err.message if isinstance(err, AgentError) else str(err)
        if isinstance(err, AgentUnreachableError):
            rep.unreachable.add(name)
    return rep
