"""The lab's network namespaces: recorded in the state before they exist, never adopted from someone else."""

from __future__ import annotations

from ..errors import LabError
from ..host import netlink
from .state import LabState


def create(state: LabState, name: str, *, loopback_up: bool = True) -> None:
    """Record ``name`` in the lab state, then create it (its ``lo`` up).

    Refuses a namespace that already exists: it is not this lab's, and `lab down` would delete it.
    """
    from pyroute2 import netns

    if name in netns.listnetns():
        raise LabError(
            f"network namespace {name} already exists on this host",
            "it is not part of this lab's records: remove it yourself or pick another --name",
        )
    state.namespaces.append(name)
    state.save()
    netns.create(name)
    if loopback_up:
        with netlink.iproute(name) as ipr:
            ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up")
