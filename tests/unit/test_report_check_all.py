"""The check all report: VLAN columns grouped by what the pairs see, verdicts in words, problems first."""

from __future__ import annotations

from dataclasses import dataclass

from steth.controller.checks.vlan import VlanReport
from steth.report import check_all
from steth.wire.models import Verdict


@dataclass
class Step:
    check: str
    scope: str
    verdict: Verdict
    findings: list[str]
    seconds: float = 0.1


def trunk() -> VlanReport:
    nodes = ["a", "b", "c"]
    report = VlanReport(vlans=list(range(100, 110)), nodes=nodes, sent=set(nodes), listened={"a", "b"})
    heard = set(range(100, 110))
    report.heard = {"a": {"b": heard, "c": heard}, "b": {"a": heard - {104, 105}, "c": heard}}
    return report


def test_vlan_segments_split_where_pairs_differ():
    segments = check_all.vlan_segments(trunk())
    assert [(v[0], v[-1]) for v, _ in segments] == [(100, 103), (104, 105), (106, 109)]
    middle = segments[1][1]
    assert middle[("a", "b")] == "missing" and middle[("c", "b")] == "ok"
    assert middle[("a", "c")] == "error"  # c's capture never came back: not measured, not missing


def test_matrix_names_the_missing_range_in_words():
    text = check_all.vlan_matrix("tenant", trunk())
    assert "<th>104-105</th>" in text and "MISSING" in text and "not measured" in text


def test_summary_lists_only_problems_with_their_findings():
    steps = [
        Step("mesh", "tenant", Verdict.OK, ["all pairs ok"]),
        Step("vlan", "tenant: 100-109", Verdict.FAIL, ["VLAN 104-105 is not carried a -> b", "check the switch"]),
    ]
    text = check_all.summary(steps)
    assert "VLAN 104-105 is not carried a -&gt; b<br>check the switch" in text and "all pairs ok" not in text
    assert "FAIL" in text
    assert "Every check passed" in check_all.summary(steps[:1])


def test_page_has_every_section():
    steps = [Step("vlan", "tenant", Verdict.FAIL, ["missing"])]
    page = check_all.page(steps, ["a", "b", "c"], ["tenant"], [], [], {"tenant": trunk()}, [], ok=False)
    assert page.startswith("<!doctype html>") and page.endswith("</html>")
    for part in ("What needs attention", "All checks", "network tenant", "VLAN trunk: tenant", "@media print"):
        assert part in page
