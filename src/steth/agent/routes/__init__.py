"""One module per group of /v1 routes; each exposes ``router(ctx) -> APIRouter``.

To add a probe: write ``routes/<name>.py`` with a ``router`` function and list it in ROUTERS.
"""

from __future__ import annotations

from . import dhcp, interfaces, meta, ovs, ping

ROUTERS = [meta.router, interfaces.router, ping.router, ovs.router, dhcp.router]
