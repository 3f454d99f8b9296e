"""The CLI loads a command's module only when that command runs: help imports no heavy library."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys

import pytest

from steth.controller.commands import COMMANDS
from steth.controller.lazy_commands import LazyCommand, first_line

HEAVY = ("aiohttp", "pydantic", "openstack", "oslo_config", "fastapi")
ORIGINAL_NAMES = (
    "print-agents-info",
    "get-interface",
    "ping",
    "setup-link",
    "teardown-link",
    "add-vlan-to-interface",
    "check-ports-on-br",
    "check-vlan-interface",
    "check-iperf",
    "check-dhcp-on-comp",
    "check-dhcp-on-network",
)

# runs the console script's entry point in a fresh interpreter and reports what it imported
PROBE = """
import json, sys
from steth.controller.cli import main
try:
    rc = main(sys.argv[1:])
except SystemExit as exc:
    rc = exc.code or 0
heavy = [m for m in {heavy!r} if m in sys.modules]
commands = sorted(m for m in sys.modules if m.startswith("steth.controller.commands."))
sys.stderr.write("\\nPROBE " + json.dumps({{"rc": rc, "heavy": heavy, "commands": commands}}) + "\\n")
"""


def probe(*argv: str) -> tuple[dict, str]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), *argv],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "PAGER": "cat", "STETH_LAB_ROOT": "/nonexistent-steth-lab-root"},
    )
    line = next(ln for ln in proc.stderr.splitlines() if ln.startswith("PROBE "))
    return json.loads(line.removeprefix("PROBE ")), proc.stdout


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["help"], ["lab", "status", "--help"], ["help", "lab", "status"], ["lab", "fault", "list", "--help"]],
)
def test_help_imports_no_heavy_library(argv):
    result, out = probe(*argv)
    assert result["rc"] == 0, out
    assert result["heavy"] == [], f"steth {' '.join(argv)} imported {result['heavy']}"
    if argv[:2] == ["lab", "fault"]:
        assert result["commands"] == ["steth.controller.commands.base", "steth.controller.commands.lab_fault"]
        assert "--name" in out
    elif argv[0] == "lab" or argv[:2] == ["help", "lab"]:
        assert result["commands"] == ["steth.controller.commands.base", "steth.controller.commands.lab"]
        assert "--name" in out
    else:  # the listing reads the summaries from source: no command module is imported
        assert result["commands"] == []


def test_help_lists_every_command_and_every_original_name():
    _, out = probe("--help")
    listed = {line[2:].split("  ")[0].strip() for line in out.splitlines() if line.startswith("  ")}
    assert set(COMMANDS) <= listed
    assert set(ORIGINAL_NAMES) <= listed
    for name, target in COMMANDS.items():  # each with its own summary, not an empty line
        summary = LazyCommand(name, target).summary()
        assert summary and f"  {name:<13}  {summary}" in out


def test_running_a_command_loads_only_its_module():
    result, _ = probe("ovs", "show", "--help")
    assert result["rc"] == 0
    assert "steth.controller.commands.ovs" in result["commands"]
    assert "steth.controller.commands.lab" not in result["commands"]
    assert "steth.controller.commands.check_all" not in result["commands"]


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_entry_loads_and_its_summary_is_its_class_docstring(name):
    entry = LazyCommand(name, COMMANDS[name])
    cls = entry.load()
    assert inspect.isclass(cls) and cls.__name__ == entry.cls
    # the summary read from source is the one the class itself carries (its own docstring)
    assert cls.__doc__, f"{entry.value} needs its own docstring: its first line is the summary in `steth --help`"
    assert entry.summary() == first_line(inspect.getdoc(cls))


def test_a_bad_target_is_refused():
    with pytest.raises(ValueError, match="module:Class"):
        LazyCommand("x", "nocolon")
