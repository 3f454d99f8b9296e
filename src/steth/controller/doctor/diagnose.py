"""The root cause is the first failing link in chain order; later failures are its symptoms."""

from __future__ import annotations

from ...wire.verdict import Verdict
from .model import CheckResult, Diagnosis


def diagnose(results: list[CheckResult]) -> Diagnosis:
    """``results`` in chain order (as a chain judges them)."""
    failed = [c for c in results if c.verdict == Verdict.FAIL]
    errors = [f"{c.check}: {c.evidence}" for c in results if c.verdict == Verdict.ERROR]
    if failed:
        root = failed[0]
        number = f" (root-causes #{root.catalogue})" if root.catalogue else ""
        summary = f"root cause: {root.cause}{number}, found by '{root.check}': {root.evidence}"
        return Diagnosis(False, summary, root, [f"{c.check}: {c.cause}" for c in failed[1:]], errors)
    if errors:
        return Diagnosis(
            False, f"no broken link found, but {len(errors)} check(s) could not run: {errors[0]}", None, [], errors
        )
    warned = [c for c in results if c.verdict == Verdict.WARN]
    note = f" ({len(warned)} warning(s): {', '.join(c.check for c in warned)})" if warned else ""
    return Diagnosis(True, f"healthy: every link of the path checked out{note}")
