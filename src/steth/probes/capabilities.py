"""What this host can do: Open vSwitch, 802.1Q, iperf3, raw sockets. Read-only checks."""

from __future__ import annotations

import functools
import os
import shutil
import socket

from ..host import ovsdb
from ..wire.models import Capabilities


def vlan_8021q() -> tuple[bool, str]:
    """Whether VLAN sub-interfaces can be made: module loaded, built in, or loadable."""
    if os.path.exists("/proc/net/vlan/config"):
        return True, "8021q loaded"
    release = os.uname().release
    for listing in ("modules.builtin", "modules.dep"):
        path = f"/lib/modules/{release}/{listing}"
        try:
            with open(path, encoding="utf-8") as fh:
                if any("/8021q.ko" in line for line in fh):
                    return True, f"8021q available ({listing})"
        except OSError:
            continue
    return False, f"no 8021q module for kernel {release}: VLAN sub-interfaces cannot be created"


@functools.lru_cache(maxsize=1)
def raw_sockets() -> bool:
    """Whether AF_PACKET sockets can be opened. Cached: closing one costs ~14 ms (an RCU grace period)."""
    try:
        socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0).close()
        return True
    except OSError:
        return False


def capabilities(ovsdb_connection: str) -> Capabilities:
    """Open vSwitch is probed on every call (it comes and goes); the rest rarely changes."""
    ovs_ok, ovs_detail = ovsdb.probe_reachable(ovsdb_connection)
    vlan_ok, vlan_detail = vlan_8021q()
    return Capabilities(
        openvswitch=ovs_ok,
        openvswitch_detail=ovs_detail,
        vlan_8021q=vlan_ok,
        vlan_8021q_detail=vlan_detail,
        iperf3=shutil.which("iperf3") is not None,
        raw_sockets=raw_sockets(),
    )
