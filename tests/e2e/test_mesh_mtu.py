"""End to end: check mesh and check mtu on the lab, healthy and with each fault kind."""

from __future__ import annotations

import pytest

from ..conftest import steth
from .conftest import LAB

pytestmark = [pytest.mark.root, pytest.mark.e2e]


def run(lab, *args):
    return steth(*args, env=lab["env"])


class fault:
    """Inject a lab fault for the duration of a with-block; always removed."""

    def __init__(self, lab, *args):
        self.lab, self.args = lab, args

    def __enter__(self):
        r = run(self.lab, "lab", "fault", "add", "--name", LAB, *self.args)
        assert r.rc == 0, r.err
        self.id = r.out.split(":")[0]
        return self

    def __exit__(self, *exc):
        assert run(self.lab, "lab", "fault", "remove", "--name", LAB, self.id).rc == 0


def failing(rows):
    return {(r["network"], r["source"], r["destination"]) for r in rows if r["verdict"] != "ok"}


def mesh(lab, *extra):
    r = run(lab, "check", "mesh", "--count", "2", "--timeout", "0.5", "-f", "json", *extra)
    return r, r.json() if r.out.strip().startswith("[") else []


def mtu(lab, *extra):
    r = run(lab, "check", "mtu", "--timeout", "0.5", "-f", "json", *extra)
    return r, r.json() if r.out.strip().startswith("[") else []


NODES = ("network", "compute-1", "compute-2")


def test_healthy_mesh_and_mtu_on_every_network(lab, tmp_path):
    page = tmp_path / "mesh.html"
    r, rows = mesh(lab, "--html", str(page))
    assert r.rc == 0, r.err
    assert len(rows) == 3 * 3 * 2 and not failing(rows)
    assert {r_["network"] for r_ in rows} == {"management", "tenant", "storage"}
    assert all(x["received"] == 2 and x["rtt_avg_ms"] is not None for x in rows)
    text = page.read_text()
    assert "network tenant" in text and "loss %" in text and "<script" not in text and "http" not in text
    r, rows = mtu(lab)
    assert r.rc == 0, r.err
    assert not failing(rows) and {x["measured_mtu"] for x in rows} == {1500}


def test_table_mode_shows_a_matrix_and_summary(lab):
    r = run(lab, "check", "mesh", "--count", "1", "--network", "management")
    assert r.rc == 0
    assert "from \\ to" in r.out and "all 6 pairs ok on management" in r.out


def test_link_down_flags_exactly_that_node_on_that_network(lab):
    with fault(lab, "link-down", "--node", "compute-2", "--network", "storage"):
        r, rows = mesh(lab)
        assert r.rc == 1
        expected = {("storage", s, d) for s in NODES for d in NODES if s != d and "compute-2" in (s, d)}
        assert failing(rows) == expected
        assert "storage: compute-2 is cut off" in r.err
    r, rows = mesh(lab)
    assert r.rc == 0 and not failing(rows)


def test_one_way_drop_is_reported_as_asymmetric(lab):
    with fault(lab, "drop", "--node", "compute-1", "--to", "compute-2", "--network", "tenant"):
        r, rows = mesh(lab)
        assert r.rc == 1
        assert failing(rows) == {("tenant", "compute-1", "compute-2")}
        assert "compute-1 -> compute-2 fails while compute-2 -> compute-1 works (asymmetric)" in r.err
        assert "only network tenant is affected" in r.err
    assert mesh(lab)[0].rc == 0


def test_node_mtu_flags_its_interface_and_its_paths_only(lab):
    with fault(lab, "mtu", "--node", "compute-1", "--network", "tenant", "--mtu", "1400"):
        r, rows = mtu(lab)
        assert r.rc == 1, r.err
        bad = [x for x in rows if x["verdict"] != "ok"]
        iface = [x for x in bad if x["check"] == "interface"]
        assert [(x["source"], x["network"], x["measured_mtu"]) for x in iface] == [("compute-1", "tenant", 1400)]
        paths = {(x["network"], x["source"], x["destination"]) for x in bad if x["check"] == "path"}
        assert paths == {("tenant", s, d) for s in NODES for d in NODES if s != d and "compute-1" in (s, d)}
        for x in bad:
            if x["check"] == "path":
                assert 1400 <= x["measured_mtu"] <= 1404  # veth slack: up to MTU+4 passes
        assert "compute-1 eth1 has MTU 1400, tenant expects 1500" in r.err
        assert mesh(lab)[0].rc == 0  # small packets still flow: not a reachability fault
    assert mtu(lab)[0].rc == 0


def test_switch_side_mtu_flags_paths_not_interfaces(lab):
    with fault(lab, "switch-mtu", "--node", "compute-2", "--network", "storage", "--mtu", "1300"):
        r, rows = mtu(lab, "--network", "storage")
        assert r.rc == 1
        bad = [x for x in rows if x["verdict"] != "ok"]
        assert all(x["check"] == "path" for x in bad)
        assert {(x["source"], x["destination"]) for x in bad} == {
            (s, d) for s in NODES for d in NODES if s != d and "compute-2" in (s, d)
        }
        assert all(1300 <= x["measured_mtu"] <= 1304 for x in bad)
        assert "every path to and from compute-2 has a lower MTU" in r.err
    assert mtu(lab, "--network", "storage")[0].rc == 0


def test_expected_mtu_from_command_line(lab):
    r, rows = mtu(lab, "--network", "management", "--mtu", "1400")
    # interfaces are 1500: they differ from the stated 1400, but every path carries 1400
    assert r.rc == 1
    assert {x["check"] for x in rows if x["verdict"] != "ok"} == {"interface"}


def test_agent_down_during_mesh_exit_3_rest_filled(lab):
    assert run(lab, "lab", "agent", "--name", LAB, "stop", "compute-1").rc == 0
    try:
        r, rows = mesh(lab, "--network", "management")
        assert r.rc == 3
        by = {(x["source"], x["destination"]): x for x in rows}
        assert by[("network", "compute-2")]["verdict"] == "ok"
        assert by[("compute-2", "network")]["verdict"] == "ok"
        # the stopped agent's node still answers pings on management (its address is configured)
        assert by[("compute-1", "network")]["verdict"] == "error"
        assert "agent compute-1 is unreachable" in r.err
    finally:
        assert run(lab, "lab", "agent", "--name", LAB, "start", "compute-1").rc == 0


def test_unknown_network_is_a_usage_error(lab):
    r = run(lab, "check", "mesh", "--network", "nosuch")
    assert r.rc == 2 and "unknown network 'nosuch'" in r.err
