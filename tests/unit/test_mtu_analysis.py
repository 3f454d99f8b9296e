from steth.controller.checks.mtu import MtuRow, candidates, findings
from steth.wire.models import Verdict


def test_candidates_cover_the_range_and_narrow_it():
    c = candidates(39, 1471)
    assert len(c) == 16 and c[-1] == 1471 and c[0] > 39 and c == sorted(set(c))
    assert candidates(100, 110) == list(range(101, 111))
    assert candidates(5, 5) == []


def test_search_converges_in_few_rounds():
    """Simulate the search loop on a path whose largest payload is 1376 (MTU 1404)."""
    lo, hi, rounds, limit = 39, 1471, 0, 1376
    while True:
        sizes = candidates(lo, hi)
        if not sizes:
            break
        rounds += 1
        passed = [s for s in sizes if s <= limit]
        failed = [s for s in sizes if s > limit]
        lo = max(passed, default=lo)
        hi = min(failed) - 1 if failed else lo
    assert lo == limit and rounds <= 4


def path(net, s, d, exp, got):
    ok = got == exp
    return MtuRow(
        net,
        "path",
        s,
        d,
        "",
        exp,
        got,
        Verdict.OK if ok else Verdict.FAIL,
        "" if ok else f"path MTU {s} -> {d} is {got} < {exp}",
    )


def test_node_level_finding_and_interface_note():
    nodes = ["a", "b", "c"]
    rows = [path("t", s, d, 1500, 1400 if "c" in (s, d) else 1500) for s in nodes for d in nodes if s != d]
    rows.append(
        MtuRow("t", "interface", "c", "", "eth1", 1500, 1400, Verdict.FAIL, "c eth1 has MTU 1400, t expects 1500")
    )
    out = findings(rows, {}, {}, {"t": 1500})
    assert out[0] == "c eth1 has MTU 1400, t expects 1500"
    assert out[1].startswith("t: every path to and from c has a lower MTU (1400 < 1500)")
    assert len(out) == 2


def test_single_pair_finding():
    rows = [path("t", "a", "b", 1500, 1450), path("t", "b", "a", 1500, 1500)]
    assert findings(rows, {}, {}, {"t": 1500})[0].startswith("t: path MTU a -> b is 1450 < 1500")


def test_tunnel_safe_mtu_and_neutron_warning():
    rows = [path("t", "a", "b", 1500, 1500)]
    out = findings(rows, {"t": "vxlan"}, {"global_physnet_mtu": 1500}, {"t": 1500})
    assert out == ["t carries vxlan over IPv4: largest safe instance MTU 1450 (1500 - 50)"]
    rows = [path("t", "a", "b", 1500, 1400)]
    out = findings(rows, {"t": "geneve"}, {"global_physnet_mtu": 1500}, {"t": 1500}, {"t": 6})
    assert "largest safe instance MTU 1322 (1400 - 78)" in out[-1]
    assert "WARNING: Neutron would give geneve networks MTU 1422" in out[-1]
