"""End to end: `steth check all` on the lab, healthy and with two faults at once."""

from __future__ import annotations

import pytest

from ..browser import render
from ..conftest import steth
from .conftest import LAB

pytestmark = [pytest.mark.root, pytest.mark.e2e]


def run(lab, *args):
    return steth(*args, env=lab["env"])


def rows_of(r):
    return {x["check"]: x for x in r.json()}


def test_healthy_lab_passes_every_check(lab, tmp_path):
    page = tmp_path / "all.html"
    r = run(lab, "check", "all", "-f", "json", "--html", str(page))
    assert r.rc == 0, r.out + r.err
    rows = rows_of(r)
    neutron_steps = ("neutron-agents", "ovs-bridges", "linuxbridge")
    assert list(rows) == ["agents", *neutron_steps, "mesh", "mtu", "vlan", "bandwidth"]
    # no cloud configured for this lab: the Neutron steps say why they did not run
    assert all(rows[k]["verdict"] == "skipped" and "no cloud configured" in rows[k]["detail"] for k in neutron_steps)
    assert all(x["verdict"] == "ok" for k, x in rows.items() if k not in neutron_steps)
    assert rows["vlan"]["scope"] == "tenant: 100-199"  # from [vlans] of the lab's config
    assert "steth check all" in page.read_text()


def test_faults_are_named_by_their_own_check_only(lab, tmp_path):
    added = []
    try:
        for args in (
            ["vlan-prune", "--node", "compute-2", "--vlans", "150"],
            ["rate-limit", "--node", "compute-1", "--network", "tenant", "--rate", "100mbit"],
        ):
            r = run(lab, "lab", "fault", "add", "--name", LAB, *args)
            assert r.rc == 0, r.err
            added.append(r.out.split(":")[0])
        page = tmp_path / "broken.html"
        r = run(lab, "check", "all", "-f", "json", "--html", str(page))
        assert r.rc == 1
        rows = rows_of(r)
        shown = render(str(page))  # the report as a browser shows it: self-contained, faults in words
        assert shown.requests == []
        assert "What needs attention" in shown.dom
        assert "<th>150</th>" in shown.dom and "MISSING" in shown.dom  # the pruned VLAN is its own column
        assert "<th>100-149</th>" in shown.dom and "<th>151-199</th>" in shown.dom
        assert {k for k, x in rows.items() if x["verdict"] not in ("ok", "skipped")} == {"vlan", "bandwidth"}
        assert "VLAN 150 is not carried to compute-2" in rows["vlan"]["detail"]
        assert "compute-1" in r.err and "bandwidth" in r.err
        quick = run(lab, "check", "all", "--quick", "-f", "json")
        assert quick.rc == 1 and rows_of(quick)["bandwidth"]["verdict"] == "skipped"
    finally:
        for fid in added:
            run(lab, "lab", "fault", "remove", "--name", LAB, fid)
