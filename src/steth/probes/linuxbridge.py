"""Read a node's Linux bridge data path (read only): links, VXLAN devices, FDB, neighbours, filter rules.

Through iproute2's JSON output (``ip -d -j link show``, ``bridge -j fdb show``, ``ip -j neigh show``) in
the agent's own namespace; the parsers are pure functions of that JSON (unit-tested on recorded output).
"""

from __future__ import annotations

import json
import shutil
from typing import Any

from ..host import proc
from ..wire.linuxbridge import LbFdb, LbLink, LbNeigh, LbVxlan, LinuxBridgeShow
from ..wire.verdict import Verdict
from .netns_probes import iptables_save


def parse_links(data: list[dict[str, Any]]) -> tuple[list[LbLink], list[LbVxlan]]:
    """``ip -d -j link show``: every link, and the VXLAN devices' data."""
    links: list[LbLink] = []
    vxlans: list[LbVxlan] = []
    for d in data:
        info = d.get("linkinfo") or {}
        kind = info.get("info_kind", "")
        up = "UP" in (d.get("flags") or [])
        name = d.get("ifname", "")
        links.append(
            LbLink(name=name, kind=kind, master=d.get("master"), up=up, mtu=d.get("mtu"), mac=d.get("address", ""))
        )
        if kind == "vxlan":
            vx = info.get("info_data") or {}
            vxlans.append(
                LbVxlan(
                    name=name,
                    vni=int(vx.get("id", 0)),
                    local=vx.get("local"),
                    group=vx.get("group"),
                    dev=vx.get("link"),
                    port=vx.get("port"),
                    proxy=bool(vx.get("proxy", False)),
                    learning=bool(vx.get("learning", True)),
                    up=up,
                )
            )
    return links, vxlans


def parse_fdb(data: list[dict[str, Any]], devices: set[str]) -> list[LbFdb]:
    """``bridge -j fdb show``: the entries of the given (VXLAN) devices."""
    out = []
    for e in data:
        if e.get("ifname") not in devices:
            continue
        state = e.get("state", "")
        flags = e.get("flags") or []
        out.append(
            LbFdb(
                mac=str(e.get("mac", "")).lower(),
                dev=e["ifname"],
                dst=e.get("dst"),
                permanent=state == "permanent" or "permanent" in flags or "self" in flags and bool(e.get("dst")),
            )
        )
    return out


def parse_neigh(data: list[dict[str, Any]], devices: set[str]) -> list[LbNeigh]:
    out = []
    for n in data:
        if n.get("dev") not in devices or "dst" not in n:
            continue
        state = n.get("state") or []
        out.append(
            LbNeigh(
                ip=n["dst"],
                mac=str(n.get("lladdr", "")).lower(),
                dev=n["dev"],
                state=",".join(state) if isinstance(state, list) else str(state),
            )
        )
    return out


def _json(argv: list[str]) -> list[dict[str, Any]]:
    done = proc.run(argv, timeout=15)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {done.stderr.strip()[:300]}")
    return json.loads(done.stdout or "[]")


def show() -> LinuxBridgeShow:
    """The node's bridges, VXLAN devices, their FDB and ARP responder entries, and the filter table."""
    ip, bridge = shutil.which("ip"), shutil.which("bridge")
    if ip is None or bridge is None:
        return LinuxBridgeShow(verdict=Verdict.ERROR, detail="ip/bridge are not installed (package iproute2)")
    try:
        links, vxlans = parse_links(_json([ip, "-d", "-j", "link", "show"]))
        devs = {v.name for v in vxlans}
        fdb = parse_fdb(_json([bridge, "-j", "fdb", "show"]), devs) if devs else []
        neigh = parse_neigh(_json([ip, "-j", "neigh", "show"]), devs) if devs else []
    except (RuntimeError, ValueError, OSError) as exc:
        return LinuxBridgeShow(verdict=Verdict.ERROR, detail=str(exc))
    rules = iptables_save(None, "filter")
    detail = f"{sum(1 for x in links if x.kind == 'bridge')} bridges, {len(vxlans)} VXLAN devices"
    if rules.verdict != Verdict.OK:
        detail += f"; {rules.detail}"
    return LinuxBridgeShow(
        links=links, vxlans=vxlans, fdb=fdb, neighbours=neigh, filter_rules=rules.rules, detail=detail
    )
