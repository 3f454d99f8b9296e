"""/v1/ovs/...: Open vSwitch state through ovsdbapp."""

from __future__ import annotations

from fastapi import APIRouter

from ...probes import ovs
from ...wire.models import OvsCheckPortsRequest, OvsCheckPortsResponse
from ..context import AgentContext


def router(ctx: AgentContext) -> APIRouter:
    r = APIRouter(prefix="/ovs", tags=["ovs"])

    @r.post("/check-ports", response_model=OvsCheckPortsResponse)
    def check_ports(req: OvsCheckPortsRequest) -> OvsCheckPortsResponse:
        return ovs.check_ports(req, ctx.ovsdb_connection)

    return r
