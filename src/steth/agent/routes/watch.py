"""/v1/watch: the continuous watch's plan (PUT), stop (DELETE) and status (GET); and /metrics."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from ...wire.watch import WatchApplied, WatchPlan, WatchStatus
from ..auth import TokenAuth
from ..context import AgentContext
from ..responses import COMMON, V1, json_response


def router(ctx: AgentContext) -> APIRouter:
    r = APIRouter(prefix=V1, responses=COMMON, tags=["watch"])

    @r.put("/watch", response_model=WatchApplied)
    async def watch_apply(plan: WatchPlan) -> Response:
        """Start watching with this plan (replacing any other); kept across agent restarts."""
        return json_response(await ctx.watch.apply(plan))

    @r.delete("/watch", response_model=WatchStatus)
    async def watch_stop() -> Response:
        """Stop watching and forget the plan."""
        return json_response(await ctx.watch.stop())

    @r.get("/watch", response_model=WatchStatus)
    def watch_status() -> Response:
        return json_response(ctx.watch.status())

    return r


def metrics_router(ctx: AgentContext) -> APIRouter:
    """GET /metrics, outside /v1: its own token (metrics_token_file), the agent's, or none (metrics_auth)."""
    tokens = ctx.metrics_tokens
    deps = [Depends(TokenAuth(tokens))] if tokens is not None else []
    r = APIRouter(tags=["meta"], dependencies=deps)

    @r.get("/metrics", response_class=Response)
    def metrics() -> Response:
        """Prometheus text format: watch results and process metrics."""
        from ..watch_metrics import CONTENT_TYPE

        return Response(ctx.watch.exposition(), media_type=CONTENT_TYPE)

    return r
