"""The root cause is the first failing link in chain order; later failures are its symptoms.

No verdict without positive proof: on a chain with a proof check (the VM's own packet), the path is
healthy only when that check's row is ok, and no link on the path was left unproven (a capture that
could not start, a ping whose silence proves nothing). Otherwise the diagnosis is "not proven".
"""

from __future__ import annotations

from ...wire.verdict import Verdict
from .model import CheckResult, Diagnosis


def diagnose(results: list[CheckResult], require_proof: bool = False) -> Diagnosis:
    """``results`` in chain order (as a chain judges them); ``require_proof``: the chain has a proof check."""
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
    unproven = [
        f"{c.check}: {c.evidence}"
        for c in results
        if c.verdict == Verdict.SKIPPED and (c.unproven or c.proof)  # a proof skipped proves nothing
    ]
    proved = [c for c in results if c.proof and c.verdict in (Verdict.OK, Verdict.WARN)]
    if require_proof and not any(c.proof for c in results):
        unproven.insert(0, "the VM's own packet: no probe went through and back")
    if unproven:
        return Diagnosis(
            False,
            f"not proven: no broken link found, but {len(unproven)} link(s) could not be proven: {unproven[0]}",
            not_proven=unproven,
        )
    warned = [c for c in results if c.verdict == Verdict.WARN]
    note = f" ({len(warned)} warning(s): {', '.join(c.check for c in warned)})" if warned else ""
    proof = f"; {proved[0].evidence}" if proved else ""
    return Diagnosis(True, f"healthy: every link of the path checked out{note}{proof}")
