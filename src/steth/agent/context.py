"""What every route may need: settings and the agent's shared objects."""

from __future__ import annotations

from dataclasses import dataclass, field

from .captures import CaptureManager
from .leases import LeaseStore


@dataclass
class AgentContext:
    token: str
    ovsdb_connection: str
    state_dir: str
    capture_max_seconds: float = 300.0
    capture_max_bytes: int = 100_000_000
    capture_max_concurrent: int = 4
    capture_fetch_seconds: float = 60.0
    leases: LeaseStore = field(init=False)
    captures: CaptureManager = field(init=False)

    def __post_init__(self) -> None:
        self.leases = LeaseStore(self.state_dir)
        self.captures = CaptureManager(self.leases, self.state_dir, self.capture_max_seconds,
                                       self.capture_max_bytes, self.capture_max_concurrent,
                                       self.capture_fetch_seconds)
