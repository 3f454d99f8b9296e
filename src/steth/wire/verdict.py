"""The one vocabulary of verdicts: what a probe found, what a check or doctor concluded.

Agents send ``ok``, ``fail``, ``error`` or ``skipped``. ``warn`` is a judgement only the
controller makes (doctor: worth knowing, not a broken link); no agent result carries it.
"""

from __future__ import annotations

from enum import Enum


class Verdict(str, Enum):
    OK = "ok"
    WARN = "warn"  # controller-side only: worth knowing, not a cause (e.g. a subnet without DNS servers)
    FAIL = "fail"  # a broken link: the first one in doctor's chain is the root cause
    ERROR = "error"  # the probe itself could not run (agent unreachable, tool missing)
    SKIPPED = "skipped"  # not applicable, or nothing to try


# most serious first: error > fail > warn > ok > skipped
_SEVERITY = [Verdict.ERROR, Verdict.FAIL, Verdict.WARN, Verdict.OK, Verdict.SKIPPED]


def worst(verdicts: list[Verdict]) -> Verdict:
    """The verdict that summarises several: error > fail > warn > ok > skipped."""
    for v in _SEVERITY:
        if v in verdicts:
            return v
    return Verdict.SKIPPED
