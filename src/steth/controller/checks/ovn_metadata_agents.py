"""ML2/OVN's metadata agents, cloud-wide from Neutron's agents (`check all` runs it when the cloud is OVN).

Every "OVN Metadata agent" must be alive (a dead one: no VM on its chassis gets metadata, root cause 9);
a chassis that hosts VMs ("OVN Controller agent", not a gateway-only one) without any metadata agent is
named too, once the cloud runs metadata agents at all (without any, metadata is not deployed).
"""

from __future__ import annotations

from ...openstack.adapter import NeutronAgent
from ...wire.models import Verdict

METADATA = "OVN Metadata agent"
CONTROLLER = "OVN Controller agent"  # a chassis that hosts VMs; gateways list "OVN Controller Gateway agent"


def is_ovn(agents: list[NeutronAgent]) -> bool:
    return any(a.agent_type.startswith("OVN Controller") for a in agents)


def findings(agents: list[NeutronAgent]) -> tuple[Verdict, list[str]]:
    """FAIL naming every dead metadata agent, WARN a VM chassis without one; OK listing them."""
    if not is_ovn(agents):
        return Verdict.SKIPPED, ["Neutron lists no OVN Controller agent: the cloud is not ML2/OVN"]
    meta = {a.host: a for a in agents if a.agent_type == METADATA}
    if not meta:
        return Verdict.SKIPPED, [f"Neutron lists no {METADATA}: metadata is not deployed (config drive?)"]
    dead = sorted(h for h, a in meta.items() if not a.alive)
    missing = sorted({a.host for a in agents if a.agent_type == CONTROLLER} - set(meta))
    lines = [f"{h}: {METADATA} dead (last heartbeat {meta[h].last_heartbeat or 'never'}): no metadata for its VMs"
             for h in dead]  # fmt: skip
    lines += [f"{h}: OVN chassis hosting VMs without an {METADATA}" for h in missing]
    if dead:
        return Verdict.FAIL, lines
    if missing:
        return Verdict.WARN, lines
    return Verdict.OK, [f"{METADATA} alive on {', '.join(sorted(meta))}"]
