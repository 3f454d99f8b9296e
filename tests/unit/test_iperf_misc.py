"""Small pieces of the bandwidth check: progress only on a terminal, the tbf command of the rate-limit fault."""

import io

from steth.controller.commands import bandwidth as cmd
from steth.lab.faults import KINDS, tbf_argv


class Tty(io.StringIO):
    def isatty(self):
        return True


def test_progress_only_on_a_terminal(monkeypatch):
    pipe = io.StringIO()
    monkeypatch.setattr("sys.stderr", pipe)
    cmd.progress("tenant: round 1/3: a->b")
    assert pipe.getvalue() == ""
    tty = Tty()
    monkeypatch.setattr("sys.stderr", tty)
    cmd.progress("tenant: round 1/3: a->b")
    assert tty.getvalue() == "bandwidth: tenant: round 1/3: a->b\n"


def test_tbf_argv():
    assert tbf_argv("eth1", 100_000_000) == ["tc", "qdisc", "add", "dev", "eth1", "root", "tbf", "rate",
                                             "100000000bit", "burst", "125000", "latency", "50ms"]
    assert tbf_argv("eth1", 1_000_000)[10] == "16000"  # a GSO segment always fits the bucket


def test_rate_limit_kind_registered():
    assert KINDS["rate-limit"].params == ("node", "network", "rate")
