"""The `check all --html` report: what an operator forwards to the network team.

A summary first (what failed, where, what to do next), then per network the loss and rtt
heatmaps, the path MTU per pair, the VLAN matrix (node pairs x VLAN ranges, missing ranges marked),
and the bandwidth per pair against the expected rate. Every cell says its verdict in words as well
as in colour, the page fetches nothing, and it prints on paper (see html._CSS's print rules).

Inputs are read through Protocols (the controller's rows), so this module imports nothing of the
controller.
"""

from __future__ import annotations

import html as esc
from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol

from . import html
from .mesh import MeshRow, mesh_sections


class StepRow(Protocol):
    @property
    def check(self) -> str: ...
    @property
    def scope(self) -> str: ...
    @property
    def findings(self) -> list[str]: ...
    @property
    def seconds(self) -> float: ...
    @property
    def verdict(self) -> object: ...  # an enum whose .value is ok/fail/error/skipped


class MtuRow(Protocol):
    @property
    def network(self) -> str: ...
    @property
    def check(self) -> str: ...  # path | interface
    @property
    def source(self) -> str: ...
    @property
    def destination(self) -> str: ...
    @property
    def expected_mtu(self) -> int: ...
    @property
    def measured_mtu(self) -> int | None: ...
    @property
    def verdict(self) -> object: ...


class VlanResult(Protocol):
    @property
    def vlans(self) -> list[int]: ...
    def pairs(self) -> Iterator[tuple[str, str]]: ...
    def pair_ok(self, s: str, r: str) -> bool: ...
    def missing(self, s: str, r: str) -> set[int]: ...


class BandwidthRow(Protocol):
    @property
    def network(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def destination(self) -> str: ...
    @property
    def bits_per_second(self) -> float | None: ...
    @property
    def expected_bits_per_second(self) -> int | None: ...
    @property
    def verdict(self) -> object: ...
    @property
    def error(self) -> str: ...


def _v(verdict: object) -> str:
    return str(getattr(verdict, "value", verdict))


def _mark(verdict: str) -> str:
    """A verdict as words with its colour class: readable in black and white."""
    label = {"ok": "ok", "fail": "FAIL", "error": "ERROR", "skipped": "skipped", "warn": "WARN"}.get(verdict, verdict)
    return f"<span class='v {esc.escape(verdict)}'>{esc.escape(label)}</span>"


def _table(columns: Sequence[str], rows: Iterable[Sequence[str]], classes: Iterable[str] = ()) -> str:
    """Cells are HTML already (escaped by the caller)."""
    out = ["<table class='rows'><tr>", *(f"<th>{esc.escape(c)}</th>" for c in columns), "</tr>"]
    cls = iter(classes)
    for row in rows:
        out.append(f"<tr class='{esc.escape(next(cls, ''))}'>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>")
    out.append("</table>")
    return "".join(out)


def summary(steps: Sequence[StepRow]) -> str:
    """What failed, where, and the next step (each step's findings say it), problems first."""
    bad = [s for s in steps if _v(s.verdict) in ("fail", "error")]
    if not bad:
        return "<p class='ok'><b>Every check passed.</b></p>"
    rows = [
        (_mark(_v(s.verdict)), esc.escape(s.check), esc.escape(s.scope), "<br>".join(esc.escape(f) for f in s.findings))
        for s in bad
    ]
    return "<h2>What needs attention</h2>" + _table(["verdict", "check", "where", "findings and next step"], rows)


def steps_table(steps: Sequence[StepRow]) -> str:
    rows = [
        (
            esc.escape(s.check),
            esc.escape(s.scope),
            _mark(_v(s.verdict)),
            "<br>".join(esc.escape(f) for f in s.findings),
        )
        + (f"{s.seconds:.1f}",)
        for s in steps
    ]
    return "<h2>All checks</h2>" + _table(
        ["check", "scope", "verdict", "findings", "seconds"], rows, (_v(s.verdict) for s in steps)
    )


def mtu_table(rows: Sequence[MtuRow], network: str) -> str:
    paths = [r for r in rows if r.network == network and r.check == "path"]
    if not paths:
        return ""
    cells = [
        (
            esc.escape(r.source),
            esc.escape(r.destination),
            str(r.expected_mtu),
            "-" if r.measured_mtu is None else str(r.measured_mtu),
            _mark(_v(r.verdict)),
        )
        for r in paths
    ]
    return "<h3>path MTU per pair</h3>" + _table(
        ["source", "destination", "expected", "measured", "verdict"], cells, (_v(r.verdict) for r in paths)
    )


def vlan_segments(report: VlanResult) -> list[tuple[list[int], dict[tuple[str, str], str]]]:
    """Consecutive VLANs that every pair sees alike, as one column: (VLANs, pair -> ok/missing/error)."""
    pairs = list(report.pairs())
    missing = {p: report.missing(*p) for p in pairs}

    def state(vlan: int) -> dict[tuple[str, str], str]:
        return {p: "error" if not report.pair_ok(*p) else "missing" if vlan in missing[p] else "ok" for p in pairs}

    segments: list[tuple[list[int], dict[tuple[str, str], str]]] = []
    for vlan in sorted(report.vlans):
        here = state(vlan)
        if segments and segments[-1][1] == here and segments[-1][0][-1] == vlan - 1:
            segments[-1][0].append(vlan)
        else:
            segments.append(([vlan], here))
    return segments


def vlan_matrix(network: str, report: VlanResult) -> str:
    segments = vlan_segments(report)
    heads = [f"{v[0]}" if len(v) == 1 else f"{v[0]}-{v[-1]}" for v, _ in segments]
    labels = {"ok": "carried", "missing": "MISSING", "error": "not measured"}
    out = [f"<h3>VLAN trunk: {esc.escape(network)}</h3><table class='hm'><tr><th>source -&gt; destination</th>"]
    out += [f"<th>{esc.escape(h)}</th>" for h in heads]
    out.append("</tr>")
    for pair in report.pairs():
        out.append(f"<tr><th>{esc.escape(pair[0])} -&gt; {esc.escape(pair[1])}</th>")
        for _, states in segments:
            st = states[pair]
            out.append(f"<td class='cell-{st}'>{labels[st]}</td>")
        out.append("</tr>")
    out.append("</table>")
    return "".join(out)


def _rate(bps: float | None) -> str:
    if bps is None:
        return "-"
    for unit, scale in (("Gbit/s", 1e9), ("Mbit/s", 1e6), ("kbit/s", 1e3)):
        if bps >= scale:
            return f"{bps / scale:.2f} {unit}"
    return f"{bps:.0f} bit/s"


def bandwidth_table(rows: Sequence[BandwidthRow], network: str) -> str:
    mine = [r for r in rows if r.network == network]
    if not mine:
        return ""
    cells = [
        (
            esc.escape(r.source),
            esc.escape(r.destination),
            _rate(r.bits_per_second),
            _rate(float(r.expected_bits_per_second)) if r.expected_bits_per_second else "not set",
            _mark(_v(r.verdict)),
            esc.escape(r.error),
        )
        for r in mine
    ]
    return "<h3>bandwidth per pair</h3>" + _table(
        ["source", "destination", "measured", "expected", "verdict", "detail"], cells, (_v(r.verdict) for r in mine)
    )


def page(
    steps: Sequence[StepRow],
    nodes: list[str],
    networks: list[str],
    mesh_rows: Sequence[MeshRow],
    mtu_rows: Sequence[MtuRow],
    vlan_reports: dict[str, VlanResult],
    bandwidth_rows: Sequence[BandwidthRow],
    ok: bool,
    title: str = "steth check all",
) -> str:
    parts = [html.head(title, ok), summary(steps), steps_table(steps)]
    maps = dict(mesh_sections(mesh_rows, nodes, networks))
    for net in networks:
        parts.append(f"<h2>network {esc.escape(net)}</h2>")
        parts += [html.heatmap(m) for m in maps.get(f"network {net}", [])]
        parts.append(mtu_table(mtu_rows, net))
        if net in vlan_reports:
            parts.append(vlan_matrix(net, vlan_reports[net]))
        parts.append(bandwidth_table(bandwidth_rows, net))
    for net, report in vlan_reports.items():
        if net not in networks:
            parts.append(vlan_matrix(net, report))
    parts.append("</body></html>")
    return "\n".join(p for p in parts if p)
