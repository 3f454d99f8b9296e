"""What Neutron says before `check all` asks the agents: its agents, its VLAN ranges (or why not)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from ...errors import OpenStackError
from ...openstack.adapter import NeutronAgent, OpenStack
from ...wire.vlan import format_ranges
from ..config import ControllerConfig, vlans_by_network

NO_CLOUD = "no cloud configured (--os-cloud, OS_CLOUD or OS_AUTH_URL)"

VlanPlan = dict[str, tuple[list[int], list[str]]]  # network -> (VLANs, where they come from)


@dataclass
class Cloud:
    """What Neutron told us before the agents are asked (or why it could not)."""

    agents: list[NeutronAgent] | None = None
    vlan_ranges: dict[str, list[int]] | None = None  # physnet -> VLANs (segment ranges), None: not given
    error: OpenStackError | None = None
    skipped: str | None = None
    name: str = ""
    seconds: float = 0.0

    @property
    def usable(self) -> bool:
        return self.agents is not None


def ask_cloud(connect: Callable[[], OpenStack] | None, name: str) -> Cloud:
    """Neutron's agents (and VLAN segment ranges when the extension is on); a failure is kept, not raised.

    ``connect`` is None when no cloud is configured (the check then skips what needs one)."""
    if connect is None:
        return Cloud(skipped=NO_CLOUD)
    try:
        conn = connect()
        agents = conn.agents()
        try:
            ranges = conn.vlan_ranges()
        except OpenStackError:
            ranges = None  # an optional extra: the agents answer is what matters
        return Cloud(agents=agents, vlan_ranges=ranges, name=name)
    except OpenStackError as exc:
        return Cloud(error=exc, name=name)


def vlan_plan(config: ControllerConfig, cloud: Cloud, networks: list[str]) -> tuple[VlanPlan, list[str]]:
    """network -> (VLANs, sources) for the selected networks, and notes about physnets left unchecked.

    Sources: [vlans], [neutron] network_vlan_ranges, and the cloud's VLAN segment ranges when it shows them;
    a physnet reaches a network through [neutron] physnet_networks."""
    neutron = dict(config.neutron_vlans)
    from_cloud = set()
    for physnet, vlans in (cloud.vlan_ranges or {}).items():
        neutron[physnet] = sorted(set(neutron.get(physnet, [])) | set(vlans))
        from_cloud.add(physnet)
    plan = vlans_by_network(dataclasses.replace(config, neutron_vlans=neutron))
    for _, sources in plan.values():
        sources[:] = [
            src.replace("(network_vlan_ranges)", "(Neutron segment ranges)")
            if src.split()[0] in from_cloud and src.split()[0] not in config.neutron_vlans
            else src
            for src in sources
        ]
    notes = [
        f"physnet {p}: VLANs {format_ranges(v)} of Neutron's network_vlan_ranges are not checked: "
        f"map it to a network with [neutron] physnet_networks = {p}:NETWORK"
        for p, v in sorted(neutron.items())
        if v and p not in config.physnet_networks
    ]
    return {n: plan[n] for n in networks if n in plan}, notes
