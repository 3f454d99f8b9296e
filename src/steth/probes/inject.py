"""A frame injected as if a VM had sent it: the one injection of the DHCP trace and the VM probe.

Raw on an interface (the hybrid plug's qvb: it crosses to qvo and into br-int), or as if received on
an OVS port (OpenFlow packet-out, in_port the VM's port, through br-int's tables from table 0, so its
firewall and VLAN tagging apply). Nothing is changed on the VM or its port.
"""

from __future__ import annotations

import shutil

from ..errors import HostError
from ..host import dhcp_frames, ovsdb, proc


def inject(
    frame: bytes,
    connection: str,
    *,
    interface: str | None = None,
    netns: str | None = None,
    bridge: str | None = None,
    ovs_port: str | None = None,
) -> tuple[bool, str]:
    """(sent, where) or (False, why not)."""
    if interface:
        try:
            dhcp_frames.send(interface, frame, netns)
        except HostError as exc:
            return False, str(exc)
        except OSError as exc:  # e.g. ENETDOWN: the interface is down
            return False, f"cannot send on {interface}: {exc.strerror or exc}"
        return True, f"sent on {interface}"
    exe = shutil.which("ovs-ofctl")
    if exe is None:
        return False, "ovs-ofctl is not installed"
    done = proc.run(
        [exe, "-O", "OpenFlow13", "packet-out", str(bridge), f"in_port={ovs_port} packet={frame.hex()} actions=table"],
        timeout=10,
        env={"OVS_RUNDIR": ovsdb.rundir(connection)},
    )
    if done.returncode != 0:
        return False, f"ovs-ofctl packet-out failed: {(done.stderr or done.stdout).strip()[:300]}"
    return True, f"as if received on {bridge}/{ovs_port}"
