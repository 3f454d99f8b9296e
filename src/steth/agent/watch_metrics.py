"""Prometheus metrics of the watch (prometheus_client), in a registry of their own.

Imported only when a watch starts or /metrics is first scraped, so an agent that
never watches does not pay for prometheus_client at start-up.

Series per agent: 15 per (peer, network) watched - 9 RTT histogram buckets (8
bounds and +Inf), _sum, _count, probes sent, probes lost, peer up, MTU ok - one
per (prober, network) with a VLAN heartbeat, 8 per agent and the process metrics. A fleet of N agents with K peers on M
networks exposes about 15 * K * N * M watch series.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector, generate_latest

if TYPE_CHECKING:
    from ..wire.watch import WatchPlan
    from .watch import Probe

prometheus_client.disable_created_metrics()  # no _created series: a third fewer for counters and histograms

RTT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5)
PAIR = ("source", "destination", "network")
CONTENT_TYPE = prometheus_client.CONTENT_TYPE_LATEST


class WatchMetrics:
    def __init__(self) -> None:
        self._build()

    def _build(self) -> None:
        r = self.registry = CollectorRegistry(auto_describe=False)
        ProcessCollector(registry=r)
        self.rtt = Histogram(
            "steth_watch_rtt_seconds", "Round-trip time of watch echo requests.", PAIR, buckets=RTT_BUCKETS, registry=r
        )
        self.sent = Counter("steth_watch_probes_sent", "Watch echo requests sent.", PAIR, registry=r)
        self.lost = Counter("steth_watch_probes_lost", "Watch echo requests without an answer.", PAIR, registry=r)
        self.up = Gauge("steth_watch_peer_up", "1 if the last round's echo request was answered.", PAIR, registry=r)
        self.mtu_ok = Gauge(
            "steth_watch_mtu_ok", "1 if the last don't-fragment probe at the network's MTU passed.", PAIR, registry=r
        )
        self.mtu_bytes = Gauge(
            "steth_watch_mtu_probe_bytes", "MTU the don't-fragment probes test.", ("source", "network"), registry=r
        )
        self.last_round = Gauge(
            "steth_watch_last_round_timestamp_seconds", "Unix time the last round ended.", ("source",), registry=r
        )
        self.interval = Gauge("steth_watch_interval_seconds", "Seconds between rounds.", ("source",), registry=r)
        self.pps = Gauge(
            "steth_watch_probe_packets_per_second",
            "Echo requests per second in the last round.",
            ("source",),
            registry=r,
        )
        self.rounds = Counter("steth_watch_rounds", "Watch rounds completed.", ("source",), registry=r)
        self.vlan_missing = Gauge(
            "steth_watch_vlan_missing",
            "VLANs none of the source's heartbeat frames arrived on at the destination (last two windows).",
            PAIR,
            registry=r,
        )
        self.active = Gauge("steth_watch_active", "1 while the agent watches.", registry=r)

    def start(self, plan: WatchPlan) -> None:
        """A new plan: series of the old one go (peers may have changed), those of this one appear at once."""
        self._build()
        self.active.set(1)
        self.interval.labels(plan.source).set(plan.interval)
        for net in plan.networks:
            if net.mtu:
                self.mtu_bytes.labels(plan.source, net.name).set(net.mtu)
            for peer in net.peers:
                labels = (plan.source, peer.name, net.name)
                self.sent.labels(*labels)
                self.lost.labels(*labels)
                self.rtt.labels(*labels)

    def clear(self) -> None:
        self._build()

    def record(self, source: str, probe: Probe, rtt_s: float | None) -> None:
        labels = (source, probe.peer, probe.network)
        if probe.dont_fragment:
            self.mtu_ok.labels(*labels).set(1 if rtt_s is not None else 0)
            return
        self.sent.labels(*labels).inc()
        if rtt_s is None:
            self.lost.labels(*labels).inc()
            self.up.labels(*labels).set(0)
        else:
            self.rtt.labels(*labels).observe(rtt_s)
            self.up.labels(*labels).set(1)

    def vlan(self, source: str, destination: str, network: str, missing: int) -> None:
        self.vlan_missing.labels(source, destination, network).set(missing)

    def round_done(self, source: str, at: float, pps: float) -> None:
        self.last_round.labels(source).set(at)
        self.pps.labels(source).set(pps)
        self.rounds.labels(source).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
