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
    assert tbf_argv("eth1", 100_000_000) == [
        "tc",
        "qdisc",
        "add",
        "dev",
        "eth1",
        "root",
        "tbf",
        "rate",
        "100000000bit",
        "burst",
        "125000",
        "latency",
        "50ms",
    ]
    assert tbf_argv("eth1", 1_000_000)[10] == "16000"  # a GSO segment always fits the bucket


def test_rate_limit_kind_registered():
    assert KINDS["rate-limit"].params == ("node", "network", "rate")


def test_listening_address_matching():
    from steth.host.sockets import is_listening

    socks = {("10.231.0.11", 5201), ("0.0.0.0", 22), ("::", 80)}
    assert is_listening("10.231.0.11", 5201, socks) and not is_listening("10.231.0.12", 5201, socks)
    assert is_listening("10.0.0.1", 22, socks) and is_listening("10.0.0.1", 80, socks)
    assert is_listening("fd00::1", 80, socks) and not is_listening("fd00::1", 22, socks)
