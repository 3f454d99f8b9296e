"""Probe frame template and patching, and decoding (no root, no sockets); the BPF program runs in
test_bpf_filters.py."""

from __future__ import annotations

import struct

import pytest

from steth.host import packets
from steth.wire import frames

MAC = frames.mac_bytes("02:00:00:00:00:01")


def template() -> packets.FrameTemplate:
    return packets.FrameTemplate(MAC, packets.run_id_bytes("abcdef0123456789"), "compute-1", "eth1")


def test_tagged_frame_layout():
    f = template().frame(105)
    assert len(f) >= packets.MIN_FRAME
    assert f[0:6] == b"\xff" * 6 and f[6:12] == MAC
    assert struct.unpack("!HH", f[12:16]) == (0x8100, 105)
    assert struct.unpack("!H", f[16:18])[0] == packets.ETHERTYPE_PROBE
    assert f[18:22] == packets.MAGIC


def test_untagged_frame_has_no_tag():
    f = template().frame(0)
    assert struct.unpack("!H", f[12:14])[0] == packets.ETHERTYPE_PROBE
    assert f[14:18] == packets.MAGIC


def test_patching_changes_only_the_vlan_fields():
    t = template()
    a, b = t.frame(1), t.frame(4094)
    diff = [i for i in range(len(a)) if a[i] != b[i]]
    # TCI (bytes 14-15) and the payload's VLAN field, nothing else
    vlan_at = 18 + 4 + 1 + packets.RUN_ID_BYTES
    assert set(diff) <= {14, 15, vlan_at, vlan_at + 1}
    assert t.frame(1) == a  # frames are snapshots: later patches do not change them


@pytest.mark.parametrize("vlan", [-1, 4095, 5000])
def test_out_of_range_vlan_refused(vlan):
    with pytest.raises(ValueError):
        template().frame(vlan)


def test_decode_tag_from_auxdata_after_the_kernel_stripped_it():
    f = template().frame(300)
    stripped = f[:12] + f[16:]  # what a packet socket sees: tag moved to metadata
    p = packets.decode(stripped, aux_tci=300)
    assert p == packets.Probe(
        run_id=packets.run_id_bytes("abcdef0123456789"),
        vlan_sent=300,
        vlan_seen=300,
        sender="compute-1",
        interface="eth1",
    )


def test_decode_in_band_tag_and_priority_bits_ignored():
    f = bytearray(template().frame(7))
    f[14] |= 0xE0  # PCP 7
    p = packets.decode(bytes(f), aux_tci=None)
    assert p.vlan_sent == 7 and p.vlan_seen == 7


def test_decode_untagged_and_tag_changed_on_the_way():
    t = template()
    assert packets.decode(t.frame(0), None).vlan_seen == 0
    tagged = t.frame(10)
    assert packets.decode(tagged[:12] + tagged[16:], aux_tci=11).vlan_seen == 11


def test_decode_ignores_other_frames():
    assert packets.decode(b"\xff" * 6 + MAC + b"\x08\x00" + b"\0" * 46, None) is None
    bad_magic = bytearray(template().frame(0))
    bad_magic[14:18] = b"XXXX"
    assert packets.decode(bytes(bad_magic), None) is None
    assert packets.decode(b"short", None) is None


def test_run_id_bounds():
    assert packets.run_id_bytes("ab") == b"\xab" + b"\0" * 7
    for bad in ("", "abc", "00" * 9, "zz"):
        with pytest.raises(ValueError):
            packets.run_id_bytes(bad)
