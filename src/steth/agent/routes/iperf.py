"""/v1/iperf/...: one-shot iperf3 servers under leases, and iperf3 clients (-J, parsed)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from starlette.concurrency import run_in_threadpool

from ...wire.iperf import (
    IperfClientRequest,
    IperfClientResult,
    IperfServer,
    IperfServerList,
    IperfServerRequest,
    IperfServerStop,
)
from ..context import AgentContext
from ..responses import COMMON, V1, problem, refusal

LeaseId = Annotated[str, Path(pattern="^[A-Za-z0-9]{1,64}$", description="1-64 letters or digits")]


def router(ctx: AgentContext) -> APIRouter:
    r = APIRouter(prefix=V1 + "/iperf", responses=COMMON, tags=["iperf"])

    @r.post(
        "/servers",
        response_model=IperfServer,
        responses={
            409: problem("port in use or none free in the range"),
            429: problem("--iperf-max-servers servers already run"),
            503: problem("iperf3 is not installed"),
        },
    )
    async def start_server(req: IperfServerRequest) -> IperfServer:
        """Start a one-shot iperf3 server; answers once it listens. Release it with DELETE when done."""
        try:
            return await run_in_threadpool(ctx.iperf.start, req)
        except ctx.backend.iperf.IperfRefused as exc:
            raise refusal(exc.status, exc.message) from None

    @r.get("/servers", response_model=IperfServerList)
    async def list_servers() -> IperfServerList:
        found = await run_in_threadpool(ctx.iperf.list)
        return IperfServerList(servers=found, max_servers=ctx.iperf.max_servers, ports=ctx.iperf.ports_text)

    @r.delete("/servers/{lease_id}", response_model=IperfServerStop)
    async def stop_server(lease_id: LeaseId) -> IperfServerStop:
        """Kill the server (if still running) and release its lease; unknown ids answer released=false."""
        return await run_in_threadpool(ctx.iperf.stop, lease_id)

    @r.post(
        "/client",
        response_model=IperfClientResult,
        responses={429: problem("--iperf-max-servers clients already run"), 503: problem("iperf3 is not installed")},
    )
    async def client(req: IperfClientRequest) -> IperfClientResult:
        """Run iperf3 -c ... -J to completion (up to duration + connect timeout + 15 s)."""
        try:
            return await run_in_threadpool(ctx.iperf.client, req)
        except ctx.backend.iperf.IperfRefused as exc:
            raise refusal(exc.status, exc.message) from None

    return r
