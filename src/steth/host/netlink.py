"""Links, addresses and namespaces through pyroute2 (netlink), never `ip` output."""

from __future__ import annotations

import os
import socket
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import HostError
from ..wire.models import Address, Interface, LinkStats, Namespace

IFF_UP = 0x1
_SCOPES = {0: "global", 200: "site", 253: "link", 254: "host", 255: "nowhere"}
_STAT_FIELDS = tuple(LinkStats.model_fields)


def _ns_path(name: str) -> str:
    """A name under /run/netns as pyroute2 takes it; a full path when another searched directory holds it."""
    from . import netns as host_netns

    found = host_netns.path(name)
    return name if found == os.path.join(host_netns.NETNS_DIR, name) else found


@contextmanager
def iproute(netns: str | None = None) -> Iterator[Any]:
    """An IPRoute socket, in ``netns`` if given; pyroute2 errors become HostError."""
    from pyroute2 import IPRoute  # imported lazily: ~0.3 s

    try:
        # flags=0: pyroute2's default (O_CREAT) would create a namespace that does not exist, e.g.
        # one deleted while /v1/netns lists them; reading must never create anything.
        ipr = IPRoute(netns=_ns_path(netns), flags=0) if netns else IPRoute()
    except Exception as exc:  # pyroute2 raises OSError, NetlinkError, FileNotFoundError
        where = f"namespace {netns!r}" if netns else "this host"
        raise HostError(f"cannot open netlink in {where}: {exc}") from exc
    try:
        yield ipr
    finally:
        ipr.close()


def _link_kind(msg: Any) -> str:
    kind = msg.get_nested("IFLA_LINKINFO", "IFLA_INFO_KIND")
    if kind:
        return str(kind)
    if msg.get("ifname") == "lo" or msg.get("flags", 0) & 0x8:  # IFF_LOOPBACK
        return "loopback"
    return "device"


def _address(msg: Any) -> Address:
    family = 4 if msg["family"] == socket.AF_INET else 6
    return Address(
        family=family,
        address=msg.get("address") or msg.get("local"),
        prefixlen=msg["prefixlen"],
        broadcast=msg.get("broadcast"),
        scope=_SCOPES.get(msg["scope"], str(msg["scope"])),
    )


def _stats(msg: Any) -> LinkStats:
    raw = msg.get("stats64") or msg.get("stats")
    if raw is None:
        return LinkStats()
    return LinkStats(**{f: int(raw.get(f) or 0) for f in _STAT_FIELDS})


def _interfaces(ipr: Any, only: str | None = None) -> list[Interface]:
    links = ipr.get_links(ifname=only) if only else ipr.get_links()
    by_index = {m["index"]: m.get("ifname") for m in (links if only is None else ipr.get_links())}
    addrs: dict[int, list[Address]] = {}
    for msg in ipr.get_addr():
        addrs.setdefault(msg["index"], []).append(_address(msg))
    result = []
    for msg in links:
        index = msg["index"]
        master = msg.get("master")
        result.append(
            Interface(
                name=msg.get("ifname"),
                index=index,
                kind=_link_kind(msg),
                state=str(msg.get("operstate") or "unknown").lower(),
                admin_up=bool(msg["flags"] & IFF_UP),
                mtu=msg.get("mtu") or 0,
                mac=msg.get("address"),
                master=by_index.get(master) if master else None,
                addresses=addrs.get(index, []),
                stats=_stats(msg),
            )
        )
    return result


def list_interfaces(netns: str | None = None) -> list[Interface]:
    """Every interface of this host (or of ``netns``) with addresses and counters."""
    with iproute(netns) as ipr:
        return _interfaces(ipr)


def local_ipv4(netns: str | None = None) -> frozenset[str]:
    """The IPv4 addresses of this host (or of ``netns``): which tunnel packets are this node's own."""
    with iproute(netns) as ipr:
        return frozenset(a.address for a in map(_address, ipr.get_addr()) if a.family == 4)


def get_interface(name: str, netns: str | None = None) -> Interface | None:
    """One interface by name, or None when there is no such interface."""
    from pyroute2.netlink.exceptions import NetlinkError

    with iproute(netns) as ipr:
        try:
            found = _interfaces(ipr, only=name)
        except NetlinkError as exc:
            if exc.code == 19:  # ENODEV
                return None
            raise HostError(f"netlink error reading {name!r}: {exc}") from exc
        return found[0] if found else None


def list_namespaces(names: Collection[str] | None = None) -> list[Namespace]:
    """Named network namespaces (in /run/netns and the agent's other namespace directories) with their
    interfaces; only ``names`` when given (reading each namespace's interfaces is the slow part on a node
    with hundreds of them)."""
    from . import netns as host_netns

    result = []
    for name in host_netns.names():
        if names is not None and name not in names:
            continue
        try:
            result.append(Namespace(name=name, interfaces=list_interfaces(name)))
        except HostError as exc:
            result.append(Namespace(name=name, error=str(exc)))
    return result


def disable_tx_checksum(ifname: str, netns: str) -> None:
    """Turn off TX checksum offload of ``ifname`` in ``netns`` (``ethtool -K IF tx off``).

    A veth leaves UDP/TCP checksums to "hardware"; Open vSwitch's userspace (netdev) datapath reads
    it with AF_PACKET and forwards the frame with the checksum still unfilled, so its own conntrack
    (the OVS firewall) and the receiving kernel drop it. ICMP and raw-socket DHCP are unaffected.
    The ioctl works only inside the namespace: a short-lived thread enters it, so this process stays.
    """
    import threading

    from pyroute2 import netns as pnetns
    from pyroute2.ethtool import Ethtool

    failure: list[BaseException] = []

    def inside() -> None:
        try:
            pnetns.setns(netns, flags=0)  # this thread only; it ends right after
            eth = Ethtool()
            try:
                features = eth.get_features(ifname)
                for name in ("tx-checksum-ip-generic", "tx-checksum-ipv4", "tx-checksum-ipv6"):
                    if name in features.features:
                        features.features[name].enable = False
                eth.set_features(ifname, features)
            finally:
                eth.close()
        except BaseException as exc:  # reported to the caller below
            failure.append(exc)

    t = threading.Thread(target=inside, name=f"ethtool-{netns}", daemon=True)
    t.start()
    t.join(10)
    if t.is_alive() or failure:
        raise HostError(
            f"cannot turn off TX checksum offload of {ifname} in {netns}: {failure[0] if failure else 'timed out'}"
        )


def routes_and_links(netns: str | None) -> tuple[list[str], dict[str, bool]]:
    """IPv4 routes of the main table as text ("default via GW dev IF", "CIDR dev IF") and every link's
    state (up: administratively up with carrier), read through netlink in ``netns``."""
    with iproute(netns) as ipr:
        names: dict[int, str] = {}
        links: dict[str, bool] = {}
        for msg in ipr.get_links():
            name = msg.get_attr("IFLA_IFNAME")
            names[msg["index"]] = name
            links[name] = bool(msg["flags"] & IFF_UP) and msg.get_attr("IFLA_CARRIER", 1) == 1
        routes = []
        for r in ipr.get_routes(family=socket.AF_INET, table=254):
            dst = r.get_attr("RTA_DST")
            where = f"{dst}/{r['dst_len']}" if dst else "default"
            gw = r.get_attr("RTA_GATEWAY")
            dev = names.get(r.get_attr("RTA_OIF") or -1, "?")
            routes.append(f"{where}" + (f" via {gw}" if gw else "") + f" dev {dev}")
    return routes, links
