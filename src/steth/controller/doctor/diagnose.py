"""The root cause is the first failing link in chain order; later failures are its symptoms."""

from __future__ import annotations

from .model import Check, Diagnosis, Outcome

# The path as one chain, upstream first. A port's status DOWN is what Neutron shows for many
# breaks further down (unplugged VIF, dead VLAN), so it comes after the br-int port check.
CHAIN = [
    "floating IP associated",
    "port admin state",
    "port binding",
    "L2 agent alive",
    "VM port on br-int",
    "port status",
    "DHCP server",
    "DNS servers",
    "security groups",
    "allowed addresses",
    "router interface",
    "router gateway",
    "L3 agent alive",
    "floating IP",
    "underlay path",
    "vxlan tunnel path",
    "gre tunnel path",
    "geneve tunnel path",
    "VLAN trunk",
    "tunnel flood flows",
    "MTU",
    "DHCP exchange",
    "VM source addresses",
    "reachable from DHCP namespace",
    "router namespace",
    "reachable from router",
    "external gateway reachable",
    "NAT rules",
    "destination reachable from router",
    "DNS servers reachable",
]


def in_chain_order(checks: list[Check]) -> list[Check]:
    """Sort by the chain (stable: several checks of one kind keep their order; unknown ones go last)."""
    rank = {name: i for i, name in enumerate(CHAIN)}
    return sorted(checks, key=lambda c: rank.get(c.check, len(CHAIN)))


def diagnose(checks: list[Check]) -> Diagnosis:
    failed = [c for c in checks if c.outcome == Outcome.FAIL]
    errors = [f"{c.check}: {c.evidence}" for c in checks if c.outcome == Outcome.ERROR]
    if failed:
        root = failed[0]
        number = f" (root-causes #{root.catalogue})" if root.catalogue else ""
        summary = f"root cause: {root.cause}{number}, found by '{root.check}': {root.evidence}"
        return Diagnosis(False, summary, root, [f"{c.check}: {c.cause}" for c in failed[1:]], errors)
    if errors:
        return Diagnosis(
            False, f"no broken link found, but {len(errors)} check(s) could not run: {errors[0]}", None, [], errors
        )
    warned = [c for c in checks if c.outcome == Outcome.WARN]
    note = f" ({len(warned)} warning(s): {', '.join(c.check for c in warned)})" if warned else ""
    return Diagnosis(True, f"healthy: every link of the path checked out{note}")
