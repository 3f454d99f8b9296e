"""The Open vSwitch bridges each node's Neutron OVS agent is configured to use, as the node has them.

Per agent (its ``configurations``): the integration bridge exists; every bridge of
bridge_mappings exists and holds a NIC (a port that is neither patch nor internal nor a
tunnel, and that OVS could add); the tunneling_ip is an address of the node when the agent
tunnels. The analysis is pure: it takes the agent's /v1/ovs/show and interfaces.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from ...openstack.adapter import NeutronAgent
from ...wire.models import Interface, OvsBridgeInfo, OvsShowResponse, Verdict

DEFAULT_INTEGRATION_BRIDGE = "br-int"  # Neutron's default when the agent does not report one


@dataclass(frozen=True)
class Expected:
    """What one OVS agent's configuration says its node must have."""

    host: str
    integration_bridge: str
    bridge_mappings: dict[str, str] = field(default_factory=dict)  # physnet -> bridge
    tunneling_ip: str | None = None
    tunnel_types: tuple[str, ...] = ()


def expected_from(agent: NeutronAgent) -> Expected:
    return Expected(
        host=agent.host,
        integration_bridge=agent.integration_bridge or DEFAULT_INTEGRATION_BRIDGE,
        bridge_mappings=agent.bridge_mappings,
        tunneling_ip=agent.tunnel_ip or None,
        tunnel_types=tuple(agent.tunnel_types),
    )


@dataclass
class NodeState:
    """What the node's steth-agent answered (or why it could not)."""

    show: OvsShowResponse | None = None
    interfaces: list[Interface] | None = None
    error: str | None = None


@dataclass(frozen=True)
class Finding:
    verdict: Verdict
    text: str


def nics(bridge: OvsBridgeInfo) -> tuple[list[str], list[str]]:
    """(usable NICs, NICs OVS could not add with the reason) among the bridge's ports."""
    return bridge.nics()


def _holder(address: str, interfaces: list[Interface]) -> str | None:
    """The interface holding ``address`` (compared as addresses, so 2001:db8::1 == 2001:DB8:0::1)."""
    try:
        wanted = ipaddress.ip_address(address)
    except ValueError:
        return None
    for iface in interfaces:
        for a in iface.addresses:
            try:
                if ipaddress.ip_address(a.address) == wanted:
                    return iface.name
            except ValueError:
                continue
    return None


def check_node(node: str, exp: Expected, state: NodeState) -> list[Finding]:
    """Verdicts for one node: one Finding per problem, or one OK line summarising what was verified."""
    if state.error is not None:
        return [Finding(Verdict.ERROR, f"{node}: cannot read Open vSwitch: {state.error}")]
    show = state.show
    if show is None or not show.ovs_available:
        detail = show.detail if show is not None else "no answer"
        return [Finding(Verdict.ERROR, f"{node}: Open vSwitch is not available to steth-agent: {detail}")]
    bridges = {b.name: b for b in show.bridges}
    found: list[Finding] = []
    if exp.integration_bridge not in bridges:
        found.append(Finding(Verdict.FAIL, f"{node}: integration bridge {exp.integration_bridge} does not exist"))
    ok_nics = []
    for physnet, name in sorted(exp.bridge_mappings.items()):
        bridge = bridges.get(name)
        if bridge is None:
            found.append(
                Finding(
                    Verdict.FAIL,
                    f"{node}: bridge {name} of physnet {physnet} (bridge_mappings) "
                    f"does not exist: physnet {physnet} has no NIC",
                )
            )
            continue
        good, broken = nics(bridge)
        if good:
            ok_nics.append(f"{physnet}:{name}:{','.join(good)}")
        else:
            why = f" (OVS could not add {', '.join(broken)})" if broken else ""
            found.append(
                Finding(Verdict.FAIL, f"{node}: bridge {name} has no NIC: physnet {physnet} is left without a NIC{why}")
            )
    tunnel = ""
    if exp.tunnel_types:
        types = ",".join(exp.tunnel_types)
        if not exp.tunneling_ip:
            found.append(Finding(Verdict.FAIL, f"{node}: the agent tunnels ({types}) but reports no tunneling_ip"))
        else:
            holder = _holder(exp.tunneling_ip, state.interfaces or [])
            if holder is None:
                found.append(
                    Finding(
                        Verdict.FAIL,
                        f"{node}: tunneling_ip {exp.tunneling_ip} ({types}) is not "
                        "configured on any interface of the node",
                    )
                )
            else:
                tunnel = f", tunneling_ip {exp.tunneling_ip} on {holder}"
    if found:
        return found
    mapped = f", NICs {' '.join(ok_nics)}" if ok_nics else ""
    return [Finding(Verdict.OK, f"{node}: {exp.integration_bridge}{mapped}{tunnel}")]


def check(agents: list[NeutronAgent], states: dict[str, NodeState], selected: set[str] | None = None) -> list[Finding]:
    """Every OVS agent's node, mapped by name (Neutron host == steth node name).

    ``states``: node name -> what its steth-agent answered. ``selected``: the nodes in scope
    (``--nodes``); agents on other hosts are then ignored instead of reported as unmapped."""
    out: list[Finding] = []
    for agent in sorted((a for a in agents if a.is_ovs), key=lambda a: a.host):
        if selected is not None and agent.host not in selected:
            continue
        if agent.host not in states:
            out.append(
                Finding(
                    Verdict.FAIL,
                    f"Neutron host {agent.host} (Open vSwitch agent) has no steth node "
                    "of that name: its bridges were not checked",
                )
            )
            continue
        out += check_node(agent.host, expected_from(agent), states[agent.host])
    return out
