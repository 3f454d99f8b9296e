"""Reports rendered in a real browser (headless Chromium): the expected cells are in the DOM, and the
page fetches nothing from the network (self-contained)."""

from __future__ import annotations

import pytest

from steth.report import html

from ..browser import render


@pytest.fixture
def page_file(tmp_path):
    def write(text: str) -> str:
        path = tmp_path / "report.html"
        path.write_text(text)
        return str(path)

    return write


def test_the_recorder_sees_a_page_that_fetches(page_file):
    """The control: a page with an external stylesheet and image is caught (so the next tests can fail)."""
    path = page_file(
        "<html><head><link rel=stylesheet href='http://cdn.invalid/x.css'></head>"
        "<body><img src='http://cdn.invalid/y.png'>x</body></html>"
    )
    requests = render(path).requests
    assert any("cdn.invalid" in r for r in requests), requests


def test_mesh_heatmap_page_is_self_contained(page_file):
    loss = {("a", "b"): 0.0, ("b", "a"): 100.0}
    heatmap = html.Heatmap(
        "tenant: loss %", ["a", "b"], ["a", "b"], lambda r, c: loss.get((r, c)), html.loss_color, lambda v: f"{v:.0f}%"
    )
    path = page_file(html.page("steth check mesh", [("tenant", [heatmap])], ["b -> a: 100 % loss"], ok=False))
    shown = render(path)
    assert shown.requests == []
    assert "b -&gt; a: 100 % loss" in shown.dom and "100%" in shown.dom and "problems found" in shown.dom


def test_table_page_rows_rendered(page_file):
    rows = [(1, "control", "port admin state", "ok", "admin_state_up"), (2, "data", "MTU", "fail", "1450 > 1400")]
    text = html.table_page(
        "steth doctor vm1", ["root cause: MTU"], ["#", "plane", "check", "verdict", "evidence"], rows, ok=False
    )
    shown = render(page_file(text))
    assert shown.requests == []
    assert "<td>1450 &gt; 1400</td>" in shown.dom and "root cause: MTU" in shown.dom
