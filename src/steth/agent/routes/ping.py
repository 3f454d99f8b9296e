"""/v1/ping: many targets at once."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from starlette.concurrency import run_in_threadpool

from ...wire.models import PingRequest, PingResponse
from ..context import AgentContext
from ..responses import COMMON, NOT_FOUND, V1


def router(ctx: AgentContext) -> APIRouter:
    r = APIRouter(prefix=V1, responses=COMMON, tags=["probes"])

    @r.post("/ping", response_model=PingResponse, responses=NOT_FOUND)
    async def do_ping(req: PingRequest) -> PingResponse:
        # pyroute2's synchronous API runs its own event loop: keep it off ours.
        if req.netns and not ctx.backend.netns.exists(req.netns):
            raise HTTPException(404, f"netns: no network namespace named {req.netns!r} on this node")
        if (
            req.interface
            and await run_in_threadpool(ctx.backend.netlink.get_interface, req.interface, req.netns) is None
        ):
            raise HTTPException(404, f"interface: no interface named {req.interface!r} on this node")
        return await ctx.backend.ping.ping_many(req)

    return r
