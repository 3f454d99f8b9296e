"""/v1/netns/{name}/iptables and /v1/tcp-connect: read-only probes inside qrouter-/qdhcp- namespaces."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from ...wire.models import IptablesResponse, TcpConnectRequest, TcpConnectResult
from ...wire.validators import NetnsName
from ..context import AgentContext
from ..responses import COMMON, V1

# probes.netns_probes.TABLES, spelled here so the query is validated and documented without loading the probe
Table = Literal["nat", "filter", "mangle", "raw"]


def router(ctx: AgentContext) -> APIRouter:
    r = APIRouter(prefix=V1, responses=COMMON, tags=["probes"])

    @r.get("/netns/{name}/iptables", response_model=IptablesResponse)
    def iptables(name: NetnsName, table: Table = "nat") -> IptablesResponse:
        return ctx.backend.netns_probes.iptables_save(name, table)

    @r.post("/tcp-connect", response_model=TcpConnectResult)
    async def tcp_connect(req: TcpConnectRequest) -> TcpConnectResult:
        return await run_in_threadpool(ctx.backend.netns_probes.tcp_connect, req)

    return r
