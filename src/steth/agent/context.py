"""What every route may need: the settings and the agent's shared objects, made when first used.

A route's probe code (pyroute2, ovsdbapp, tcpdump and iperf3 management) is
imported by the first request that needs it, not at start: the agent runs on
every node and most of them never serve most routes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from .auth import Tokens
from .backend import Backend
from .config import AgentSettings
from .leases import LeaseStore
from .watch import WatchRunner

if TYPE_CHECKING:
    from ..probes.iperf import IperfServers
    from ..probes.vlan import CaptureStore
    from .captures import CaptureManager
    from .watch import WatchRunner


@dataclass
class AgentContext:
    settings: AgentSettings
    tokens: Tokens
    backend: Any = field(default_factory=Backend)  # the host-facing modules; a fake in in-process tests
    leases: LeaseStore = field(init=False)

    def __post_init__(self) -> None:
        self.leases = LeaseStore(self.settings.state_dir)

    @property
    def ovsdb_connection(self) -> str:
        return self.settings.ovsdb_connection

    @cached_property
    def vlan_captures(self) -> CaptureStore:
        """802.1Q probe listeners (check vlan)."""
        return self.backend.vlan.CaptureStore()

    @cached_property
    def captures(self) -> CaptureManager:
        """Packet captures to pcap (steth capture)."""
        s = self.settings
        return self.backend.captures.CaptureManager(
            self.leases,
            s.state_dir,
            s.capture_max_seconds,
            s.capture_max_bytes,
            s.capture_max_concurrent,
            s.capture_fetch_seconds,
        )

    @cached_property
    def iperf(self) -> IperfServers:
        s = self.settings
        return self.backend.iperf.IperfServers(
            self.leases, s.state_dir, s.iperf_ports, s.iperf_max_servers, reserved_ports=(s.port,)
        )

    @cached_property
    def watch(self) -> WatchRunner:
        """The continuous watch (steth watch apply); its plan lives in the state directory."""
        from .watch import WatchRunner

        return WatchRunner(self.settings.state_dir)

    @cached_property
    def metrics_tokens(self) -> Tokens | None:
        """Who may scrape GET /metrics: None when metrics_auth = none."""
        s = self.settings
        if s.metrics_auth == "none":
            return None
        return Tokens(s.metrics_token_file) if s.metrics_token_file else self.tokens

    def stop(self) -> None:
        """Stop the listeners that exist (those never used were never made)."""
        if "vlan_captures" in self.__dict__:
            self.vlan_captures.stop_all()
