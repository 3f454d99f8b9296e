"""/v1/netns/{name}/iptables, /router-state, /listeners and /v1/tcp-connect: read-only probes inside
qrouter-/qdhcp-/ovnmeta- namespaces; /v1/inject/vm: the VM's own packet (doctor's probe of the VM's path)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from ...wire.listeners import NetnsListeners
from ...wire.models import IptablesResponse, TcpConnectRequest, TcpConnectResult
from ...wire.validators import NetnsName
from ...wire.vmprobe import RouterState, VmProbeRequest, VmProbeResponse
from ..context import AgentContext
from ..responses import COMMON, V1

# probes.netns_probes.TABLES, spelled here so the query is validated and documented without loading the probe
Table = Literal["nat", "filter", "mangle", "raw"]


def router(ctx: AgentContext) -> APIRouter:
    r = APIRouter(prefix=V1, responses=COMMON, tags=["probes"])

    @r.get("/netns/{name}/iptables", response_model=IptablesResponse)
    def iptables(name: NetnsName, table: Table = "nat") -> IptablesResponse:
        return ctx.backend.netns_probes.iptables_save(name, table)

    @r.get("/netns/{name}/router-state", response_model=RouterState)
    def router_state(name: NetnsName) -> RouterState:
        return ctx.backend.netns_probes.router_state(name)

    @r.get("/netns/{name}/listeners", response_model=NetnsListeners)
    def listeners(name: NetnsName) -> NetnsListeners:
        """Listening TCP sockets in the namespace and the processes holding them (e.g. ovnmeta-'s haproxy)."""
        return ctx.backend.listeners.listeners(name)

    @r.post("/inject/vm", response_model=VmProbeResponse)
    def inject_vm(req: VmProbeRequest) -> VmProbeResponse:
        return ctx.backend.vmprobe.run(req, ctx.ovsdb_connection)

    @r.post("/tcp-connect", response_model=TcpConnectResult)
    async def tcp_connect(req: TcpConnectRequest) -> TcpConnectResult:
        return await run_in_threadpool(ctx.backend.netns_probes.tcp_connect, req)

    return r
