"""/v1/links/...: the original tool's host-changing commands, each change held by a lease.

    POST /v1/links/setup     bring an interface up with an address (setup-link)
    POST /v1/links/vlan      create a VLAN sub-interface (add-vlan-to-interface; needs 8021q)
    POST /v1/links/teardown  undo them (teardown-link)

Errors: 404 no such interface, 409 refused (exists already / not steth's), 501 the
kernel cannot (no 8021q).
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from starlette.concurrency import run_in_threadpool

from ...errors import CapabilityMissing
from ...wire.vlan import LinkChange, LinkSetupRequest, LinkTeardownRequest, VlanInterfaceRequest
from ..context import AgentContext
from ..responses import COMMON, NOT_FOUND, V1, problem

ERRORS = {
    **NOT_FOUND,
    409: problem("exists already, or not made by steth"),
    501: problem("the kernel cannot (no 8021q module)"),
}


async def _call(ctx: AgentContext, name: str, *args) -> LinkChange:
    links = ctx.backend.links
    try:
        return await run_in_threadpool(getattr(links, name), *args)
    except links.NotFound as exc:
        raise HTTPException(404, f"interface: {exc}") from None
    except links.Conflict as exc:
        raise HTTPException(409, str(exc)) from None
    except CapabilityMissing as exc:
        raise HTTPException(501, str(exc)) from None


def router(ctx: AgentContext) -> APIRouter:
    r = APIRouter(prefix=V1 + "/links", responses=COMMON, tags=["links"])

    @r.post("/setup", response_model=LinkChange, responses=ERRORS)
    async def setup(req: LinkSetupRequest) -> LinkChange:
        return await _call(ctx, "setup_link", ctx.leases, req)

    @r.post("/vlan", response_model=LinkChange, responses=ERRORS)
    async def add_vlan(req: VlanInterfaceRequest) -> LinkChange:
        return await _call(ctx, "add_vlan", ctx.leases, req)

    @r.post("/teardown", response_model=LinkChange, responses=ERRORS)
    async def teardown(req: LinkTeardownRequest) -> LinkChange:
        return await _call(ctx, "teardown_link", ctx.leases, req)

    return r
