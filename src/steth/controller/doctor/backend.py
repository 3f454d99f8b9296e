"""Which Neutron backend wires the cloud, read from Neutron's agents (the facts), so doctor walks its chain."""

from __future__ import annotations

from enum import Enum

from ...openstack.adapter import NeutronAgent


class Backend(str, Enum):
    OVS = "ovs"  # ML2/Open vSwitch with agents, routers on network nodes (legacy or HA)
    OVS_DVR = "ovs-dvr"  # ML2/Open vSwitch with distributed routers
    OVN = "ovn"  # ML2/OVN
    LINUXBRIDGE = "linuxbridge"  # ML2/Linux bridge


OVN_AGENT_TYPES = frozenset({"OVN Controller agent", "OVN Controller Gateway agent"})
LINUXBRIDGE_AGENT_TYPES = frozenset({"Linux bridge agent"})
DVR_AGENT_MODES = frozenset({"dvr", "dvr_snat", "dvr_no_external"})


def detect(agents: list[NeutronAgent]) -> tuple[Backend, str]:
    """The backend and the agents that show it (for the report)."""
    ovn = sorted({a.host for a in agents if a.agent_type in OVN_AGENT_TYPES})
    if ovn:
        return Backend.OVN, f"OVN Controller agents on {', '.join(ovn)}"
    lb = sorted({a.host for a in agents if a.agent_type in LINUXBRIDGE_AGENT_TYPES})
    if lb:
        return Backend.LINUXBRIDGE, f"Linux bridge agents on {', '.join(lb)}"
    dvr = sorted(
        {
            f"{a.host} ({a.configuration.get('agent_mode')})"
            for a in agents
            if _is_l3(a) and _agent_mode(a) in DVR_AGENT_MODES
        }
    )
    if dvr:
        return Backend.OVS_DVR, f"L3 agents in DVR mode on {', '.join(dvr)}"
    return Backend.OVS, "no OVN, Linux bridge or DVR agent among Neutron's agents"


def _is_l3(a: NeutronAgent) -> bool:
    return a.agent_type == "L3 agent" or a.binary == "neutron-l3-agent"


def _agent_mode(a: NeutronAgent) -> str:
    mode = a.configuration.get("agent_mode")
    return mode if isinstance(mode, str) else "legacy"
