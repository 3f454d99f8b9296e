"""Analysis of a VLAN check: rows, per-pair rows, and the summary naming what is missing where."""

from __future__ import annotations

from steth.controller.checks.vlan import VlanReport, report_from
from steth.controller.commands.vlan import exit_status
from steth.wire.vlan import VlanCaptureResult, VlanHeard, VlanMismatch

NODES = ["network", "compute-1", "compute-2"]
VLANS = list(range(100, 200))


def full(nodes=NODES, vlans=VLANS) -> VlanReport:
    rep = VlanReport(vlans=list(vlans), nodes=list(nodes), interfaces={n: "eth1" for n in nodes})
    rep.heard = {r: {s: set(vlans) for s in nodes if s != r} for r in nodes}
    rep.sent = set(nodes)
    rep.listened = set(nodes)
    return rep


def drop(rep: VlanReport, s: str, r: str, vlans) -> None:
    rep.heard[r][s] -= set(vlans)


def test_healthy():
    rep = full()
    assert not rep.has_failures and exit_status(rep) == 0
    assert rep.summary() == ["all 100 VLANs (100-199) carried between all 3 nodes (6 directed pairs)"]
    rows = list(rep.rows())
    assert len(rows) == 100 * 6 and {r["verdict"] for r in rows} == {"ok"}
    assert set(rows[0]) >= {"vlan", "source", "destination", "verdict"}


def test_pruned_toward_one_node_is_named_per_node():
    rep = full()
    for s in ("network", "compute-1"):
        drop(rep, s, "compute-2", [105])
    for s in ("network", "compute-2"):
        drop(rep, s, "compute-1", [150, 151, 152])
    assert exit_status(rep) == 1
    assert rep.summary() == [
        "VLAN 105 is not carried to compute-2 eth1 (compute-2 hears no peer on it)",
        "VLANs 150-152 are not carried to compute-1 eth1 (compute-1 hears no peer on it)",
    ]
    fails = {(r["vlan"], r["source"], r["destination"]) for r in rep.rows() if r["verdict"] == "fail"}
    assert fails == {
        (105, "network", "compute-2"),
        (105, "compute-1", "compute-2"),
        (150, "network", "compute-1"),
        (151, "network", "compute-1"),
        (152, "network", "compute-1"),
        (150, "compute-2", "compute-1"),
        (151, "compute-2", "compute-1"),
        (152, "compute-2", "compute-1"),
    }
    pairs = {(p["source"], p["destination"]): p for p in rep.pair_rows()}
    assert pairs[("network", "compute-1")]["missing"] == "150-152" and pairs[("network", "compute-1")]["ok"] == 97
    assert pairs[("compute-1", "network")]["verdict"] == "ok"


def test_missing_only_between_two_nodes():
    rep = full()
    drop(rep, "compute-1", "compute-2", [105])
    drop(rep, "compute-2", "compute-1", [105])
    assert rep.summary() == ["VLAN 105 is missing only between compute-1 and compute-2"]


def test_one_direction_only():
    rep = full()
    drop(rep, "compute-1", "compute-2", [120, 121])
    assert rep.summary() == ["VLANs 120-121 are missing only from compute-1 to compute-2"]


def test_node_cut_both_ways_and_from():
    rep = full()
    for n in ("network", "compute-1"):
        drop(rep, n, "compute-2", [130])
        drop(rep, "compute-2", n, [130])
        drop(rep, "compute-1", "network" if n == "compute-1" else "compute-2", [])
    drop(rep, "compute-1", "network", [140])
    drop(rep, "compute-1", "compute-2", [140])
    assert rep.summary() == [
        "VLAN 130 is not carried on compute-2 eth1 (compute-2 hears no peer and no peer hears compute-2)",
        "VLAN 140 is not carried from compute-1 eth1 (no peer hears compute-1)",
    ]


def test_vlan_missing_everywhere():
    rep = full()
    for r in NODES:
        for s in NODES:
            if s != r:
                drop(rep, s, r, [199])
    assert rep.summary() == ["VLAN 199 is carried between none of the nodes"]


def test_two_nodes_one_direction_names_the_receiver():
    rep = full(nodes=["a", "b"])
    drop(rep, "a", "b", [100])
    assert rep.summary() == ["VLAN 100 is not carried to b eth1 (b hears no peer on it)"]


def test_unreachable_node_rows_are_errors_and_exit_3():
    rep = full()
    rep.sent.discard("compute-2")
    rep.listened.discard("compute-2")
    rep.errors["compute-2"] = "agent compute-2 at 10.0.0.12:9698 is unreachable"
    rep.unreachable.add("compute-2")
    verdicts = {(r["source"], r["destination"]): r["verdict"] for r in rep.rows()}
    assert verdicts[("network", "compute-2")] == "error" and verdicts[("network", "compute-1")] == "ok"
    assert exit_status(rep) == 3
    assert any("unreachable" in line for line in rep.summary())


def test_report_from_captures_maps_sender_ids_and_mismatches():
    cap = VlanCaptureResult(
        capture_id="00" * 8,
        run_id="ab",
        interface="eth1",
        frames=3,
        ignored=1,
        kernel_drops=2,
        verdict="ok",
        heard=[
            VlanHeard(
                sender="node1", interface="eth1", vlans=[1, 2, 9999 % 4095], mismatched=[VlanMismatch(sent=3, seen=4)]
            ),
            VlanHeard(sender="stranger", interface="eth1", vlans=[1]),
        ],
    )
    rep = report_from([1, 2, 3], ["a", "b"], {"a": "eth1", "b": "eth1"}, {"node0": "a", "node1": "b"}, {"a": cap})
    assert rep.heard == {"a": {"b": {1, 2}}}
    assert rep.drops == {"a": 2}
    assert rep.mismatched == ["a eth1 heard VLAN 3 from b as 4 (tag changed on the way)"]
