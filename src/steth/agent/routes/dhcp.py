"""/v1/dhcp/trace: capture DHCP on several hops (and inject a DISCOVER) on this node."""

from __future__ import annotations

from fastapi import APIRouter

from ...wire.models import DhcpTraceRequest, DhcpTraceResponse
from ..context import AgentContext
from ..responses import COMMON, V1


def router(ctx: AgentContext) -> APIRouter:
    r = APIRouter(prefix=V1 + "/dhcp", responses=COMMON, tags=["dhcp"])

    @r.post("/trace", response_model=DhcpTraceResponse)
    def trace(req: DhcpTraceRequest) -> DhcpTraceResponse:
        return ctx.backend.dhcp.trace(req, ctx.ovsdb_connection)

    return r
