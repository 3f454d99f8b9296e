"""/v1/linuxbridge/show: the node's Linux bridges, VXLAN devices, FDB, ARP responder and filter rules."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from ...wire.linuxbridge import LinuxBridgeShow
from ..context import AgentContext
from ..responses import COMMON, V1


def router(ctx: AgentContext) -> APIRouter:
    r = APIRouter(prefix=V1 + "/linuxbridge", responses=COMMON, tags=["linuxbridge"])

    @r.get("/show", response_model=LinuxBridgeShow)
    async def show() -> LinuxBridgeShow:
        """Read only: ``ip -d -j link``, ``bridge -j fdb``, ``ip -j neigh`` and ``iptables-save -t filter``."""
        return await run_in_threadpool(ctx.backend.linuxbridge.show)

    return r
