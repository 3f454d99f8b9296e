"""/v1/ovs/...: Open vSwitch state through ovsdbapp."""

from __future__ import annotations

from fastapi import APIRouter, Query

from ...wire.models import (
    OvsCheckPortsRequest,
    OvsCheckPortsResponse,
    OvsFlowsResponse,
    OvsShowResponse,
    OvsTraceRequest,
    OvsTraceResponse,
)
from ...wire.validators import OvsName
from ..context import AgentContext
from ..responses import COMMON, V1


def router(ctx: AgentContext) -> APIRouter:
    r = APIRouter(prefix=V1 + "/ovs", responses=COMMON, tags=["ovs"])

    @r.post("/check-ports", response_model=OvsCheckPortsResponse)
    def check_ports(req: OvsCheckPortsRequest) -> OvsCheckPortsResponse:
        return ctx.backend.ovs.check_ports(req, ctx.ovsdb_connection)

    @r.get("/show", response_model=OvsShowResponse)
    def show(bridge: OvsName | None = None) -> OvsShowResponse:
        """Bridges (or one), their ports (tag, trunks), interfaces (type, ofport, error, external_ids, peer)."""
        return ctx.backend.ovs_show.show(ctx.ovsdb_connection, bridge)

    @r.get("/flows", response_model=OvsFlowsResponse)
    def flows(bridge: OvsName, table: int | None = Query(default=None, ge=0, le=254)) -> OvsFlowsResponse:
        """`ovs-ofctl dump-flows BRIDGE [table=N]` (e.g. br-tun's flood table 22)."""
        return ctx.backend.ovs_show.flows(ctx.ovsdb_connection, bridge, table)

    @r.post("/trace", response_model=OvsTraceResponse)
    def trace(req: OvsTraceRequest) -> OvsTraceResponse:
        """`ovs-appctl ofproto/trace` of a flow built from validated fields."""
        return ctx.backend.ovs_show.trace(req, ctx.ovsdb_connection)

    return r
