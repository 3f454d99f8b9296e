"""Neutron agent health: every agent alive and admin-up, dead ones named with their last heartbeat."""

from __future__ import annotations

from ...openstack.adapter import NeutronAgent
from ...wire.models import Verdict


def describe(agent: NeutronAgent) -> str:
    """``Open vSwitch agent (neutron-openvswitch-agent) on compute-1``."""
    kind = agent.agent_type or agent.binary or "agent"
    binary = f" ({agent.binary})" if agent.binary and agent.binary != kind else ""
    return f"{kind}{binary} on {agent.host or '?'}"


def findings(agents: list[NeutronAgent]) -> tuple[Verdict, list[str]]:
    """FAIL naming every dead or admin-down agent; OK with a count otherwise; SKIPPED when there is none."""
    if not agents:
        return Verdict.SKIPPED, ["Neutron lists no agents"]
    lines = []
    for a in sorted(agents, key=lambda a: (a.host, a.binary)):
        if not a.alive:
            beat = f", last heartbeat {a.last_heartbeat} UTC" if a.last_heartbeat else ", no heartbeat recorded"
            lines.append(f"{describe(a)} is dead{beat}")
        if not a.admin_state_up:
            lines.append(f"{describe(a)} is administratively down (admin_state_up false)")
    if lines:
        return Verdict.FAIL, lines
    hosts = len({a.host for a in agents})
    return Verdict.OK, [f"all {len(agents)} Neutron agents on {hosts} hosts alive and admin-up"]
