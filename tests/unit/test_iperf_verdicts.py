"""Verdicts against the expected bandwidth, and the summary people read."""

from steth.controller.checks.bandwidth import Row, slow_nodes, summary, verdict_for
from steth.wire.models import Verdict

G = 10**9


def row(src, dst, bps, expected=G, verdict=None, error=""):
    r = Row(
        round=1,
        network="tenant",
        source=src,
        destination=dst,
        client=src,
        server=dst,
        protocol="tcp",
        bits_per_second=bps,
        expected_bits_per_second=expected,
    )
    r.verdict = verdict or (Verdict.ERROR if error else verdict_for(bps, expected))
    r.error = error
    return r


def test_verdict_against_threshold():
    assert verdict_for(95e6, G) == Verdict.FAIL
    assert verdict_for(9e9, G) == Verdict.OK
    assert verdict_for(G, G) == Verdict.OK  # meeting it exactly is enough
    assert verdict_for(1.0, None) == Verdict.OK  # no threshold: a figure, not a judgement


def test_summary_names_slowest_and_the_common_node():
    rows = [row("c1", "c2", 95e6), row("c2", "nw", 94e6), row("nw", "c1", 8e9), row("c2", "c1", 93e6)]
    lines = summary(rows)
    assert lines[0].startswith("slowest: c2 -> c1 (tenant) 93 Mbit/s; c2 -> nw (tenant) 94 Mbit/s; c1 -> c2")
    assert lines[1] == "3 of 4 results below 1 Gbit/s; every slow result involves c2"
    assert slow_nodes(rows) == {"c2"}


def test_summary_without_common_node_counts_nodes():
    rows = [row("a", "b", 1e6), row("c", "d", 2e6), row("a", "d", 3e6), row("b", "c", 5e9)]
    line = summary(rows)[1]
    assert "3 of 4 results below 1 Gbit/s; nodes in slow results: a (2), d (2)" in line
    assert slow_nodes(rows) == set()


def test_summary_all_ok_and_errors():
    rows = [row("a", "b", 5e9), row("a", "c", None, error="iperf3 server on c: agent c is unreachable")]
    rows[1].bits_per_second = None
    lines = summary(rows)
    assert "all 1 results meet the expected bandwidth" in lines
    assert lines[-1] == "1 result(s) could not be measured: a -> c: iperf3 server on c: agent c is unreachable"


def test_row_values_match_columns():
    r = row("a", "b", 95_123_456.7)
    values = dict(zip(Row.COLUMNS, r.values()))
    assert values["bits_per_second"] == 95_123_457 and values["throughput"] == "95.1 Mbit/s"
    assert values["verdict"] == "fail" and values["network"] == "tenant"
    assert {"network", "source", "destination", "bits_per_second", "verdict", "started_at", "ended_at"} <= set(values)
