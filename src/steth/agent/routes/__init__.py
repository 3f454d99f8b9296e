"""One module per group of /v1 routes; each exposes ``router(ctx) -> APIRouter``.

To add a probe: write ``routes/<name>.py`` with a ``router`` function and list it in ROUTERS.
"""

from __future__ import annotations

from . import capture, dhcp, interfaces, iperf, links, meta, netns, ovs, ping, vlan, watch

ROUTERS = [
    meta.router,
    interfaces.router,
    ping.router,
    ovs.router,
    vlan.router,
    links.router,
    iperf.router,
    capture.router,
    dhcp.router,
    netns.router,
    watch.router,
]
