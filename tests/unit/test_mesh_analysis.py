from steth.controller.checks.mesh import MeshRow, Thresholds, findings, judge, matrix
from steth.wire.models import Verdict

NODES = ["a", "b", "c"]


def rows(net="n1", fail=(), error=()):
    out = []
    for s in NODES:
        for d in NODES:
            if s == d:
                continue
            v = Verdict.ERROR if (s, d) in error else Verdict.FAIL if (s, d) in fail else Verdict.OK
            ok = v is Verdict.OK
            out.append(
                MeshRow(
                    net,
                    s,
                    d,
                    "10.0.0.1",
                    3,
                    3 if ok else 0,
                    0.0 if ok else 100.0,
                    0.1 if ok else None,
                    0.2 if ok else None,
                    0.3 if ok else None,
                    0.01 if ok else None,
                    v,
                )
            )
    return out


def test_all_ok():
    assert findings(rows(), []) == ["all 6 pairs ok on n1"]


def test_node_cut_off():
    bad = {(s, d) for s in NODES for d in NODES if s != d and "c" in (s, d)}
    assert findings(rows(fail=bad), []) == ["n1: c is cut off: it reaches no peer and no peer reaches it (its link?)"]


def test_node_unreachable_inbound_only_and_outbound_only():
    inbound = {("a", "c"), ("b", "c")}
    assert findings(rows(fail=inbound), []) == [
        "n1: c is unreachable from every peer but reaches them (inbound filtering on c?)"
    ]
    outbound = {("c", "a"), ("c", "b")}
    assert findings(rows(fail=outbound), []) == [
        "n1: c reaches no peer but every peer reaches it (outbound filtering on c?)"
    ]


def test_pair_and_asymmetric():
    assert findings(rows(fail={("a", "b"), ("b", "a")}), []) == ["n1: a and b cannot reach each other (this pair only)"]
    assert findings(rows(fail={("a", "b")}), []) == ["n1: a -> b fails while b -> a works (asymmetric)"]


def test_whole_network_and_one_network_only():
    every = {(s, d) for s in NODES for d in NODES if s != d}
    assert findings(rows(fail=every), [])[0].startswith("n1: no pair works (6 pairs fail)")
    mixed = rows("n1", fail={("a", "b")}) + rows("n2")
    out = findings(mixed, [])
    assert out[-1] == "only network n1 is affected; n2 are healthy"


def test_unreachable_agent_is_named_and_error_rows_do_not_count_as_failures():
    errs = {("c", "a"), ("c", "b"), ("a", "c"), ("b", "c")}
    out = findings(rows(error=errs), ["c"])
    assert out == ["agent c is unreachable: no probes from it, and its addresses are unknown"]


def test_thresholds():
    t = Thresholds(max_loss_pct=10, max_rtt_ms=5)
    assert judge(0.0, 1.0, 3, t) is Verdict.OK
    assert judge(33.3, 1.0, 2, t) is Verdict.FAIL
    assert judge(0.0, 7.5, 3, t) is Verdict.FAIL
    assert judge(100.0, None, 0, Thresholds(max_loss_pct=100)) is Verdict.FAIL
    assert judge(5.0, 1.0, 19, t) is Verdict.OK


def test_matrix_cells():
    cols, table = matrix(rows(fail={("a", "b")}), NODES)
    assert cols == ["net", "from \\ to", "a", "b", "c"]
    assert table[0] == ["n1", "a", "-", "FAIL 100%", "ok 0.20ms"]


def test_probe_settings_are_bounded_like_the_agent_request():
    import pytest
    from pydantic import ValidationError

    from steth.controller.checks.mesh import ProbeSettings

    assert ProbeSettings(count=1).count == 1
    with pytest.raises(ValidationError) as exc:
        ProbeSettings(count=0)
    assert exc.value.errors()[0]["loc"] == ("count",)
