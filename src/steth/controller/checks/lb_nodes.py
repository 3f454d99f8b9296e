"""What each node's Neutron Linux bridge agent is configured to use, as the node has it (`check all`).

Per agent (its ``configurations``): every interface of ``interface_mappings`` exists on the node and is up;
with VXLAN, every ``vxlan-<vni>`` device is up with the agent's tunneling_ip as local address and sits in a
bridge. The analysis is pure: it takes the node's /v1/linuxbridge/show.
"""

from __future__ import annotations

from ...openstack.adapter import NeutronAgent
from ...wire.linuxbridge import LinuxBridgeShow
from ...wire.verdict import Verdict
from .ovs_bridges import Finding


def is_linuxbridge(agent: NeutronAgent) -> bool:
    return agent.binary == "neutron-linuxbridge-agent" or agent.agent_type == "Linux bridge agent"


def interface_mappings(agent: NeutronAgent) -> dict[str, str]:
    return dict(agent.configuration.get("interface_mappings") or {})


def check_node(agent: NeutronAgent, shown: LinuxBridgeShow | None, error: str | None = None) -> Finding:
    """One agent's node: its mapped interfaces and its VXLAN devices."""
    host = agent.host
    if shown is None:
        return Finding(Verdict.ERROR, f"{host}: {error or 'no answer from its steth agent'}")
    if shown.verdict == Verdict.ERROR:
        return Finding(Verdict.ERROR, f"{host}: {shown.detail}")
    bad: list[str] = []
    for physnet, iface in sorted(interface_mappings(agent).items()):
        link = shown.link(iface)
        if link is None:
            bad.append(f"{physnet} -> {iface}, which does not exist")
        elif not link.up:
            bad.append(f"{physnet} -> {iface}, which is down")
    tip = agent.tunnel_ip
    for vx in shown.vxlans:
        link = shown.link(vx.name)
        if not vx.up:
            bad.append(f"{vx.name} (VNI {vx.vni}) is down")
        elif tip and vx.local and vx.local != tip:
            bad.append(f"{vx.name} has local {vx.local}, the agent's tunneling_ip is {tip}")
        elif link is not None and not link.master:
            bad.append(f"{vx.name} is in no bridge")
    mappings = ", ".join(f"{p}:{i}" for p, i in sorted(interface_mappings(agent).items())) or "no interface mappings"
    if bad:
        return Finding(Verdict.FAIL, f"{host}: " + "; ".join(bad))
    vteps = f", VTEP {tip}" if tip else ""
    return Finding(Verdict.OK, f"{host}: {mappings}{vteps}, {len(shown.vxlans)} VXLAN devices up in their bridges")
