"""What every route may need: settings and the agent's shared objects."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..probes.vlan import CaptureStore
from ..probes.iperf import DEFAULT_MAX_SERVERS, DEFAULT_PORTS, IperfServers
from .leases import LeaseStore


@dataclass
class AgentContext:
    token: str
    ovsdb_connection: str
    state_dir: str
    iperf_ports: tuple[int, int] = DEFAULT_PORTS
    iperf_max_servers: int = DEFAULT_MAX_SERVERS
    agent_port: int = 9698
    leases: LeaseStore = field(init=False)
    captures: CaptureStore = field(init=False)
    iperf: IperfServers = field(init=False)

    def __post_init__(self) -> None:
        self.leases = LeaseStore(self.state_dir)
        self.captures = CaptureStore()
        self.iperf = IperfServers(self.leases, self.state_dir, self.iperf_ports, self.iperf_max_servers,
                                  reserved_ports=(self.agent_port,))
