"""One module per group of /v1 routes; each exposes ``router(ctx) -> APIRouter``.

A group is imported and its routes built by the first request under its path
(or by the first /openapi.json): the agent runs on every node and most nodes
never serve most groups. To add a probe: write ``routes/<name>.py`` with a
``router`` function and list the first path segments it serves in GROUPS.
"""

from __future__ import annotations

# first path segment after /v1/ -> the route modules serving paths under it
GROUPS: dict[str, tuple[str, ...]] = {
    "info": ("meta",),
    "interfaces": ("interfaces",),
    "netns": ("interfaces", "netns"),  # /v1/netns (list) and /v1/netns/{name}/iptables
    "ping": ("ping",),
    "tcp-connect": ("netns",),
    "inject": ("netns",),
    "ovs": ("ovs",),
    "vlan": ("vlan",),
    "links": ("links",),
    "iperf": ("iperf",),
    "captures": ("capture",),
    "dhcp": ("dhcp",),
    "watch": ("watch",),
    "linuxbridge": ("linuxbridge",),
}
MODULES = tuple(dict.fromkeys(m for ms in GROUPS.values() for m in ms))
