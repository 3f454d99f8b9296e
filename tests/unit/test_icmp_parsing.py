"""Packet building and reply matching of host/icmp.py, on hand-made packets (no socket needed)."""

import socket
import struct

from steth.host.icmp import Pinger, TargetStats, _checksum, _echo


def ipv4(src: str, dst: str, payload: bytes) -> bytes:
    return (
        struct.pack(
            "!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0, 64, 1, 0, socket.inet_aton(src), socket.inet_aton(dst)
        )
        + payload
    )


def bare_pinger(ident: int) -> Pinger:
    p = Pinger.__new__(Pinger)  # no socket: only the parser is under test
    p.family, p.ident = 4, ident
    return p


def test_echo_request_checksum_verifies():
    pkt = _echo(4, 0x1234, 7, b"steth" * 4)
    assert pkt[0] == 8 and struct.unpack("!HH", pkt[4:8]) == (0x1234, 7)
    assert _checksum(pkt) == 0  # a correct checksum sums to zero


def test_reply_is_matched_by_source_id_and_seq():
    p = bare_pinger(0x1234)
    stats = {"10.9.0.2": TargetStats(sent=1)}
    sent_at = {("10.9.0.2", 0): 1_000_000_000}
    outstanding = {"n": 1}
    reply = bytearray(_echo(4, 0x1234, 0, b"x" * 8))
    reply[0] = 0  # echo reply
    p._handle(ipv4("10.9.0.2", "10.9.0.1", bytes(reply)), "10.9.0.2", 1_002_500_000, stats, sent_at, outstanding)
    assert stats["10.9.0.2"].rtts_ms == [2.5] and outstanding["n"] == 0
    # a duplicate, another id, or an unknown source changes nothing
    p._handle(ipv4("10.9.0.2", "10.9.0.1", bytes(reply)), "10.9.0.2", 1_003_000_000, stats, sent_at, outstanding)
    assert stats["10.9.0.2"].rtts_ms == [2.5]


def test_fragmentation_needed_is_reported_for_the_original_target():
    p = bare_pinger(0x4321)
    stats = {"10.9.0.7": TargetStats(sent=1)}
    sent_at = {("10.9.0.7", 3): 0}
    outstanding = {"n": 1}
    original = ipv4("10.9.0.1", "10.9.0.7", _echo(4, 0x4321, 3, b""))
    icmp = struct.pack("!BBHHH", 3, 4, 0, 0, 1400) + original
    p._handle(ipv4("10.9.0.254", "10.9.0.1", icmp), "10.9.0.254", 5, stats, sent_at, outstanding)
    assert stats["10.9.0.7"].error == "Fragmentation needed (next-hop MTU 1400) from 10.9.0.254"
    assert outstanding["n"] == 0 and not stats["10.9.0.7"].rtts_ms
