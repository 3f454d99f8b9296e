"""Fault kind of the ML2/OVN lab's metadata path (registered in faults/registry.py, area ovn).

* ovn-metadata-down: a compute node's neutron-ovn-metadata-agent frozen (SIGSTOP, by its recorded PID):
  the node's ovnmeta- haproxy still accepts, but nothing answers behind it, and the agent stops
  acknowledging the SB's nb_cfg (Neutron shows the "OVN Metadata agent" dead). Undo: SIGCONT.
"""

from __future__ import annotations

from ..neutron.ml2ovn.metadata import agent_name
from .neutron_base import freeze
from .ovn import HINT, ovn_rec
from .registry import FaultContext, kind


@kind(
    "ovn-metadata-down",
    "freeze a compute node's neutron-ovn-metadata-agent (SIGSTOP): its VMs get no metadata (ML2/OVN lab)",
    params=("node",),
    area="ovn",
)
def _metadata_down(ctx: FaultContext) -> str:
    ovn_rec(ctx)
    node = ctx.node.name
    what = f"neutron-ovn-metadata-agent on {node}"
    return freeze(ctx, agent_name(node), what, f"{HINT} (only compute nodes run one)").split(": Neutron")[0]
