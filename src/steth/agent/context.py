"""What every route may need: settings and the agent's shared objects."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..probes.iperf import DEFAULT_MAX_SERVERS, DEFAULT_PORTS, IperfServers
from ..probes.vlan import CaptureStore
from .captures import CaptureManager
from .leases import LeaseStore
from .watch import WatchRunner


@dataclass
class AgentContext:
    token: str
    ovsdb_connection: str
    state_dir: str
    iperf_ports: tuple[int, int] = DEFAULT_PORTS
    iperf_max_servers: int = DEFAULT_MAX_SERVERS
    agent_port: int = 9698
    capture_max_seconds: float = 300.0
    capture_max_bytes: int = 100_000_000
    capture_max_concurrent: int = 4
    capture_fetch_seconds: float = 60.0
    metrics_token: str | None = None  # GET /metrics needs this token; None: no auth
    leases: LeaseStore = field(init=False)
    vlan_captures: CaptureStore = field(init=False)  # 802.1Q probe listeners (check vlan)
    captures: CaptureManager = field(init=False)  # packet captures to pcap (steth capture)
    iperf: IperfServers = field(init=False)
    watch: WatchRunner = field(init=False)

    def __post_init__(self) -> None:
        self.leases = LeaseStore(self.state_dir)
        self.vlan_captures = CaptureStore()
        self.captures = CaptureManager(
            self.leases,
            self.state_dir,
            self.capture_max_seconds,
            self.capture_max_bytes,
            self.capture_max_concurrent,
            self.capture_fetch_seconds,
        )
        self.watch = WatchRunner(self.state_dir)
        self.iperf = IperfServers(
            self.leases, self.state_dir, self.iperf_ports, self.iperf_max_servers, reserved_ports=(self.agent_port,)
        )
