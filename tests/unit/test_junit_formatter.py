"""`-f junit`: one test case per row, verdicts mapped to JUnit's failure/error/skipped, valid XML."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from argparse import Namespace

from steth.controller.formatters.junit import JUnitFormatter, case_name, command_name

COLUMNS = ["network", "source", "destination", "sent", "loss_pct", "verdict", "error"]
ROWS = [
    ("tenant", "compute-1", "compute-2", 3, 0.0, "ok", ""),
    ("tenant", "compute-1", "network", 3, 100.0, "fail", "3 of 3 probes lost"),
    ("storage", "compute-2", "network", 0, 0.0, "error", "agent unreachable"),
    ("storage", "network", "compute-1", 0, 0.0, "skipped", "no address on storage"),
]


def emit(rows=ROWS, columns=COLUMNS, suite="steth check mesh") -> ET.Element:
    out = io.StringIO()
    JUnitFormatter().emit_list(columns, iter(rows), out, Namespace(junit_suite=suite))
    return ET.fromstring(out.getvalue().split("\n", 1)[1])


def test_one_case_per_row_with_counts():
    suite = emit().find("testsuite")
    assert suite is not None and suite.get("name") == "steth check mesh"
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == (
        "4",
        "1",
        "1",
        "1",
    )
    names = [c.get("name") for c in suite.iter("testcase")]
    assert names == [
        "tenant compute-1 compute-2",
        "tenant compute-1 network",
        "storage compute-2 network",
        "storage network compute-1",
    ]


def test_failure_carries_the_evidence():
    cases = list(emit().iter("testcase"))
    failure = cases[1].find("failure")
    assert failure is not None and failure.get("message") == "3 of 3 probes lost"
    assert "loss_pct: 100.0" in (failure.text or "")
    error = cases[2].find("error")
    assert error is not None and error.get("message") == "agent unreachable"
    assert cases[3].find("skipped") is not None
    assert cases[0].find("failure") is None and cases[0].find("error") is None


def test_doctor_rows_named_by_check_and_time_summed():
    columns = ["check", "scope", "verdict", "detail", "seconds"]
    rows = [("agents", "all", "ok", "", 0.5), ("mtu", "tenant", "fail", "1400 < 1450", 1.25)]
    suite = emit(rows, columns, "steth check all").find("testsuite")
    assert [c.get("name") for c in suite.iter("testcase")] == ["agents all", "mtu tenant"]
    assert suite.get("time") == "1.750"


def test_xml_special_characters_are_escaped():
    rows = [("a<b", "x&y", "z", 1, 0.0, "fail", 'quote " and <tag>')]
    failure = emit(rows).find("testsuite/testcase/failure")
    assert failure.get("message") == 'quote " and <tag>'


def test_case_name_and_command_name():
    assert case_name(["#", "plane", "check", "verdict"], [1, "control", "port admin state", "ok"]) == (
        "control port admin state"
    )
    assert command_name(["check", "mesh", "-f", "junit"]) == "steth check mesh"
    assert command_name(["--config-file", "/x.conf", "doctor", "vm1"]) == "steth doctor vm1"


def test_registered_as_a_cliff_formatter():
    """The installed entry point makes `-f junit` an option of every list command."""
    out = subprocess.run(
        [sys.executable, "-m", "steth.controller.cli", "lab", "fault", "kinds", "--help"],
        capture_output=True,
        text=True,
    )
    assert "junit" in out.stdout, out.stdout + out.stderr


def test_version_and_completion():
    """`steth --version` and cliff's `complete` (documented in the README) work as installed."""
    run = [os.path.join(os.path.dirname(sys.executable), "steth")]
    version = subprocess.run([*run, "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.startswith("steth ")
    words = subprocess.run([*run, "complete", "--shell", "none"], capture_output=True, text=True)
    assert words.returncode == 0, words.stderr
    assert "doctor" in words.stdout and "mesh" in words.stdout
