"""Distributed routers (ML2/OVS with DVR), cloud-wide from Neutron's agents: every L3 agent's
``agent_mode`` against its node's role, and the OVS agents' ``enable_distributed_routing``.

A node's role is read from its agents: a node whose OVS agent routes distributed (and has no DHCP
agent) is a compute node, whose L3 agent must run ``dvr`` (``dvr_snat`` also routes there); SNAT needs
at least one ``dvr_snat`` agent; a ``legacy`` L3 agent or an OVS agent without DVR in a DVR cloud
breaks the distributed routers of the VMs on that node. `check all` runs it when the cloud is DVR.
"""

from __future__ import annotations

from ...openstack.adapter import NeutronAgent
from ...wire.models import Verdict

DVR_MODES = frozenset({"dvr", "dvr_snat", "dvr_no_external"})


def _l3(a: NeutronAgent) -> bool:
    return a.agent_type == "L3 agent" or a.binary == "neutron-l3-agent"


def mode(a: NeutronAgent) -> str:
    value = a.configuration.get("agent_mode")
    return value if isinstance(value, str) else "legacy"


def is_dvr(agents: list[NeutronAgent]) -> bool:
    return any(_l3(a) and mode(a) in DVR_MODES for a in agents)


def role(host: str, agents: list[NeutronAgent]) -> str:
    """network (a DHCP agent or a dvr_snat L3 agent there) or compute (an L2 agent only)."""
    on = [a for a in agents if a.host == host]
    if any(a.binary == "neutron-dhcp-agent" or a.agent_type == "DHCP agent" for a in on):
        return "network"
    if any(_l3(a) and mode(a) == "dvr_snat" for a in on):
        return "network"
    return "compute"


def findings(agents: list[NeutronAgent]) -> tuple[Verdict, list[str]]:
    """FAIL naming every agent whose mode does not fit its node's role; OK with the modes otherwise."""
    if not is_dvr(agents):
        return Verdict.SKIPPED, ["no L3 agent in a DVR agent_mode: the routers are not distributed"]
    problems: list[str] = []
    hosts = sorted({a.host for a in agents if a.is_l2})
    l3 = {a.host: a for a in agents if _l3(a)}
    for host in hosts:
        r = role(host, agents)
        agent = l3.get(host)
        if agent is None:
            if r == "compute":
                problems.append(f"{host} (compute): no L3 agent, so no distributed router for its VMs")
            continue
        m = mode(agent)
        if r == "compute" and m not in DVR_MODES:
            problems.append(f"{host} (compute): L3 agent agent_mode={m}, needs dvr")
        if r == "network" and m == "legacy":
            problems.append(f"{host} (network): L3 agent agent_mode=legacy in a DVR cloud, needs dvr_snat")
    if not any(mode(a) == "dvr_snat" for a in l3.values()):
        problems.append("no L3 agent runs agent_mode=dvr_snat: no node can host the routers' SNAT")
    for a in agents:
        if a.is_ovs and not a.configuration.get("enable_distributed_routing"):
            problems.append(f"{a.host}: OVS agent without enable_distributed_routing in a DVR cloud")
    if problems:
        return Verdict.FAIL, problems
    modes = ", ".join(f"{h}: {mode(a)}" for h, a in sorted(l3.items()))
    return Verdict.OK, [f"L3 agent modes fit their nodes ({modes}); every OVS agent routes distributed"]
