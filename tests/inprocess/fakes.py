"""A fake of the agent's host-facing backend: the same attribute names, functions and exception
classes as steth.agent.backend.Backend, with an in-memory host (no root, nothing changed)."""

from __future__ import annotations

import os
from types import SimpleNamespace
from typing import Any

from steth.errors import CapabilityMissing, UsageError
from steth.host import undo
from steth.wire.linuxbridge import LbFdb, LbLink, LbVxlan, LinuxBridgeShow
from steth.wire.models import (
    Address,
    Capabilities,
    Interface,
    Namespace,
    PingRequest,
    PingResponse,
    PingResult,
    Verdict,
)
from steth.wire.vlan import LinkChange, LinkSetupRequest, LinkTeardownRequest, VlanInterfaceRequest


def interface(name: str, index: int, *addresses: str, up: bool = True) -> Interface:
    addrs = [Address(family=4, address=a.split("/")[0], prefixlen=int(a.split("/")[1])) for a in addresses]
    return Interface(name=name, index=index, kind="veth", state="up" if up else "down", admin_up=up, mtu=1500,
                     mac=f"02:00:00:00:00:{index:02x}", addresses=addrs)  # fmt: skip


class FakeHost:
    """What the fake modules read and change: interfaces, namespaces, addresses added under leases."""

    def __init__(self) -> None:
        self.interfaces = {
            i.name: i for i in (interface("lo", 1, "127.0.0.1/8"), interface("eth0", 2, "192.0.2.10/24"))
        }
        self.namespaces = {"qdhcp-1": Namespace(name="qdhcp-1")}
        self.calls: list[tuple[str, Any]] = []
        self.linuxbridge = LinuxBridgeShow(
            links=[
                LbLink(name="brqnet", kind="bridge", up=True),
                LbLink(name="vxlan-1001", kind="vxlan", master="brqnet", up=True),
            ],
            vxlans=[LbVxlan(name="vxlan-1001", vni=1001, local="192.0.2.10", dev="eth0", port=8472, up=True)],
            fdb=[LbFdb(mac="00:00:00:00:00:00", dev="vxlan-1001", dst="192.0.2.11", permanent=True)],
        )


class NotFound(UsageError):
    pass


class Conflict(UsageError):
    pass


def backend(host: FakeHost, state_dir: str) -> SimpleNamespace:
    """The fake backend over ``host``; link changes are leased like the real ones (the undo step of a
    fake change is a marker file in the state directory, so lease expiry and release are observable)."""

    def list_interfaces(netns: str | None = None) -> list[Interface]:
        return list(host.interfaces.values())

    def get_interface(name: str, netns: str | None = None) -> Interface | None:
        return host.interfaces.get(name)

    async def ping_many(req: PingRequest) -> PingResponse:
        host.calls.append(("ping", req))
        return PingResponse(
            results=[PingResult(target=t, sent=req.count, received=req.count, loss_pct=0.0, verdict=Verdict.OK)
                     for t in req.targets]
        )  # fmt: skip

    def setup_link(store: Any, req: LinkSetupRequest) -> LinkChange:
        if req.interface not in host.interfaces:
            raise NotFound(f"no interface named {req.interface!r} on this node")
        if any(a.address == req.cidr.split("/")[0] for a in host.interfaces[req.interface].addresses):
            raise Conflict(f"{req.cidr} is already on {req.interface}")
        lease = store.open(f"setup-link {req.interface}", req.lease, subject=req.interface)
        marker = os.path.join(state_dir, f"link-{lease.id}")
        store.add_undo(lease, undo.path(marker))  # recorded before the change, as the real code does
        with open(marker, "w") as fh:
            fh.write(req.cidr)
        host.calls.append(("setup_link", req))
        return LinkChange(interface=req.interface, lease_id=lease.id, expires_at=round(lease.expires_at, 3),
                          changes=[f"added {req.cidr}"])  # fmt: skip

    def add_vlan(store: Any, req: VlanInterfaceRequest) -> LinkChange:
        raise CapabilityMissing("no 8021q module on this node")

    def teardown_link(store: Any, req: LinkTeardownRequest) -> LinkChange:
        leases = store.about(req.interface)
        if not leases:
            raise NotFound(f"no change of steth on {req.interface!r}")
        for lease in leases:
            store.release(lease.id)
        return LinkChange(interface=req.interface, lease_id=leases[0].id, expires_at=0, changes=["released"])

    class NoSuchInterface(UsageError):
        pass

    class TooBusy(UsageError):
        pass

    def vlan_send(req: Any) -> Any:
        if req.interface not in host.interfaces:
            raise NoSuchInterface(f"no interface named {req.interface!r} on this node")
        raise AssertionError("the fake sends no frames")

    return SimpleNamespace(
        netlink=SimpleNamespace(
            list_interfaces=list_interfaces,
            get_interface=get_interface,
            list_namespaces=lambda names=None: [
                n for n in host.namespaces.values() if names is None or n.name in names
            ],
        ),
        netns=SimpleNamespace(exists=lambda name: name in host.namespaces),
        capabilities=SimpleNamespace(
            capabilities=lambda conn: Capabilities(openvswitch=False, vlan_8021q=False, iperf3=True, raw_sockets=True)
        ),
        ping=SimpleNamespace(ping_many=ping_many),
        links=SimpleNamespace(
            NotFound=NotFound, Conflict=Conflict, setup_link=setup_link, add_vlan=add_vlan, teardown_link=teardown_link
        ),
        vlan=SimpleNamespace(NoSuchInterface=NoSuchInterface, TooBusy=TooBusy, send=vlan_send),
        linuxbridge=SimpleNamespace(show=lambda: host.linuxbridge),
    )
