"""What a doctor check concludes (one row of the report) and the diagnosis drawn from the ordered rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ...wire.verdict import Verdict

Plane = Literal["control", "data"]  # Neutron's records, or what the agents saw on the path


@dataclass
class CheckResult:
    """One link of the chain as judged. ``cause``, ``catalogue`` and ``next_step`` matter when it fails."""

    check: str  # the row's name, e.g. "port binding"
    verdict: Verdict
    evidence: str
    plane: Plane = "control"
    cause: str = ""  # the catalogue's name for what is broken, e.g. "L2 agent down"
    catalogue: int | None = None  # number in the shared root-causes.md
    next_step: str = ""
    proof: bool = False  # the row of a check whose ok proves the path end to end (the VM's own packet)
    unproven: bool = False  # skipped where a link of the path should have been proven: no healthy verdict

    @property
    def failed(self) -> bool:
        return self.verdict == Verdict.FAIL


@dataclass
class Diagnosis:
    healthy: bool
    summary: str
    root_cause: CheckResult | None = None
    symptoms: list[str] = field(default_factory=list)  # later failures explained by the root cause
    inconclusive: list[str] = field(default_factory=list)  # checks that could not run
    not_proven: list[str] = field(default_factory=list)  # links nothing failed on, but nothing proved either


class RegistryError(ValueError):
    """A check, chain or evidence kind defined wrongly (a bug in doctor's code, raised at import)."""
