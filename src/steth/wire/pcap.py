"""pcap and pcapng, the formats captures travel and are saved in: parse a stream, write files, merge.

pcap (what the agent streams, as tcpdump writes it): a 24-byte global header
(magic a1b2c3d4 = microseconds, a1b23c4d = nanoseconds; either byte order),
then per packet a 16-byte record header (seconds, fraction, captured length,
original length) and the captured bytes.

pcapng (what a multi-hop capture is saved as): a Section Header Block, one
Interface Description Block per hop (if_name "node/interface", if_tsresol 9 =
nanoseconds), then Enhanced Packet Blocks naming their interface.

Pure Python and no dependencies: the agent uses ``PcapFramer`` to cut a
growing file at record boundaries, the controller the rest.
"""

from __future__ import annotations

import heapq
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

MAGIC_USEC = 0xA1B2C3D4
MAGIC_NSEC = 0xA1B23C4D
GLOBAL_HEADER_LEN = 24
RECORD_HEADER_LEN = 16
MAX_RECORD = 16 * 1024 * 1024  # a captured length beyond this means a corrupt stream

LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LINUX_SLL = 113
LINKTYPE_LINUX_SLL2 = 276

PCAPNG_SHB = 0x0A0D0D0A
PCAPNG_IDB = 0x00000001
PCAPNG_EPB = 0x00000006
PCAPNG_SPB = 0x00000003
PCAPNG_BOM = 0x1A2B3C4D
OPT_END = 0
OPT_COMMENT = 1
OPT_SHB_USERAPPL = 4
OPT_IF_NAME = 2
OPT_IF_DESCRIPTION = 3
OPT_IF_TSRESOL = 9


class PcapFormatError(ValueError):
    """The bytes are not a pcap/pcapng stream we understand."""


@dataclass(slots=True)
class Packet:
    ts_ns: int  # nanoseconds since the epoch
    data: bytes  # the captured bytes (at most snaplen)
    orig_len: int  # length on the wire
    linktype: int = LINKTYPE_ETHERNET
    hop: int = 0  # which capture it came from (index into the hop list)


@dataclass(frozen=True)
class PcapHeader:
    endian: str  # "<" or ">"
    nanos: bool
    snaplen: int
    linktype: int

    @classmethod
    def parse(cls, raw: bytes) -> PcapHeader:
        if len(raw) < GLOBAL_HEADER_LEN:
            raise PcapFormatError("pcap global header is shorter than 24 bytes")
        for endian in ("<", ">"):
            (magic,) = struct.unpack(endian + "I", raw[:4])
            if magic in (MAGIC_USEC, MAGIC_NSEC):
                _, _, _, _, snaplen, linktype = struct.unpack(endian + "HHiIII", raw[4:24])
                return cls(endian, magic == MAGIC_NSEC, snaplen, linktype & 0x0FFFFFFF)
        raise PcapFormatError(f"not a pcap stream (magic {raw[:4].hex()})")

    def to_bytes(self) -> bytes:
        return struct.pack(
            self.endian + "IHHiIII", MAGIC_NSEC if self.nanos else MAGIC_USEC, 2, 4, 0, 0, self.snaplen, self.linktype
        )


class PcapFramer:
    """Cuts a growing pcap byte stream at record boundaries, optionally within ``limit`` bytes.

    ``feed(chunk)`` returns the bytes that complete the global header or whole
    records (never half a record); ``full`` turns true once the next record
    would pass the limit, and nothing more is returned after that.
    """

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit
        self.header: PcapHeader | None = None
        self.packets = 0
        self.emitted = 0
        self.full = False
        self._buf = bytearray()

    @property
    def pending(self) -> int:
        return len(self._buf)

    def feed(self, chunk: bytes) -> bytes:
        if self.full:
            return b""
        self._buf += chunk
        buf = self._buf
        pos = 0
        if self.header is None:
            if len(buf) < GLOBAL_HEADER_LEN:
                return b""
            self.header = PcapHeader.parse(bytes(buf[:GLOBAL_HEADER_LEN]))
            pos = GLOBAL_HEADER_LEN
        fmt = self.header.endian + "I"
        while len(buf) - pos >= RECORD_HEADER_LEN:
            (incl,) = struct.unpack_from(fmt, buf, pos + 8)
            if incl > MAX_RECORD:
                raise PcapFormatError(f"record of {incl} bytes: corrupt pcap stream")
            end = pos + RECORD_HEADER_LEN + incl
            if end > len(buf):
                break
            if self.limit is not None and self.emitted + end > self.limit:
                self.full = True
                break
            pos = end
            self.packets += 1
        out = bytes(buf[:pos])
        del buf[:pos]
        self.emitted += len(out)
        return out


class PcapReader:
    """Incremental pcap parser: ``feed(chunk)`` returns the packets the chunk completed."""

    def __init__(self, hop: int = 0) -> None:
        self.hop = hop
        self.header: PcapHeader | None = None
        self.last_bytes = b""  # what the last feed completed: the global header and/or whole records
        self._framer = PcapFramer()

    def feed(self, chunk: bytes) -> list[Packet]:
        complete = self.last_bytes = self._framer.feed(chunk)
        if self.header is None and self._framer.header is not None:
            self.header = self._framer.header
            complete = complete[GLOBAL_HEADER_LEN:]
        if not complete:
            return []
        assert self.header is not None
        hdr = self.header
        fmt = hdr.endian + "IIII"
        scale = 1 if hdr.nanos else 1000
        packets = []
        pos = 0
        while pos < len(complete):
            sec, frac, incl, orig = struct.unpack_from(fmt, complete, pos)
            pos += RECORD_HEADER_LEN
            packets.append(
                Packet(sec * 1_000_000_000 + frac * scale, complete[pos : pos + incl], orig, hdr.linktype, self.hop)
            )
            pos += incl
        return packets

    @property
    def leftover(self) -> int:
        """Bytes of an incomplete record at the end (a stream cut short)."""
        return self._framer.pending


def read_pcap(fh: BinaryIO) -> tuple[PcapHeader, list[Packet]]:
    reader = PcapReader()
    packets = reader.feed(fh.read())
    if reader.header is None:
        raise PcapFormatError("empty or truncated pcap file")
    return reader.header, packets


def write_pcap(
    fh: BinaryIO,
    packets: Iterable[Packet],
    linktype: int = LINKTYPE_ETHERNET,
    snaplen: int = 262144,
    nanos: bool = True,
) -> int:
    """Write a classic pcap file; returns the number of packets written."""
    fh.write(PcapHeader("<", nanos, snaplen, linktype).to_bytes())
    n = 0
    for p in packets:
        sec, rest = divmod(p.ts_ns, 1_000_000_000)
        frac = rest if nanos else rest // 1000
        fh.write(struct.pack("<IIII", sec, frac, len(p.data), p.orig_len))
        fh.write(p.data)
        n += 1
    return n


# ---- pcapng -------------------------------------------------------------------


def _pad4(n: int) -> int:
    return (4 - n % 4) % 4


def _options(opts: list[tuple[int, bytes]]) -> bytes:
    if not opts:
        return b""
    out = bytearray()
    for code, value in opts:
        out += struct.pack("<HH", code, len(value)) + value + b"\0" * _pad4(len(value))
    out += struct.pack("<HH", OPT_END, 0)
    return bytes(out)


def _block(block_type: int, body: bytes) -> bytes:
    total = 12 + len(body)
    return struct.pack("<II", block_type, total) + body + struct.pack("<I", total)


@dataclass(frozen=True)
class PcapngInterface:
    name: str
    linktype: int = LINKTYPE_ETHERNET
    snaplen: int = 262144
    description: str = ""
    tsresol: int = 9  # power of ten: 9 = nanoseconds


class PcapngWriter:
    """Writes a pcapng section: ``add_interface`` for each hop, then ``write`` packets (``hop`` = interface id)."""

    def __init__(self, fh: BinaryIO, application: str = "steth") -> None:
        self._fh = fh
        self.interfaces: list[PcapngInterface] = []
        self.packets = 0
        body = struct.pack("<IHHq", PCAPNG_BOM, 1, 0, -1) + _options([(OPT_SHB_USERAPPL, application.encode())])
        fh.write(_block(PCAPNG_SHB, body))

    def add_interface(self, iface: PcapngInterface) -> int:
        opts = [(OPT_IF_NAME, iface.name.encode()), (OPT_IF_TSRESOL, bytes([iface.tsresol]))]
        if iface.description:
            opts.append((OPT_IF_DESCRIPTION, iface.description.encode()))
        body = struct.pack("<HHI", iface.linktype, 0, iface.snaplen) + _options(opts)
        self._fh.write(_block(PCAPNG_IDB, body))
        self.interfaces.append(iface)
        return len(self.interfaces) - 1

    def write(self, p: Packet) -> None:
        if not 0 <= p.hop < len(self.interfaces):
            raise ValueError(f"packet of interface {p.hop}, but {len(self.interfaces)} interfaces were added")
        units = (
            p.ts_ns if self.interfaces[p.hop].tsresol == 9 else p.ts_ns // 10 ** (9 - self.interfaces[p.hop].tsresol)
        )
        body = struct.pack("<IIIII", p.hop, units >> 32, units & 0xFFFFFFFF, len(p.data), p.orig_len)
        body += p.data + b"\0" * _pad4(len(p.data))
        self._fh.write(_block(PCAPNG_EPB, body))
        self.packets += 1


def _parse_options(raw: bytes, endian: str) -> list[tuple[int, bytes]]:
    opts = []
    pos = 0
    while pos + 4 <= len(raw):
        code, length = struct.unpack_from(endian + "HH", raw, pos)
        pos += 4
        if code == OPT_END:
            break
        opts.append((code, raw[pos : pos + length]))
        pos += length + _pad4(length)
    return opts


def _ts_units(tsresol: int) -> int:
    """Nanoseconds per timestamp unit (only powers of ten of at most 10^-9 are supported)."""
    if tsresol & 0x80 or tsresol > 9:
        raise PcapFormatError(f"if_tsresol {tsresol:#x} is not supported")
    return int(10 ** (9 - tsresol))  # a non-negative power: an int, which typeshed cannot know


def read_pcapng(fh: BinaryIO) -> tuple[list[PcapngInterface], list[Packet]]:
    """Read every section of a pcapng file: its interfaces and packets (``hop`` = interface id)."""
    data = fh.read()
    interfaces: list[PcapngInterface] = []
    packets: list[Packet] = []
    pos = 0
    endian = "<"
    while pos + 12 <= len(data):
        (btype,) = struct.unpack_from("<I", data, pos)
        if btype == PCAPNG_SHB:
            (bom,) = struct.unpack_from("<I", data, pos + 8)
            endian = "<" if bom == PCAPNG_BOM else ">"
            if struct.unpack_from(endian + "I", data, pos + 8)[0] != PCAPNG_BOM:
                raise PcapFormatError("bad pcapng byte-order magic")
            interfaces = []  # interface ids are per section
        btype, blen = struct.unpack_from(endian + "II", data, pos)
        if blen < 12 or pos + blen > len(data):
            raise PcapFormatError(f"truncated pcapng block at offset {pos}")
        body = data[pos + 8 : pos + blen - 4]
        if btype == PCAPNG_IDB:
            linktype, _, snaplen = struct.unpack_from(endian + "HHI", body, 0)
            name, desc, tsresol = "", "", 6
            for code, value in _parse_options(body[8:], endian):
                if code == OPT_IF_NAME:
                    name = value.decode(errors="replace")
                elif code == OPT_IF_DESCRIPTION:
                    desc = value.decode(errors="replace")
                elif code == OPT_IF_TSRESOL and value:
                    tsresol = value[0]
            interfaces.append(PcapngInterface(name, linktype, snaplen, desc, tsresol))
        elif btype == PCAPNG_EPB:
            ifid, hi, lo, caplen, orig = struct.unpack_from(endian + "IIIII", body, 0)
            if ifid >= len(interfaces):
                raise PcapFormatError(f"packet names interface {ifid}, which is not described")
            iface = interfaces[ifid]
            packets.append(
                Packet(
                    ((hi << 32) | lo) * _ts_units(iface.tsresol),
                    bytes(body[20 : 20 + caplen]),
                    orig,
                    iface.linktype,
                    ifid,
                )
            )
        pos += blen
    return interfaces, packets


# ---- merging -------------------------------------------------------------------


def merge(streams: Iterable[Iterable[Packet]]) -> Iterator[Packet]:
    """Packets of several captures in timestamp order; equal timestamps keep hop order (stable)."""
    # each stream sorted first: a capture is nearly, but not strictly, in time order
    keyed = (sorted((p.ts_ns, p.hop, i, p) for i, p in enumerate(s)) for s in streams)
    for _, _, _, p in heapq.merge(*keyed):
        yield p
