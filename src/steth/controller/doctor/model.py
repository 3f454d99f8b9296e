"""A doctor check, its outcome, and the diagnosis drawn from the ordered list."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Outcome(str, Enum):
    OK = "ok"
    WARN = "warn"  # worth knowing, not a cause (e.g. no DNS servers when the question is ping)
    FAIL = "fail"  # a broken link: the first one in chain order is the root cause
    SKIPPED = "skipped"  # not applicable, or could not be tried because of an earlier failure
    ERROR = "error"  # the probe itself could not run (agent unreachable, tool missing)


@dataclass
class Check:
    """One link of the chain. ``cause`` and ``next_step`` matter when it fails."""

    check: str
    outcome: Outcome
    evidence: str
    plane: str = "control"  # control | data
    cause: str = ""  # the catalogue's name for what is broken, e.g. "L2 agent down"
    catalogue: int | None = None  # number in shared root-causes.md
    next_step: str = ""

    @property
    def failed(self) -> bool:
        return self.outcome == Outcome.FAIL


@dataclass
class Diagnosis:
    healthy: bool
    summary: str
    root_cause: Check | None = None
    symptoms: list[str] = field(default_factory=list)  # later failures explained by the root cause
    inconclusive: list[str] = field(default_factory=list)  # checks that could not run


def ok(check: str, evidence: str, plane: str = "control") -> Check:
    return Check(check, Outcome.OK, evidence, plane)


def warn(check: str, evidence: str, plane: str = "control", next_step: str = "") -> Check:
    return Check(check, Outcome.WARN, evidence, plane, next_step=next_step)


def skipped(check: str, evidence: str, plane: str = "control") -> Check:
    return Check(check, Outcome.SKIPPED, evidence, plane)


def error(check: str, evidence: str, plane: str = "data") -> Check:
    return Check(check, Outcome.ERROR, evidence, plane)


def fail(
    check: str, evidence: str, *, cause: str, catalogue: int | None, next_step: str, plane: str = "control"
) -> Check:
    return Check(check, Outcome.FAIL, evidence, plane, cause, catalogue, next_step)
