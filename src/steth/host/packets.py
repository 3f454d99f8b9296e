"""Raw AF_PACKET frames: 802.1Q probe frames sent from a template, captured with a BPF filter.

A probe frame (64 bytes before padding)::

    dst ff:ff:ff:ff:ff:ff | src <interface MAC> | [8100 TCI] | 88b5 | payload
    payload: magic "STVL" | version 1 | run id (8 bytes) | VLAN (2) | sender (32) | interface (16)

0x88B5 is the IEEE "local experimental" ethertype. The tag is absent for the
native (untagged) probe, VLAN 0 in the API. The frame is built once and only
the TCI and the VLAN field of the payload are patched per VLAN, so a sweep of
4094 VLANs costs a few tens of milliseconds instead of seconds of scapy.

The receiving kernel moves the tag into packet metadata before a packet socket
sees the frame, so the receiver reads it from PACKET_AUXDATA; a classic BPF
filter attached with SO_ATTACH_FILTER keeps only 0x88B5 frames (tag stripped, or
still in-band on drivers that keep it). The magic and run id are checked in
Python, so frames of other runs and other traffic are ignored.
"""

from __future__ import annotations

import errno
import select
import socket
import struct
import time
from dataclasses import dataclass, field
from typing import NamedTuple

from ..errors import CapabilityMissing, HostError
from ..wire import frames
from . import bpf

ETH_P_ALL = 0x0003
ETH_P_8021Q = frames.ETH_8021Q
ETHERTYPE_PROBE = 0x88B5
MAGIC = b"STVL"
VERSION = 1
RUN_ID_BYTES = 8
SENDER_BYTES = 32
IFNAME_BYTES = 16
BROADCAST = b"\xff" * 6
MIN_FRAME = 60  # without FCS

SOL_PACKET = 263
PACKET_AUXDATA = 8
PACKET_STATISTICS = 6
PACKET_IGNORE_OUTGOING = 23
PACKET_OUTGOING = 4
SO_RCVBUFFORCE = 33
TP_STATUS_VLAN_VALID = 0x10
_AUXDATA = struct.Struct("IIIHHHH")  # struct tpacket_auxdata
RCVBUF_BYTES = 64 * 1024 * 1024  # the kernel doubles it; only what is queued uses memory

# payload layout (offsets from the start of the payload)
_PAYLOAD = struct.Struct(f"!4sB{RUN_ID_BYTES}sH{SENDER_BYTES}s{IFNAME_BYTES}s")
_P_VLAN = 4 + 1 + RUN_ID_BYTES


def run_id_bytes(run_id: str) -> bytes:
    raw = bytes.fromhex(run_id)
    if not 1 <= len(raw) <= RUN_ID_BYTES:
        raise ValueError(f"run id must be 2-{RUN_ID_BYTES * 2} hex digits")
    return raw.ljust(RUN_ID_BYTES, b"\0")


@dataclass
class FrameTemplate:
    """Two pre-built frames (tagged and untagged); ``frame(vlan)`` patches the VLAN into a copy."""

    src_mac: bytes
    run_id: bytes
    sender: str
    interface: str
    tagged: bytearray = field(init=False)
    untagged: bytearray = field(init=False)

    def __post_init__(self) -> None:
        sender = self.sender.encode()[:SENDER_BYTES]
        iface = self.interface.encode()[:IFNAME_BYTES]
        payload = _PAYLOAD.pack(MAGIC, VERSION, self.run_id, 0, sender, iface)
        eth = BROADCAST + self.src_mac
        self.tagged = bytearray(
            (eth + struct.pack("!HHH", ETH_P_8021Q, 0, ETHERTYPE_PROBE) + payload).ljust(MIN_FRAME, b"\0")
        )
        self.untagged = bytearray((eth + struct.pack("!H", ETHERTYPE_PROBE) + payload).ljust(MIN_FRAME, b"\0"))

    def frame(self, vlan: int) -> bytes:
        """The frame for ``vlan`` (1-4094 tagged, priority 0; 0 untagged)."""
        if vlan == 0:
            buf = self.untagged
            struct.pack_into("!H", buf, 14 + _P_VLAN, 0)
            return bytes(buf)
        if not 1 <= vlan <= 4094:
            raise ValueError(f"VLAN {vlan} is out of range 0-4094")
        buf = self.tagged
        struct.pack_into("!H", buf, 14, vlan)  # TCI: PCP 0, DEI 0, VID
        struct.pack_into("!H", buf, 18 + _P_VLAN, vlan)
        return bytes(buf)


class Probe(NamedTuple):
    """A received probe frame, decoded (a tuple: built for every frame of a sweep, it must be cheap)."""

    run_id: bytes
    vlan_sent: int  # VLAN named in the payload (0: untagged)
    vlan_seen: int  # tag the frame arrived with (0: none)
    sender: str
    interface: str


def decode(frame: bytes, aux_tci: int | None) -> Probe | None:
    """Decode a captured frame; None when it is not a steth probe. ``aux_tci`` is the tag from auxdata."""
    head = frames.link_header(frame)
    if head is None:
        return None
    ethertype, offset, tags = head
    if ethertype != ETHERTYPE_PROBE or len(frame) < offset + _PAYLOAD.size:
        return None
    magic, version, run_id, vlan, sender, iface = _PAYLOAD.unpack_from(frame, offset)
    if magic != MAGIC or version != VERSION:
        return None
    # the tag next to the payload, the one the probe was sent with: in band where no offload moved it
    tci = tags[-1] if tags else aux_tci
    return Probe(
        run_id=run_id,
        vlan_sent=vlan,
        vlan_seen=tci & 0x0FFF if tci is not None else 0,
        sender=sender.rstrip(b"\0").decode(errors="replace"),
        interface=iface.rstrip(b"\0").decode(errors="replace"),
    )


def probe_filter() -> list[bpf.Insn]:
    """Accept 0x88B5 frames, tag stripped or in band; drop everything else (before it is queued)."""
    return [
        bpf.load(bpf.LD_H_ABS, 12),  # A = ethertype
        bpf.jump(bpf.JEQ_K, ETHERTYPE_PROBE, 3, 0),  # -> accept
        bpf.jump(bpf.JEQ_K, ETH_P_8021Q, 0, 3),  # not a tag either -> drop
        bpf.load(bpf.LD_H_ABS, 16),  # A = inner ethertype
        bpf.jump(bpf.JEQ_K, ETHERTYPE_PROBE, 0, 1),
        bpf.accept(),
        bpf.drop(),
    ]


def _open(ifname: str) -> socket.socket:
    try:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0))  # bound below
    except PermissionError as exc:
        raise CapabilityMissing(
            f"cannot open a raw packet socket: {exc}", "the agent needs CAP_NET_RAW (run it as root)"
        ) from exc
    return sock


def _bind(sock: socket.socket, ifname: str, proto: int) -> None:
    try:
        sock.bind((ifname, proto))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.ENODEV:
            raise HostError(f"no interface named {ifname!r} on this node") from exc
        raise HostError(f"cannot bind a packet socket to {ifname}: {exc}") from exc


# ---- listener -------------------------------------------------------------------


@dataclass
class Heard:
    frames: int = 0
    ignored: int = 0  # 0x88B5 frames of other runs / not ours
    outgoing: int = 0
    # (sender, interface) -> VLANs heard with the tag they were sent with
    by_sender: dict[tuple[str, str], set[int]] = field(default_factory=dict)
    # (sender, interface) -> {(sent, seen)} for frames whose tag was changed on the way
    mismatched: dict[tuple[str, str], set[tuple[int, int]]] = field(default_factory=dict)
    kernel_drops: int = 0


class Listener:
    """A bound, filtered packet socket on one interface; ``capture`` reads until a deadline or ``stop``."""

    MAX_SENDERS = 4096
    MAX_MISMATCHED = 4096

    def __init__(self, ifname: str, run_id: str) -> None:
        self.ifname = ifname
        self.run_id = run_id_bytes(run_id)
        sock = _open(ifname)
        try:
            bpf.attach(sock, probe_filter())  # before bind: nothing unfiltered is ever queued
            sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
            try:
                sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF_BYTES)
            except OSError:  # no CAP_NET_ADMIN: the largest buffer rmem_max allows
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF_BYTES)
            try:
                sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
            except OSError:  # kernel < 4.20: outgoing frames are skipped by pkttype below
                pass
        except BaseException:
            sock.close()
            raise
        _bind(sock, ifname, ETH_P_ALL)  # CPython converts to network order itself
        sock.setblocking(False)
        self.sock = sock
        self.heard = Heard()
        self._stopped = False

    def stop(self) -> None:
        self._stopped = True

    def close(self) -> None:
        try:
            stats = self.sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8)
            self.heard.kernel_drops += struct.unpack("II", stats)[1]
        except OSError:
            pass
        self.sock.close()

    DRAIN_BUDGET = 8192  # frames per call: a flood never keeps capture() from seeing its deadline

    def _drain(self) -> None:
        heard = self.heard
        cmsg_space = socket.CMSG_SPACE(_AUXDATA.size)
        for _ in range(self.DRAIN_BUDGET):
            try:
                data, ancdata, _flags, addr = self.sock.recvmsg(2048, cmsg_space)
            except BlockingIOError:
                return
            except InterruptedError:
                continue
            if addr[2] == PACKET_OUTGOING:
                heard.outgoing += 1
                continue
            tci = None
            for level, ctype, cdata in ancdata:
                if level == SOL_PACKET and ctype == PACKET_AUXDATA and len(cdata) >= _AUXDATA.size:
                    status, _len, _snap, _mac, _net, vtci, _tpid = _AUXDATA.unpack_from(cdata)
                    if status & TP_STATUS_VLAN_VALID:
                        tci = vtci
            probe = decode(data, tci)
            if probe is None or probe.run_id != self.run_id:
                heard.ignored += 1
                continue
            heard.frames += 1
            key = (probe.sender, probe.interface)
            if key not in heard.by_sender and len(heard.by_sender) >= self.MAX_SENDERS:
                heard.ignored += 1
                continue
            vlans = heard.by_sender.setdefault(key, set())
            if probe.vlan_seen == probe.vlan_sent:
                vlans.add(probe.vlan_sent)
            else:
                bad = heard.mismatched.setdefault(key, set())
                if len(bad) < self.MAX_MISMATCHED:
                    bad.add((probe.vlan_sent, probe.vlan_seen))

    def capture(self, deadline: float) -> Heard:
        """Read frames until ``deadline`` (time.monotonic()) or ``stop()``; then close the socket."""
        try:
            while not self._stopped:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                ready, _, _ = select.select([self.sock], [], [], min(left, 0.05))
                if ready:
                    self._drain()
            for _ in range(16):  # what arrived in the last instant (bounded)
                self._drain()
        finally:
            self.close()
        return self.heard


# ---- sender ---------------------------------------------------------------------


def interface_mac(ifname: str) -> bytes:
    try:
        with open(f"/sys/class/net/{ifname}/address", encoding="ascii") as fh:
            return frames.mac_bytes(fh.read().strip())
    except FileNotFoundError:
        raise HostError(f"no interface named {ifname!r} on this node") from None
    except (OSError, ValueError) as exc:
        raise HostError(f"cannot read the MAC address of {ifname}: {exc}") from exc


@dataclass
class SendResult:
    sent: int
    mac: str
    elapsed: float
    errors: int = 0
    error: str | None = None


def send_probes(
    ifname: str, run_id: str, sender: str, vlans: list[int], *, repeat: int = 1, rate: float | None = None
) -> SendResult:
    """Send one probe frame per VLAN (``repeat`` rounds); ``rate`` frames/s paces the burst."""
    mac = interface_mac(ifname)
    template = FrameTemplate(mac, run_id_bytes(run_id), sender, ifname)
    burst = [template.frame(v) for v in vlans]
    sock = _open(ifname)
    _bind(sock, ifname, 0)  # proto 0: this socket receives nothing
    sent = errors = 0
    first_error = None
    start = time.monotonic()
    batch = 64
    try:
        for _ in range(repeat):
            for i, frame in enumerate(burst):
                if rate and i % batch == 0 and sent:
                    due = start + sent / rate
                    wait = due - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
                try:
                    sock.send(frame)
                    sent += 1
                except BlockingIOError:
                    time.sleep(0.001)  # transmit queue full: wait and try once more
                    try:
                        sock.send(frame)
                        sent += 1
                    except OSError as exc:
                        errors += 1
                        first_error = first_error or str(exc)
                except OSError as exc:
                    errors += 1
                    first_error = first_error or str(exc)
                    if exc.errno in (errno.ENETDOWN, errno.ENXIO, errno.ENODEV):
                        break
    finally:
        sock.close()
    return SendResult(
        sent=sent,
        mac=frames.mac_text(mac),
        elapsed=time.monotonic() - start,
        errors=errors,
        error=first_error,
    )
