"""The frame decoders fed malformed and truncated input (hypothesis): none raises but the documented
exception. wire/frames.py documents that nothing raises (a record or None); the pcap framer raises
only PcapFormatError; the capture summary and the DHCP parser never raise."""

from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from steth.controller.decode import summarize
from steth.host import dhcp_frames
from steth.wire import bootp, frames
from steth.wire.pcap import PcapFormatError, PcapFramer

DECODERS = [
    frames.arp,
    frames.ipv4,
    frames.ipv6,
    frames.icmp,
    frames.udp,
    frames.tcp,
    frames.vxlan,
    frames.geneve,
    bootp.dhcp,
]
FUZZ = settings(max_examples=300, deadline=None)


def dhcp_discover() -> bytes:
    """A real-looking tagged DHCPDISCOVER: Ethernet, 802.1Q, IPv4, UDP 68->67, BOOTP with options."""
    bootp = struct.pack(
        "!BBBBIHH4s4s4s4s16s64s128s",
        1,
        1,
        6,
        0,
        0x1234,
        0,
        0x8000,
        *(b"\0" * 4,) * 4,
        b"\xfa" * 6 + b"\0" * 10,
        b"",
        b"",
    )
    bootp += b"\x63\x82\x53\x63" + b"\x35\x01\x01" + b"\x37\x03\x01\x03\x06" + b"\xff"
    udp = struct.pack("!HHHH", 68, 67, 8 + len(bootp), 0) + bootp
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, b"\0" * 4, b"\xff" * 4) + udp
    return b"\xff" * 6 + b"\xfa" * 6 + b"\x81\x00" + struct.pack("!H", 101) + b"\x08\x00" + ip


@FUZZ
@given(st.binary(max_size=600))
def test_every_layer_decoder_returns_a_record_or_none(data):
    for decode in DECODERS:
        decode(data)
    frames.ethernet(data)
    frames.ethernet(data, stripped_tci=0x0065)
    frames.link_header(data)


@FUZZ
@given(st.binary(max_size=600), st.booleans())
def test_capture_summary_and_dhcp_parser_never_raise(data, outgoing):
    summarize(1, data)  # LINKTYPE_ETHERNET
    summarize(101, data)  # raw IP
    dhcp_frames.parse(data, outgoing=outgoing)


@FUZZ
@given(st.integers(min_value=0, max_value=len(dhcp_discover())), st.binary(max_size=8), st.integers(0, 400))
def test_truncated_and_corrupted_dhcp_frames(cut, junk, at):
    frame = dhcp_discover()
    assert dhcp_frames.parse(frame) is not None  # the control: the whole frame decodes
    broken = frame[:cut]
    dhcp_frames.parse(broken)
    summarize(1, broken)
    corrupted = frame[:at] + junk + frame[at + len(junk) :]
    dhcp_frames.parse(corrupted)
    summarize(1, corrupted)


@FUZZ
@given(st.lists(st.binary(max_size=64), max_size=20))
def test_pcap_framer_raises_only_its_format_error(chunks):
    framer = PcapFramer(limit=1 << 20)
    try:
        for chunk in chunks:
            framer.feed(chunk)
    except PcapFormatError:
        pass
