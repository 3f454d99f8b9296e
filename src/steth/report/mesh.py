"""The HTML page of a mesh: loss and rtt heatmaps per network, findings first (`check mesh`, `check all`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from . import html


class MeshRow(Protocol):
    """What the page reads of a mesh result row (controller/checks/mesh.py's MeshRow)."""

    @property
    def network(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def destination(self) -> str: ...
    @property
    def loss_pct(self) -> float: ...
    @property
    def rtt_avg_ms(self) -> float | None: ...
    @property
    def verdict(self) -> str: ...


RTT_RED_MS = 10.0  # an average rtt at (or above) this shows red, unless --max-rtt or the data say more


def mesh_sections(
    rows: Sequence[MeshRow], nodes: list[str], networks: list[str], max_rtt: float | None = None
) -> list[tuple[str, list[html.Heatmap]]]:
    """Per network a loss and an average-rtt heatmap (source x destination)."""
    by = {(r.network, r.source, r.destination): r for r in rows}
    rtts = [r.rtt_avg_ms for r in rows if r.rtt_avg_ms is not None]
    # absolute scale from 0: sub-millisecond differences on a LAN must not look red
    rtt_color = html.scale_color(0.0, max([RTT_RED_MS, *(([max_rtt] if max_rtt else []) + rtts)]))
    sections = []
    for net in networks:

        def loss(s: str, d: str, net: str = net) -> float | None:
            r = by.get((net, s, d))
            return None if r is None or r.verdict == "error" else r.loss_pct

        def rtt(s: str, d: str, net: str = net) -> float | None:
            r = by.get((net, s, d))
            return None if r is None else r.rtt_avg_ms

        sections.append(
            (
                f"network {net}",
                [
                    html.Heatmap("loss %", nodes, nodes, loss, html.loss_color, lambda v: f"{v:g}%"),
                    html.Heatmap("average rtt (ms)", nodes, nodes, rtt, rtt_color, lambda v: f"{v:.2f}"),
                ],
            )
        )
    return sections


def mesh_page(
    rows: Sequence[MeshRow],
    nodes: list[str],
    networks: list[str],
    findings: list[str],
    ok: bool,
    max_rtt: float | None = None,
    title: str = "steth check mesh",
) -> str:
    return html.page(title, mesh_sections(rows, nodes, networks, max_rtt), findings, ok)
