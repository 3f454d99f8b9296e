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


def test_proc_net_tcp_addresses_decode():
    from steth.host.sockets import _decode, is_listening

    assert _decode("0100007F:1451") == ("127.0.0.1", 5201)
    assert _decode("0B00E70A:2442") == ("10.231.0.11", 9282)
    assert _decode("00000000000000000000000001000000:0050") == ("::1", 80)
    assert _decode("000080FE00000000FF0A00001E4D12FE:1451") == ("fe80::aff:fe12:4d1e", 5201)
    socks = {("10.231.0.11", 5201), ("0.0.0.0", 22), ("::", 80)}
    assert is_listening("10.231.0.11", 5201, socks) and not is_listening("10.231.0.12", 5201, socks)
    assert is_listening("10.0.0.1", 22, socks) and is_listening("10.0.0.1", 80, socks)
    assert is_listening("fd00::1", 80, socks) and not is_listening("fd00::1", 22, socks)
