"""Concurrent ICMP echo to many targets: one raw socket per address family (see host/icmp.py)."""

from __future__ import annotations

import asyncio
import ipaddress
import math

from ..host.icmp import Pinger, TargetStats
from ..wire.models import PingRequest, PingResponse, PingResult, Verdict


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


async def _family(targets: list[str], family: int, req: PingRequest) -> dict[str, TargetStats]:
    try:
        pinger = Pinger(
            family, dont_fragment=req.dont_fragment, interface=req.interface, source=req.source, netns=req.netns
        )
    except FileNotFoundError:
        return {t: TargetStats(error=f"network namespace {req.netns} does not exist") for t in targets}
    except OSError as exc:
        return {t: TargetStats(error=f"cannot open ICMP socket: {exc.strerror or exc}") for t in targets}
    try:
        return await pinger.run(targets, req.count, req.interval, req.timeout, req.size)
    finally:
        pinger.close()


async def ping_many(req: PingRequest) -> PingResponse:
    """All targets at once; wall time is about count*interval + timeout, whatever the target count."""
    targets = list(dict.fromkeys(req.targets))
    by_family: dict[int, list[str]] = {}
    for t in targets:
        by_family.setdefault(ipaddress.ip_address(t).version, []).append(t)
    if req.source:  # a source address fixes the family
        fam = ipaddress.ip_address(req.source).version
        for other in [f for f in by_family if f != fam]:
            by_family.pop(other)
    stats: dict[str, TargetStats] = {}
    for part in await asyncio.gather(*(_family(ts, fam, req) for fam, ts in by_family.items())):
        stats.update(part)
    results = []
    for t in req.targets:
        st = stats.get(t)
        if st is None:
            results.append(summarise(t, 0, [], "source address and target are of different IP versions"))
        else:
            results.append(summarise(t, st.sent, st.rtts_ms, st.error))
    return PingResponse(results=results)
