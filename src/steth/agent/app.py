"""The agent's FastAPI application: /v1/health open, every other /v1 route behind the guard.

OpenAPI is published at /openapi.json; /docs and /redoc (JavaScript from a CDN)
only with --enable-docs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from .. import __version__
from ..errors import HostError
from ..wire.health import Health
from . import lazy
from .context import AgentContext
from .guard import Guard

log = logging.getLogger("steth.agent")


async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
    """422 in the documented shape: a list of {loc, msg, type}, the message without pydantic's prefix."""
    detail = [
        {"loc": list(e["loc"]), "msg": str(e["msg"]).removeprefix("Value error, "), "type": str(e.get("type", ""))}
        for e in exc.errors()
    ]
    return JSONResponse(status_code=422, content={"detail": detail})


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    """``{"detail": ...}``; a 405's Allow lists the methods of every route on the path (Starlette names
    only those of the first route that matched the path, e.g. POST but not GET on /v1/captures)."""
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        allowed: set[str] = set()
        for route in request.app.router.routes:
            if route.matches(request.scope)[0] != Match.NONE:
                allowed |= getattr(route, "methods", None) or set()
        headers["Allow"] = ", ".join(sorted(allowed))
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=headers)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)


async def _host_error(_: Request, exc: HostError) -> JSONResponse:
    return JSONResponse(status_code=500, content={"detail": str(exc)})


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    """A bug or an error no route expected: 500 with what it was, in the documented JSON shape (the
    controller shows it), not Starlette's plain-text "Internal Server Error"; the traceback goes to the log."""
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return JSONResponse(
        status_code=500, content={"detail": f"{request.method} {request.url.path}: {type(exc).__name__}: {exc}"}
    )


def create_app(ctx: AgentContext) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # undo what a crashed predecessor left behind; in a thread: pyroute2's synchronous API runs an
        # event loop of its own and fails inside ours (netlink undo steps would be skipped)
        for problem in await asyncio.to_thread(ctx.leases.recover):
            log.warning("lease recovery: %s", problem)
        ctx.leases.start()
        await ctx.watch.resume()  # a watch plan left in the state directory: probe again
        try:
            yield
        finally:
            await ctx.watch.stop(forget=False)
            ctx.stop()
            await ctx.leases.stop()  # release every lease: nothing outlives the agent

    docs = ctx.settings.enable_docs
    app = FastAPI(
        title="steth-agent",
        version=__version__,
        lifespan=lifespan,
        description="Network probes of one OpenStack node. Every /v1 route but /v1/health needs a token "
        "(`X-Steth-Token: T` or `Authorization: Bearer T`).",
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
    )
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(HostError, _host_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _internal_error)

    @app.get("/v1/health", response_model=Health, tags=["meta"])
    def health() -> Health:
        """Liveness; the only route that needs no token."""
        return Health(version=__version__)

    app.state.routes = lazy.install(app, ctx)  # the /v1 groups, built when first used
    s = ctx.settings
    app.add_middleware(
        Guard, tokens=ctx.tokens, max_body_bytes=s.max_body_bytes, probe_max_concurrent=s.probe_max_concurrent
    )
    from .routes.watch import metrics_router  # /metrics sits outside /v1 with its own auth

    app.include_router(metrics_router(ctx))
    return app
