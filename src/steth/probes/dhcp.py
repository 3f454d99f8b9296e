"""DHCP trace on one node: capture DHCP on several hops at once, optionally inject a DHCPDISCOVER.

The DISCOVER carries the port's MAC and the broadcast flag (so the OFFER is broadcast and
visible on every hop); it changes no address anywhere. The controller combines the
hops of the compute node and the network node into a verdict.
"""

from __future__ import annotations

import random
import time

from ..errors import HostError
from ..host import dhcp_frames as packets
from ..host import netlink
from ..wire.models import DhcpHop, DhcpMessage, DhcpTraceRequest, DhcpTraceResponse, Verdict
from .inject import inject


def _inject(req: DhcpTraceRequest, xid: int, connection: str) -> tuple[bool, str]:
    spec = req.inject
    assert spec is not None
    frame = packets.discover(spec.mac.lower(), xid)
    sent, where = inject(
        frame, connection, interface=spec.interface, netns=spec.netns, bridge=spec.bridge, ovs_port=spec.ovs_port
    )
    return sent, (f"DHCPDISCOVER xid {xid:#010x} from {spec.mac} {where}" if sent else where)


def _wait(live: list[packets.Capture], end: float, xid: int, settle: float | None) -> None:
    """Until ``end``; with ``settle``, until that long after every capture saw an OFFER of the xid
    (dnsmasq's static leases answer at once; a rogue's dynamic range takes its ~3 s ping check)."""
    offered = False
    while (now := time.monotonic()) < end:
        if settle is not None and not offered and live:
            offered = all(any(f.message == "OFFER" and f.xid == xid for f in list(c.frames)) for c in live)
            if offered:
                end = min(end, now + settle)
        time.sleep(min(0.05, max(0.0, end - now)))


def _local() -> frozenset[str] | None:
    """This node's IPv4 addresses, where its uplinks' tunnel packets start and end (None when unreadable:
    then every tunnel packet counts). Hops inside a namespace (qdhcp-) see no tunnel packets."""
    try:
        return netlink.local_ipv4()
    except Exception:  # noqa: BLE001 - e.g. pyroute2's NetlinkDumpInterrupted while addresses change: no filter
        return None


def trace(req: DhcpTraceRequest, connection: str) -> DhcpTraceResponse:
    xid = req.xid or random.randint(1, 0xFFFFFFFF)
    hops: list[DhcpHop] = []
    captures: list[tuple[DhcpHop, packets.Capture | None]] = []
    local = _local() if any(spec.netns is None for spec in req.captures) else None
    for spec in req.captures:
        hop = DhcpHop(name=spec.name, interface=spec.interface, netns=spec.netns)
        try:
            captures.append(
                (hop, packets.Capture(spec.interface, spec.netns, local if spec.netns is None else None).start())
            )
        except HostError as exc:
            hop.error = str(exc)
            captures.append((hop, None))
        hops.append(hop)
    injected, detail = False, ""
    end = time.monotonic() + req.duration
    try:
        if req.inject is not None:
            time.sleep(req.delay)
            injected, detail = _inject(req, xid, connection)
        _wait([c for _, c in captures if c is not None], end, xid, req.settle)
    finally:
        for hop, cap in captures:
            if cap is not None:
                hop.messages = [DhcpMessage(**f.__dict__) for f in cap.stop()]
    verdict = Verdict.OK
    if req.inject is not None and not injected:
        verdict = Verdict.ERROR
    elif any(h.error for h in hops):
        verdict = Verdict.ERROR
    return DhcpTraceResponse(xid=xid, injected=injected, inject_detail=detail, hops=hops, verdict=verdict)
