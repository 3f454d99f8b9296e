"""Concurrent ICMP echo to many targets (icmplib raw sockets, one per target).

Don't-fragment is set with IP_MTU_DISCOVER=IP_PMTUDISC_DO and the source
interface with SO_BINDTODEVICE on the socket, so no subprocess is involved.
"""

from __future__ import annotations

import asyncio
import ipaddress
import math
import socket

from ..wire.models import PingRequest, PingResponse, PingResult, Verdict

IP_MTU_DISCOVER = getattr(socket, "IP_MTU_DISCOVER", 10)
IP_PMTUDISC_DO = getattr(socket, "IP_PMTUDISC_DO", 2)
IPV6_MTU_DISCOVER = getattr(socket, "IPV6_MTU_DISCOVER", 23)
IPV6_PMTUDISC_DO = getattr(socket, "IPV6_PMTUDISC_DO", 2)
MAX_CONCURRENT_TARGETS = 512


def summarise(target: str, sent: int, rtts_ms: list[float], error: str | None = None) -> PingResult:
    """Loss and rtt statistics the way ping(8) reports them (mdev = population stddev)."""
    received = len(rtts_ms)
    loss = 100.0 if sent == 0 else round(100.0 * (sent - received) / sent, 2)
    stats: dict[str, float | None] = dict(rtt_min_ms=None, rtt_avg_ms=None, rtt_max_ms=None, rtt_mdev_ms=None)
    if rtts_ms:
        avg = sum(rtts_ms) / received
        var = max(0.0, sum(r * r for r in rtts_ms) / received - avg * avg)
        stats = dict(
            rtt_min_ms=round(min(rtts_ms), 3),
            rtt_avg_ms=round(avg, 3),
            rtt_max_ms=round(max(rtts_ms), 3),
            rtt_mdev_ms=round(math.sqrt(var), 3),
        )
    if sent == 0:
        verdict = Verdict.ERROR
    elif received == sent:
        verdict = Verdict.OK
    else:
        verdict = Verdict.FAIL
    return PingResult(target=target, sent=sent, received=received, loss_pct=loss, verdict=verdict, error=error, **stats)


def _open_socket(target: str, req: PingRequest):
    from icmplib import ICMPv4Socket, ICMPv6Socket

    v6 = ipaddress.ip_address(target).version == 6
    sock = (ICMPv6Socket if v6 else ICMPv4Socket)(address=req.source, privileged=True)
    raw = sock.sock
    if req.dont_fragment:
        if v6:
            raw.setsockopt(socket.IPPROTO_IPV6, IPV6_MTU_DISCOVER, IPV6_PMTUDISC_DO)
        else:
            raw.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)
    if req.interface:
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, req.interface.encode())
    return sock


async def ping_one(target: str, req: PingRequest) -> PingResult:
    """Send ``req.count`` echoes to one target; failures are recorded, not raised."""
    from icmplib import ICMPRequest
    from icmplib.exceptions import ICMPError, ICMPLibError, TimeoutExceeded
    from icmplib.sockets import AsyncSocket
    from icmplib.utils import unique_identifier

    try:
        icmp = _open_socket(target, req)
    except (OSError, ICMPLibError) as exc:
        return summarise(target, 0, [], f"cannot open ICMP socket: {exc}")
    sent, rtts, last_error = 0, [], None
    ident = unique_identifier()
    with AsyncSocket(icmp) as sock:
        for seq in range(req.count):
            if seq:
                await asyncio.sleep(req.interval)
            request = ICMPRequest(destination=target, id=ident, sequence=seq, payload_size=req.size)
            try:
                sock.send(request)
                sent += 1
                reply = await sock.receive(request, req.timeout)
                reply.raise_for_status()
                rtts.append((reply.time - request.time) * 1000.0)
            except TimeoutExceeded:
                continue
            except ICMPError as exc:  # destination unreachable, fragmentation needed, ...
                last_error = str(exc)
            except ICMPLibError as exc:  # send failed: EMSGSIZE with DF, no route, ...
                last_error = str(exc)
                if sent == seq:  # the send itself failed: count it as sent and lost
                    sent += 1
    return summarise(target, sent, rtts, last_error)


async def ping_many(req: PingRequest) -> PingResponse:
    """All targets at once; wall time is bounded by count*(interval+timeout), not the target count."""
    limit = asyncio.Semaphore(MAX_CONCURRENT_TARGETS)

    async def bounded(target: str) -> PingResult:
        async with limit:
            return await ping_one(target, req)

    results = await asyncio.gather(*(bounded(t) for t in req.targets))
    return PingResponse(results=list(results))
