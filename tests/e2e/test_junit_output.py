"""End to end: `-f junit` on the lab gives one test case per row of the same command's JSON."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from ..conftest import steth

pytestmark = [pytest.mark.root, pytest.mark.e2e]


def test_check_mesh_as_junit_matches_its_rows(lab):
    args = ("check", "mesh", "--count", "2", "--timeout", "0.5")
    as_json = steth(*args, "-f", "json", env=lab["env"])
    as_junit = steth(*args, "-f", "junit", env=lab["env"])
    assert as_json.rc == as_junit.rc == 0, as_junit.err
    rows = as_json.json()
    suite = ET.fromstring(as_junit.out).find("testsuite")
    assert suite is not None and suite.get("name") == "steth check mesh"
    cases = {c.get("name") for c in suite.iter("testcase")}
    assert cases == {f"{r['network']} {r['source']} {r['destination']} {r['address']}" for r in rows}
    assert suite.get("tests") == str(len(rows)) and suite.get("failures") == "0"
