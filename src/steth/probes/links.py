"""The original tool's host-changing link commands, made safe: every change is leased.

setup-link      bring IFACE up with address CIDR (other addresses kept unless ``flush``)
add-vlan        create the VLAN sub-interface IFACE.VID (needs the 8021q module)
teardown-link   undo what setup-link / add-vlan made on IFACE; deleting a foreign
                interface needs ``force``

Each change's undo step is recorded in the lease *before* the change, so the lease
expiry, a failed request, agent shutdown and agent start-up after a crash all
undo exactly what was made.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from ..errors import CapabilityMissing, HostError, UsageError
from ..host import netlink, undo
from ..wire.vlan import LinkChange, LinkSetupRequest, LinkTeardownRequest, VlanInterfaceRequest
from . import capabilities

ENOENT, EEXIST, EADDRNOTAVAIL, EOPNOTSUPP = 2, 17, 99, 95


class NotFound(UsageError):
    pass


class Conflict(UsageError):
    pass


NO_8021Q_HINT = (
    "VLAN sub-interfaces cannot be made on this node; `steth check vlan` / `check-vlan-interface` "
    "verify VLANs with raw tagged frames instead, without changing the host"
)


def _lookup(ipr: Any, name: str) -> int:
    found = ipr.link_lookup(ifname=name)
    if not found:
        raise NotFound(f"no interface named {name!r} on this node")
    return found[0]


def _lease_change(lease: Any, interface: str, changes: list[str], detail: str = "") -> LinkChange:
    return LinkChange(
        interface=interface, lease_id=lease.id, expires_at=round(lease.expires_at, 3), changes=changes, detail=detail
    )


def _added_by_leases(store: Any, ifname: str, except_id: str) -> set[tuple[str, int]]:
    return {
        (step["address"], step["prefixlen"])
        for lease in store.about(ifname)
        if lease.id != except_id
        for step in lease.undo
        if step.get("kind") == "addr_del"
    }


def _addr_del(ipr: Any, index: int, address: str, prefixlen: int) -> None:
    from pyroute2.netlink.exceptions import NetlinkError

    try:
        ipr.addr("del", index=index, address=address, prefixlen=prefixlen)
    except NetlinkError as exc:
        if exc.code != EADDRNOTAVAIL:  # gone with its primary already
            raise


def setup_link(store: Any, req: LinkSetupRequest) -> LinkChange:
    """Blocking (netlink). Raises NotFound, HostError; on any failure the partial change is undone."""
    iface = netlink.get_interface(req.interface)
    if iface is None:
        raise NotFound(f"no interface named {req.interface!r} on this node")
    want = ipaddress.ip_interface(req.cidr)
    family = want.version
    lease = store.open(
        f"setup-link {req.interface} {req.cidr}{' --flush' if req.flush else ''}", req.lease, subject=req.interface
    )
    changes: list[str] = []
    try:
        with netlink.iproute() as ipr:
            index = _lookup(ipr, req.interface)
            present = any(a.address == str(want.ip) and a.prefixlen == want.network.prefixlen for a in iface.addresses)
            if req.flush:
                ours = _added_by_leases(store, req.interface, lease.id)
                for a in iface.addresses:
                    if a.scope != "global" or (a.address == str(want.ip) and a.prefixlen == want.network.prefixlen):
                        continue
                    if (a.address, a.prefixlen) in ours:  # another lease's: its own undo removes it anyway
                        _addr_del(ipr, index, a.address, a.prefixlen)
                        changes.append(f"removed {a.address}/{a.prefixlen} (added by another steth lease)")
                        continue
                    store.add_undo(lease, undo.addr_add(req.interface, a.address, a.prefixlen))
                    _addr_del(ipr, index, a.address, a.prefixlen)
                    changes.append(f"removed {a.address}/{a.prefixlen} (restored when the lease ends)")
            if not iface.admin_up:
                store.add_undo(lease, undo.link_set(req.interface, state="down"))
                ipr.link("set", index=index, state="up")
                changes.append("set up")
            if present:
                changes.append(f"{req.cidr} was already there: left in place, not removed later")
            else:
                store.add_undo(lease, undo.addr_del(req.interface, str(want.ip), want.network.prefixlen))
                kwargs: dict[str, Any] = {}
                if family == 4 and want.network.prefixlen < 31:
                    kwargs["broadcast"] = str(want.network.broadcast_address)
                ipr.addr("add", index=index, address=str(want.ip), prefixlen=want.network.prefixlen, **kwargs)
                changes.append(f"added {req.cidr}")
    except BaseException as exc:
        store.release(lease.id)
        if isinstance(exc, (UsageError, HostError)):
            raise
        if isinstance(exc, Exception):
            raise HostError(f"setup-link {req.interface} {req.cidr} failed (undone): {exc}") from exc
        raise
    if not lease.undo:  # nothing of ours to undo: no lease to keep
        store.release(lease.id)
        return LinkChange(interface=req.interface, changes=changes, detail="nothing changed")
    return _lease_change(lease, req.interface, changes)


def vlan_ifname(parent: str, vlan_id: int) -> str:
    suffix = f".{vlan_id}"
    return parent[: 15 - len(suffix)] + suffix


def add_vlan(store: Any, req: VlanInterfaceRequest) -> LinkChange:
    """Create IFACE.VID (up), leased. CapabilityMissing when the kernel has no 8021q."""
    ok, detail = capabilities.vlan_8021q()
    if not ok:
        raise CapabilityMissing(f"cannot add VLAN {req.vlan_id} to {req.interface}: {detail}", NO_8021Q_HINT)
    from pyroute2.netlink.exceptions import NetlinkError

    name = vlan_ifname(req.interface, req.vlan_id)
    with netlink.iproute() as ipr:
        parent = _lookup(ipr, req.interface)
        if ipr.link_lookup(ifname=name):
            raise Conflict(f"{name} exists already on this node", "`teardown-link` it first if steth made it")
        lease = store.open(f"add-vlan-to-interface {req.interface} {req.vlan_id}", req.lease, subject=name)
        try:
            store.add_undo(lease, undo.link_del(name))
            ipr.link("add", ifname=name, kind="vlan", link=parent, vlan_id=req.vlan_id)
            ipr.link("set", index=_lookup(ipr, name), state="up")
        except NetlinkError as exc:
            store.release(lease.id)
            if exc.code in (EOPNOTSUPP, ENOENT):
                raise CapabilityMissing(
                    f"cannot add VLAN {req.vlan_id} to {req.interface}: the kernel has no "
                    f"8021q support (netlink: {exc})",
                    NO_8021Q_HINT,
                ) from None
            raise HostError(f"cannot add VLAN {req.vlan_id} to {req.interface}: {exc}") from None
        except BaseException:
            store.release(lease.id)
            raise
    return _lease_change(lease, name, [f"created {name} (VLAN {req.vlan_id} on {req.interface}), up"])


def teardown_link(store: Any, req: LinkTeardownRequest) -> LinkChange:
    """Release steth's leases on IFACE; with none, refuse unless ``force`` (then delete IFACE)."""
    leases = store.about(req.interface)
    if leases:
        changes, problems = [], []
        for lease in reversed(leases):  # newest first: each undo finds the state its change left
            problems += store.release(lease.id)
            changes.append(f"undid lease {lease.id}: {lease.purpose}")
        if problems:
            raise HostError(f"teardown-link {req.interface}: {'; '.join(problems)}")
        return LinkChange(interface=req.interface, changes=changes)
    iface = netlink.get_interface(req.interface)
    if iface is None:
        raise NotFound(f"no interface named {req.interface!r} on this node, and steth holds no lease on it")
    if not req.force:
        raise Conflict(
            f"steth did not create or change {req.interface} (no lease on it): not deleting it",
            "`teardown-link --force` deletes it anyway",
        )
    from pyroute2.netlink.exceptions import NetlinkError

    with netlink.iproute() as ipr:
        try:
            ipr.link("del", index=_lookup(ipr, req.interface))
        except NetlinkError as exc:
            raise HostError(f"cannot delete {req.interface}: {exc}") from None
    return LinkChange(interface=req.interface, changes=[f"deleted {req.interface} (--force)"])
