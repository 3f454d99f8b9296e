"""/v1/captures: packet capture with tcpdump on an interface, in the agent's or a named namespace.

POST /v1/captures            start (answers once tcpdump listens): CaptureInfo, 201
GET  /v1/captures            the agent's limits and its captures
GET  /v1/captures/{id}       one capture (a summary stays after it was removed)
GET  /v1/captures/{id}/pcap  the pcap, streamed while it grows; removed from the node once sent
POST /v1/captures/{id}/stop  stop tcpdump; the pcap stays to be fetched
DELETE /v1/captures/{id}     stop and remove now
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, HTTPException
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from ...wire.capture import PCAP_MEDIA_TYPE, CaptureInfo, CaptureList, CaptureRequest
from ..context import AgentContext
from ..responses import COMMON, NOT_FOUND, V1, problem, refusal

if TYPE_CHECKING:
    from ..captures import Capture, CaptureRefused


def _refused(exc: CaptureRefused) -> Exception:
    return refusal(exc.status, exc.detail, exc.headers)


GONE = {410: problem("the capture was removed from the node (its summary stays: GET /v1/captures/ID)")}


def router(ctx: AgentContext) -> APIRouter:
    r = APIRouter(prefix=V1 + "/captures", responses=COMMON, tags=["capture"])

    def running(capture_id: str) -> Capture:
        captures = ctx.captures
        cap = captures.get(capture_id)
        if cap is None:
            gone = captures.info(capture_id)
            if gone is not None:
                raise HTTPException(410, f"capture {capture_id} was removed ({gone.stop_reason})")
            raise HTTPException(404, f"no capture {capture_id!r} on this agent")
        return cap

    @r.post(
        "",
        response_model=CaptureInfo,
        status_code=201,
        responses={**NOT_FOUND, 409: problem("the interface is down")},
    )
    async def start(req: CaptureRequest) -> CaptureInfo:
        captures = ctx.captures
        try:
            cap = await run_in_threadpool(captures.start, req)
        except ctx.backend.captures.CaptureRefused as exc:
            raise _refused(exc) from None
        captures.watch(cap)
        return cap.info

    @r.get("", response_model=CaptureList)
    def list_captures() -> CaptureList:
        captures = ctx.captures
        return CaptureList(limits=captures.limits, captures=captures.active())

    @r.get("/{capture_id}", response_model=CaptureInfo, responses=NOT_FOUND)
    def show(capture_id: str) -> CaptureInfo:
        captures = ctx.captures
        found = captures.info(capture_id)
        if found is None:
            raise HTTPException(404, f"no capture {capture_id!r} on this agent")
        return found

    @r.get(
        "/{capture_id}/pcap",
        response_class=StreamingResponse,
        responses={
            200: {"content": {PCAP_MEDIA_TYPE: {}}, "description": "pcap stream"},
            **NOT_FOUND,
            **GONE,
            409: problem("already being streamed"),
        },
    )
    def pcap(capture_id: str) -> StreamingResponse:
        captures = ctx.captures
        cap = running(capture_id)
        try:
            captures.claim_stream(cap)
        except ctx.backend.captures.CaptureRefused as exc:
            raise _refused(exc) from None
        return StreamingResponse(
            captures.stream(cap),
            media_type=PCAP_MEDIA_TYPE,
            headers={"Content-Disposition": f'attachment; filename="{cap.id}.pcap"', "X-Steth-Capture": cap.id},
        )

    @r.post("/{capture_id}/stop", response_model=CaptureInfo, responses={**NOT_FOUND, **GONE})
    async def stop(capture_id: str) -> CaptureInfo:
        cap = running(capture_id)
        await ctx.captures.stop(cap, "stopped", flush=True)
        return cap.info

    @r.delete("/{capture_id}", response_model=CaptureInfo, responses={**NOT_FOUND, **GONE})
    async def delete(capture_id: str) -> CaptureInfo:
        running(capture_id)
        info = await run_in_threadpool(ctx.captures.remove, capture_id, "deleted")
        assert info is not None
        return info

    return r
