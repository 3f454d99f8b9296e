"""What every route may need: settings and the agent's shared objects."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..probes.vlan import CaptureStore
from .leases import LeaseStore


@dataclass
class AgentContext:
    token: str
    ovsdb_connection: str
    state_dir: str
    leases: LeaseStore = field(init=False)
    captures: CaptureStore = field(init=False)

    def __post_init__(self) -> None:
        self.leases = LeaseStore(self.state_dir)
        self.captures = CaptureStore()
