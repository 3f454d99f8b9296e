"""The agent's FastAPI application: /v1/health open, every other /v1 route behind the token.

OpenAPI is published at /openapi.json (and /docs).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from .. import __version__
from ..errors import HostError
from ..host import netlink
from ..probes import capabilities
from ..wire.models import Health
from .auth import TokenAuth
from .context import AgentContext
from .routes import ROUTERS
from .routes.watch import metrics_router

log = logging.getLogger("steth.agent")


def _field(loc: tuple) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "request"


async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
    """422 whose detail is one readable line naming every bad field."""
    problems = [f"{_field(e['loc'])}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors()]
    fields = [{"field": _field(e["loc"]), "message": str(e["msg"])} for e in exc.errors()]
    return JSONResponse(status_code=422, content={"detail": "; ".join(problems), "errors": fields})


async def _host_error(_: Request, exc: HostError) -> JSONResponse:
    return JSONResponse(status_code=500, content={"detail": str(exc)})


def _warm_up() -> None:
    """Import pyroute2 and fill the capability cache off the request path, once the agent is ready.

    Without this the first /v1/info pays ~150 ms of imports; with 50 agents on one
    2-core machine (the lab) that first fan-out would take seconds.
    """
    try:
        netlink.list_interfaces()
        capabilities.raw_sockets()
    except HostError:
        pass


def create_app(ctx: AgentContext) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # undo what a crashed predecessor left behind; in a thread: pyroute2's synchronous API runs an
        # event loop of its own and fails inside ours (netlink undo steps would be skipped)
        for problem in await asyncio.to_thread(ctx.leases.recover):
            log.warning("lease recovery: %s", problem)
        ctx.leases.start()
        threading.Thread(target=_warm_up, name="warm-up", daemon=True).start()
        await ctx.watch.resume()  # a watch plan left in the state directory: probe again
        try:
            yield
        finally:
            await ctx.watch.stop(forget=False)
            ctx.vlan_captures.stop_all()
            await ctx.leases.stop()  # release every lease: nothing outlives the agent

    app = FastAPI(
        title="steth-agent", version=__version__, lifespan=lifespan, description="Network probes of one OpenStack node."
    )
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HostError, _host_error)

    @app.get("/v1/health", response_model=Health, tags=["meta"])
    def health() -> Health:
        """Liveness; the only route that needs no token."""
        return Health(version=__version__)

    v1 = APIRouter(prefix="/v1", dependencies=[Depends(TokenAuth(ctx.token))])
    for make_router in ROUTERS:
        v1.include_router(make_router(ctx))
    app.include_router(v1)
    app.include_router(metrics_router(ctx))
    return app
