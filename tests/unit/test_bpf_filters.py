"""Every socket filter steth attaches, run on crafted packets by a classic-BPF interpreter (tests/unit/cbpf.py):
what each passes and what each drops. The same programs run in the kernel in
tests/integration/test_bpf_kernel.py."""

from __future__ import annotations

import socket
import struct

import pytest

from steth.host import bpf, packets
from steth.host.icmp import echo_filter

from .cbpf import Unsupported, run

MAC = bytes.fromhex("020000000001")
IDENT = 0xBEEF


def ether(ethertype: int, payload: bytes, tags: tuple[tuple[int, int], ...] = ()) -> bytes:
    """``tags``: (TPID, TCI) pairs in band, outermost first."""
    head = b"\xff" * 6 + MAC + b"".join(struct.pack("!HH", tpid, tci) for tpid, tci in tags)
    return (head + struct.pack("!H", ethertype) + payload).ljust(60, b"\0")


def ipv4(payload: bytes, options: bytes = b"", proto: int = 1) -> bytes:
    ihl = 5 + len(options) // 4
    hdr = struct.pack(
        "!BBHHHBBH4s4s",
        0x40 | ihl,
        0,
        4 * ihl + len(payload),
        0,
        0,
        64,
        proto,
        0,
        socket.inet_aton("10.0.0.2"),
        socket.inet_aton("10.0.0.1"),
    )
    return hdr + options + payload


def icmp(kind: int, code: int = 0, ident: int = IDENT, seq: int = 1, data: bytes = b"steth") -> bytes:
    return struct.pack("!BBHHH", kind, code, 0, ident, seq) + data


def passes(program: list[bpf.Insn], packet: bytes) -> bool:
    kept = run(program, packet)
    assert kept in (0, bpf.ACCEPT_BYTES), kept
    return kept > 0 and kept >= len(packet)  # passed whole, not cut short


# ---- the VLAN probe filter (AF_PACKET) ------------------------------------------------

TEMPLATE = packets.FrameTemplate(MAC, packets.run_id_bytes("abcdef01"), "compute-1", "eth1")
TAGGED = TEMPLATE.frame(42)
STRIPPED = TAGGED[:12] + TAGGED[16:]  # what a packet socket's filter sees: the kernel moved the tag out


@pytest.mark.parametrize(
    "frame",
    [TEMPLATE.frame(0), STRIPPED, TAGGED, ether(packets.ETHERTYPE_PROBE, b"NOPE")],
    ids=["untagged", "tag-stripped", "tag-in-band", "probe-ethertype-other-magic"],
)
def test_probe_filter_passes_probe_ethertype(frame):
    assert passes(packets.probe_filter(), frame)


@pytest.mark.parametrize(
    "frame",
    [
        ether(0x0800, ipv4(icmp(8))),
        ether(0x0806, b"\0" * 28),
        ether(0x86DD, b"\x60" + b"\0" * 39),
        ether(0x0800, ipv4(icmp(8)), tags=((0x8100, 5),)),  # tagged IPv4, tag in band
        ether(packets.ETHERTYPE_PROBE, TEMPLATE.frame(0)[14:], tags=((0x88A8, 5),)),  # behind an 802.1ad tag
        # 0x88B5 where an inner ethertype would be, behind a type that is not a tag
        b"\xff" * 6 + MAC + b"\x08\x00\x00\x00\x88\xb5" + b"\0" * 42,
        TAGGED[:13],  # runt: the load runs past the end
        b"",
    ],
    ids=["ipv4", "arp", "ipv6", "tagged-ipv4", "s-tag", "probe-type-behind-ipv4", "runt", "empty"],
)
def test_probe_filter_drops_everything_else(frame):
    assert not passes(packets.probe_filter(), frame)


# ---- the ICMP echo filters (raw ICMP sockets) -----------------------------------------


@pytest.mark.parametrize(
    "packet",
    [
        ipv4(icmp(0)),  # our echo reply
        # behind IP options whose first byte, read as an ICMP type, would be an echo request (dropped)
        ipv4(icmp(0), options=b"\x08\x00\x00\x00"),
        ipv4(icmp(3, 1, ident=0, seq=0, data=ipv4(icmp(8))[:28])),  # host unreachable
        ipv4(icmp(3, 4, ident=0, seq=1400, data=ipv4(icmp(8))[:28])),  # fragmentation needed
        ipv4(icmp(11, 0, ident=0, seq=0, data=ipv4(icmp(8))[:28])),  # time exceeded
        ipv4(icmp(5, 1, ident=0, seq=0)),  # redirect: other types pass to Python, which ignores them
    ],
    ids=["reply", "reply-ip-options", "unreachable", "frag-needed", "time-exceeded", "redirect"],
)
def test_icmp4_filter_passes_our_replies_and_errors(packet):
    assert passes(echo_filter(IDENT, 4), packet)


@pytest.mark.parametrize(
    "packet",
    [
        ipv4(icmp(0, ident=IDENT ^ 1)),  # another request's reply
        ipv4(icmp(0, ident=IDENT >> 8 | (IDENT & 0xFF) << 8)),  # our identifier byte-swapped
        ipv4(icmp(8)),  # a peer's echo request, even with our identifier
        ipv4(icmp(13)),  # timestamp request
        # options laid out as our echo reply with our identifier, a real reply of another: the filter
        # must read the ICMP header after the options
        ipv4(icmp(0, ident=IDENT ^ 1), options=b"\0" * 4 + struct.pack("!H", IDENT) + b"\0\0"),
        ipv4(b"\0"),  # truncated ICMP header: loads run past the end
    ],
    ids=["other-id", "swapped-id", "request", "timestamp", "id-in-options", "truncated"],
)
def test_icmp4_filter_drops_the_rest(packet):
    assert not passes(echo_filter(IDENT, 4), packet)


def test_icmp4_filter_matches_each_identifier():
    for ident in (0, 1, 0x8000, 0xFFFF):
        assert passes(echo_filter(ident, 4), ipv4(icmp(0, ident=ident)))
        assert not passes(echo_filter(ident, 4), ipv4(icmp(0, ident=(ident + 1) & 0xFFFF)))


@pytest.mark.parametrize("kind", [1, 2, 3, 4])
def test_icmp6_filter_passes_errors(kind):
    assert passes(echo_filter(IDENT, 6), icmp(kind, ident=0, seq=0, data=b"\x60" + b"\0" * 47))


def test_icmp6_filter_passes_our_reply_only():
    prog = echo_filter(IDENT, 6)
    assert passes(prog, icmp(129))
    assert not passes(prog, icmp(129, ident=IDENT ^ 0x100))


@pytest.mark.parametrize("kind", [5, 128, 130, 133, 134, 135, 136, 143])
def test_icmp6_filter_drops_requests_and_neighbour_discovery(kind):
    assert not passes(echo_filter(IDENT, 6), icmp(kind))


def test_icmp6_filter_drops_truncated():
    assert not passes(echo_filter(IDENT, 6), icmp(129)[:5])


# ---- the program check and the interpreter itself -------------------------------------


def test_check_refuses_what_the_kernel_refuses():
    with pytest.raises(ValueError, match="1-4096 instructions"):
        bpf.check([])
    with pytest.raises(ValueError, match="end with a return"):
        bpf.check([bpf.load(bpf.LD_H_ABS, 12)])
    with pytest.raises(ValueError, match="jumps past the end"):
        bpf.check([bpf.jump(bpf.JEQ_K, 1, 0, 1), bpf.accept()])
    with pytest.raises(ValueError, match="out of range"):
        bpf.check([bpf.Insn(bpf.RET_K, 0, 0, 1 << 32)])
    for program in (packets.probe_filter(), echo_filter(IDENT, 4), echo_filter(IDENT, 6)):
        bpf.check(program)


def test_interpreter_follows_the_kernel_on_bounds_and_refuses_the_unknown():
    assert run([bpf.load(bpf.LD_W_ABS, 0), bpf.Insn(bpf.RET | 0x10, 0, 0, 0)], b"\0\0\1\2") == 0x0102  # RET A
    assert run([bpf.load(bpf.LD_W_ABS, 1), bpf.accept()], b"\0\0\1\2") == 0  # past the end: drop
    assert run([bpf.drop()], b"anything") == 0
    with pytest.raises(Unsupported):
        run([bpf.Insn(0x04, 0, 0, 1), bpf.accept()], b"x")  # ALU add: not used by steth, not interpreted
