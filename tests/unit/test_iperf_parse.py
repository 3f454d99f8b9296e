"""iperf3 -J reports recorded between two lab namespaces (iperf 3.12), parsed into flows."""

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from steth.probes.iperf import client_argv, parse_ports, parse_report
from steth.wire.iperf import IperfClientRequest
from steth.wire.models import Verdict

DATA = Path(__file__).parent / "data" / "iperf"


def load(name):
    return json.loads((DATA / name).read_text())


def req(**kw):
    return IperfClientRequest(server="10.231.0.11", port=5201, **kw)


def test_tcp_forward():
    res = parse_report(load("tcp.json"), req(duration=2), 1.0, 3.0)
    assert res.verdict == Verdict.OK and res.error is None
    [flow] = res.flows
    assert flow.direction == "forward" and flow.sender == "client"
    assert flow.bits_per_second == pytest.approx(9843598369.671735)  # end.sum_received: what arrived
    assert flow.sent_bits_per_second == pytest.approx(9861753731.58582)
    assert flow.retransmits == 104
    assert flow.jitter_ms is None and flow.loss_pct is None
    assert res.cpu_client_pct == pytest.approx(44.74) and res.cpu_server_pct == pytest.approx(45.78)
    assert (res.started_at, res.ended_at) == (1.0, 3.0)


def test_tcp_reverse_is_the_server_sending():
    [flow] = parse_report(load("tcp_reverse.json"), req(duration=1, reverse=True), 0, 1).flows
    assert flow.direction == "reverse" and flow.sender == "server"
    assert flow.bits_per_second == pytest.approx(11151964662.121511)


def test_tcp_bidir_two_flows():
    res = parse_report(load("tcp_bidir.json"), req(duration=1, bidir=True, parallel=2), 0, 1)
    fwd, rev = res.flows
    assert (fwd.direction, rev.direction) == ("forward", "reverse")
    assert fwd.bits_per_second == pytest.approx(3908111889.729088) and fwd.retransmits == 94
    assert rev.bits_per_second == pytest.approx(2159443477.983497) and rev.retransmits == 143


def test_udp_jitter_and_loss():
    res = parse_report(load("udp.json"), req(protocol="udp", bandwidth="50M", duration=1), 0, 1)
    [flow] = res.flows
    assert flow.bits_per_second == pytest.approx(49963882.86225618)
    assert flow.jitter_ms == pytest.approx(0.024411774226033706)
    assert flow.lost_packets == 0 and flow.packets == 4314 and flow.loss_pct == 0
    assert flow.retransmits is None


def test_udp_bidir():
    fwd, rev = parse_report(load("udp_bidir.json"), req(protocol="udp", bidir=True, bandwidth="20M"), 0, 1).flows
    assert fwd.packets == 1725 and rev.packets == 1729
    assert rev.jitter_ms == pytest.approx(0.014316319778027982)


def test_udp_loss_computed_by_iperf3_is_kept():
    data = load("udp.json")
    data["end"]["sum_received"].update(lost_packets=431, lost_percent=9.99073)
    [flow] = parse_report(data, req(protocol="udp"), 0, 1).flows
    assert flow.lost_packets == 431 and flow.loss_pct == pytest.approx(9.991)


@pytest.mark.parametrize(
    "name,text",
    [
        ("error_refused.json", "iperf3: unable to connect to server: Connection refused"),
        ("error_timeout.json", "iperf3: unable to connect to server: Connection timed out"),
    ],
)
def test_errors_are_iperf3s_own_words(name, text):
    res = parse_report(load(name), req(), 0, 1)
    assert res.verdict == Verdict.ERROR and res.error == text and res.flows == []


def test_no_totals_is_an_error():
    res = parse_report({"start": {}, "end": {}}, req(), 0, 1)
    assert res.verdict == Verdict.ERROR and "no totals" in res.error


def test_not_json_object():
    assert parse_report(None, req(), 0, 1).verdict == Verdict.ERROR


def test_client_argv():
    argv = client_argv(
        req(
            protocol="udp",
            bandwidth="50M",
            duration=3,
            parallel=2,
            reverse=True,
            bind="10.231.0.12",
            connect_timeout=1.5,
        )
    )
    assert argv == [
        "iperf3",
        "-c",
        "10.231.0.11",
        "-p",
        "5201",
        "-J",
        "-t",
        "3",
        "-P",
        "2",
        "--connect-timeout",
        "1500",
        "-u",
        "-b",
        "50000000",
        "-R",
        "-B",
        "10.231.0.12",
    ]
    assert "--bidir" in client_argv(req(bidir=True))


@pytest.mark.parametrize(
    "kw,field",
    [
        (dict(duration=301), "duration"),
        (dict(duration=0.5), "duration"),
        (dict(parallel=0), "parallel"),
        (dict(parallel=65), "parallel"),
        (dict(reverse=True, bidir=True), "exclude"),
        (dict(bandwidth="fast"), "rate"),
        (dict(server="server.example"), "server"),
        (dict(port=0), "port"),
        (dict(connect_timeout=31), "connect_timeout"),
        (dict(shell="rm -rf /"), "shell"),
    ],
)
def test_request_bounds(kw, field):
    base = dict(server="10.0.0.1", port=5201)
    with pytest.raises(ValidationError) as exc:
        IperfClientRequest(**{**base, **kw})
    assert field in str(exc.value)


def test_parse_ports():
    assert parse_ports("5201-5299") == (5201, 5299)
    assert parse_ports("6000") == (6000, 6000)
    for bad in ("a-b", "5299-5201", "0-10", "1-2-3", "70000"):
        with pytest.raises(ValueError):
            parse_ports(bad)
