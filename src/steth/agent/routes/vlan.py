"""/v1/vlan/...: capture and send 802.1Q probe frames on raw sockets; nothing on the host changes.

POST /v1/vlan/listen                      open a capture (socket bound when this answers)
POST /v1/vlan/listen/{capture_id}/collect wait a grace period, stop it, return what was heard
POST /v1/vlan/send                        send one probe frame per VLAN
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ...wire.vlan import (
    CaptureId,
    VlanCaptureResult,
    VlanCollectRequest,
    VlanListenRequest,
    VlanListenStarted,
    VlanSendRequest,
    VlanSendResult,
)
from ..context import AgentContext
from ..responses import COMMON, NOT_FOUND, V1, json_response, problem


def router(ctx: AgentContext) -> APIRouter:
    r = APIRouter(prefix=V1 + "/vlan", responses=COMMON, tags=["vlan"])

    @r.post(
        "/listen",
        response_model=VlanListenStarted,
        status_code=201,
        responses={**NOT_FOUND, 429: problem("too many listeners")},
    )
    async def listen(req: VlanListenRequest) -> Response:
        try:
            started = await run_in_threadpool(ctx.vlan_captures.open, req)
        except ctx.backend.vlan.NoSuchInterface as exc:
            raise HTTPException(404, f"interface: {exc.message}") from None
        except ctx.backend.vlan.TooBusy as exc:
            raise HTTPException(429, str(exc)) from None
        return json_response(started, status_code=201)

    @r.post("/listen/{capture_id}/collect", response_model=VlanCaptureResult, responses=NOT_FOUND)
    async def collect(capture_id: CaptureId, req: VlanCollectRequest | None = None) -> Response:
        result = await ctx.vlan_captures.collect(capture_id, (req or VlanCollectRequest()).grace)
        if result is None:
            raise HTTPException(404, f"no capture {capture_id!r} on this node (collected already, or expired)")
        return json_response(result)

    @r.post("/send", response_model=VlanSendResult, responses=NOT_FOUND)
    async def send(req: VlanSendRequest) -> Response:
        try:
            return json_response(await run_in_threadpool(ctx.backend.vlan.send, req))
        except ctx.backend.vlan.NoSuchInterface as exc:
            raise HTTPException(404, f"interface: {exc.message}") from None

    return r
