"""The agent's watch runner: probes its peers round after round, on its own, until told to stop.

The plan is kept in the state directory (watch-plan.json) so a restarted agent
resumes watching. Each round, every (network, peer) gets one echo request and,
where the network's MTU is given, one don't-fragment echo at that MTU. The
probes of a round are spread over the interval with random jitter (no bursts
synchronised across the fleet), a token-bucket slot scheduler enforces the
plan's packets-per-second cap, and each probe uses a fresh ICMP socket and
identifier: a conntrack entry of an earlier round never carries a later one
past a firewall.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import os
import random
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import HostError
from ..host.icmp import Pinger, TargetStats
from ..wire.watch import PeerResult, VlanResult, WatchApplied, WatchPlan, WatchStatus
from . import watch_vlan

if TYPE_CHECKING:
    from .watch_metrics import WatchMetrics

log = logging.getLogger("steth.agent.watch")
PLAN_FILE = "watch-plan.json"
IPV4_OVERHEAD, IPV6_OVERHEAD = 28, 48  # IP + ICMP headers
SMALL_SIZE = 56


@dataclass(frozen=True)
class Probe:
    network: str
    peer: str
    address: str
    size: int  # ICMP payload bytes
    dont_fragment: bool


def probes_of(plan: WatchPlan) -> list[Probe]:
    """One round's probes, in plan order."""
    out = []
    for net in plan.networks:
        for peer in net.peers:
            out.append(Probe(net.name, peer.name, peer.address, SMALL_SIZE, False))
            if net.mtu:
                overhead = IPV6_OVERHEAD if ipaddress.ip_address(peer.address).version == 6 else IPV4_OVERHEAD
                out.append(Probe(net.name, peer.name, peer.address, max(net.mtu - overhead, 0), True))
    return out


def schedule(n: int, interval: float, jitter: float, max_pps: float, rng: random.Random) -> list[float]:
    """Send offsets (seconds from the round's start) for ``n`` probes.

    Evenly spread over 90 % of the interval, each moved by up to ``jitter`` of its slot; never two
    closer than 1/max_pps (so a plan larger than the cap stretches its round rather than burst).
    """
    if n == 0:
        return []
    slot = interval * 0.9 / n
    gap = 1.0 / max_pps
    offsets, last = [], -gap
    for i in range(n):
        t = max(i * slot + rng.uniform(0, jitter * slot), last + gap)
        offsets.append(t)
        last = t
    return offsets


async def send_one(probe: Probe, timeout: float) -> TargetStats:
    """One echo request on its own socket (fresh identifier); failures are data, not exceptions."""
    family = ipaddress.ip_address(probe.address).version
    try:
        pinger = Pinger(family, dont_fragment=probe.dont_fragment)
    except OSError as exc:
        return TargetStats(error=f"cannot open ICMP socket: {exc.strerror or exc}")
    try:
        stats = await pinger.run([probe.address], 1, 0.01, timeout, probe.size)
        return stats[probe.address]
    finally:
        pinger.close()


class WatchRunner:
    """Owns the plan, the probing task and the last results; one per agent."""

    def __init__(self, state_dir: str) -> None:
        self.state_dir = state_dir
        self.plan: WatchPlan | None = None
        self.started_at: float | None = None
        self.rounds = 0
        self.last_round_at: float | None = None
        self.pps = 0.0
        self.results: dict[tuple[str, str], PeerResult] = {}
        self.vlan_results: dict[tuple[str, str], VlanResult] = {}
        self._listeners: list[watch_vlan.HeartbeatListener] = []
        self.metrics: WatchMetrics | None = None
        self._task: asyncio.Task | None = None
        self._rng = random.Random()

    @property
    def plan_path(self) -> str:
        return os.path.join(self.state_dir, PLAN_FILE)

    # ---- life cycle -------------------------------------------------------------

    async def resume(self) -> None:
        """At start-up: watch again if a plan was left in the state directory."""
        try:
            with open(self.plan_path, encoding="utf-8") as fh:
                plan = WatchPlan.model_validate(json.load(fh))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable watch plan %s: %s", self.plan_path, exc)
            return
        self._start(plan)

    async def apply(self, plan: WatchPlan) -> WatchApplied:
        """Replace any running plan with ``plan``, persisted first so a restart resumes it."""
        await self._cancel()
        tmp = self.plan_path + ".tmp"
        try:
            os.makedirs(self.state_dir, mode=0o700, exist_ok=True)
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(plan.model_dump_json())
            os.replace(tmp, self.plan_path)
        except OSError as exc:
            raise HostError(f"cannot keep the watch plan in {self.state_dir}: {exc.strerror or exc}") from exc
        self._start(plan)
        return WatchApplied(
            active=True,
            source=plan.source,
            peers=len(self.results),
            packets_per_round=plan.packets_per_round(),
            started_at=self.started_at or time.time(),
        )

    async def stop(self, forget: bool = True) -> WatchStatus:
        """Stop probing; ``forget`` also removes the persisted plan (`steth watch stop`)."""
        await self._cancel()
        if forget:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.plan_path)
            self.plan, self.started_at, self.last_round_at = None, None, None
            self.rounds, self.pps, self.results, self.vlan_results = 0, 0.0, {}, {}
            if self.metrics is not None:
                self.metrics.clear()
        return self.status()

    def _start(self, plan: WatchPlan) -> None:
        from .watch_metrics import WatchMetrics

        self.plan = plan
        self.started_at = time.time()
        self.rounds, self.last_round_at, self.pps = 0, None, 0.0
        self.results = {
            (p.network, p.peer): PeerResult(network=p.network, peer=p.peer, address=p.address)
            for p in probes_of(plan)
            if not p.dont_fragment
        }
        if self.metrics is None:
            self.metrics = WatchMetrics()
        self.metrics.start(plan)
        self._start_listeners(plan)
        self._task = asyncio.get_running_loop().create_task(self._loop(plan), name="watch")

    def _start_listeners(self, plan: WatchPlan) -> None:
        """A heartbeat listener per network with VLANs, over windows of 1.5 heartbeat periods."""
        self.vlan_results = {}
        window = 1.5 * plan.vlan_every * plan.interval + 1
        for net in plan.networks:
            if not net.vlans or not net.interface:
                continue
            for p in net.probers:
                self.vlan_results[(net.name, p)] = VlanResult(network=net.name, prober=p)

            def on_window(missing: dict[str, list[int]], net_name: str = net.name) -> None:
                self._vlan_window(plan.source, net_name, missing)

            listener = watch_vlan.HeartbeatListener(net.name, net.interface, net.probers, net.vlans, window, on_window)
            listener.start()
            self._listeners.append(listener)

    def _vlan_window(self, source: str, network: str, missing: dict[str, list[int]]) -> None:
        now = time.time()
        for prober, vlans in missing.items():
            self.vlan_results[(network, prober)] = VlanResult(network=network, prober=prober, missing=vlans, at=now)
            if self.metrics is not None:
                self.metrics.vlan(prober, source, network, len(vlans))

    async def _cancel(self) -> None:
        listeners, self._listeners = self._listeners, []
        for listener in listeners:
            await asyncio.to_thread(listener.stop)
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def exposition(self) -> bytes:
        """The metrics in Prometheus' text format (process metrics even before any watch)."""
        if self.metrics is None:
            from .watch_metrics import WatchMetrics

            self.metrics = WatchMetrics()
        return self.metrics.exposition()

    def status(self) -> WatchStatus:
        return WatchStatus(
            active=self._task is not None and not self._task.done(),
            plan=self.plan,
            started_at=self.started_at,
            rounds=self.rounds,
            last_round_at=self.last_round_at,
            probes_per_second=round(self.pps, 3),
            results=list(self.results.values()),
            vlan_results=[
                r.model_copy(update={"error": lst.error})
                if (lst := self._listener_for(r.network)) is not None and lst.error
                else r
                for r in self.vlan_results.values()
            ],
        )

    def _listener_for(self, network: str) -> watch_vlan.HeartbeatListener | None:
        return next((lst for lst in self._listeners if lst.network == network), None)

    # ---- probing ----------------------------------------------------------------

    async def _loop(self, plan: WatchPlan) -> None:
        probes = probes_of(plan)
        # a random phase, so agents given the plan at the same moment do not probe in step
        await asyncio.sleep(self._rng.uniform(0, plan.interval))
        while True:
            start = time.monotonic()
            try:
                if self.rounds % plan.vlan_every == 0:
                    await self._heartbeat(plan)
                await self._round(plan, probes, start)
            except Exception:  # a bug must not end the watch silently: log it and go on next round
                log.exception("watch round failed")
            elapsed = time.monotonic() - start
            self.rounds += 1
            self.last_round_at = time.time()
            self.pps = len(probes) / max(elapsed, plan.interval)
            if self.metrics is not None:
                self.metrics.round_done(plan.source, self.last_round_at, self.pps)
            await asyncio.sleep(max(plan.interval - elapsed, 0.0))

    async def _heartbeat(self, plan: WatchPlan) -> None:
        """One frame per VLAN on each trunk, paced at the plan's packet cap (in a thread: it may take a while)."""
        for net in plan.networks:
            if net.vlans and net.interface:
                error = await asyncio.to_thread(watch_vlan.send, net.interface, plan.source, net.vlans, plan.max_pps)
                if error:
                    log.warning("VLAN heartbeat on %s: %s", net.interface, error)

    async def _round(self, plan: WatchPlan, probes: list[Probe], start: float) -> None:
        order = probes[:]
        self._rng.shuffle(order)
        offsets = schedule(len(order), plan.interval, plan.jitter, plan.max_pps, self._rng)

        async def at(offset: float, probe: Probe) -> None:
            await asyncio.sleep(max(start + offset - time.monotonic(), 0.0))
            self._record(plan.source, probe, await send_one(probe, plan.timeout))

        await asyncio.gather(*(at(o, p) for o, p in zip(offsets, order)))

    def _record(self, source: str, probe: Probe, stats: TargetStats) -> None:
        result = self.results[(probe.network, probe.peer)]
        now = time.time()
        answered = bool(stats.rtts_ms)
        if probe.dont_fragment:
            result.mtu_ok = answered
            result.mtu_error = None if answered else (stats.error or "no answer to a don't-fragment probe")
        else:
            result.sent += 1
            result.lost += 0 if answered else 1
            result.up = answered
            result.rtt_ms = round(stats.rtts_ms[0], 3) if answered else None
            result.error = None if answered else (stats.error or "no answer")
        result.at = now
        if self.metrics is not None:
            self.metrics.record(source, probe, stats.rtts_ms[0] / 1000 if answered else None)
