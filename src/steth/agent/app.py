"""HTTP routes of the agent, versioned under /v1; OpenAPI at /openapi.json."""

from __future__ import annotations

import socket
import threading
from contextlib import asynccontextmanager
from typing import AsyncIterator

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, TypeAdapter
from starlette.concurrency import run_in_threadpool

from .. import __version__
from ..errors import HostError
from ..host import netlink
from ..probes import capabilities, ovs, ping
from ..wire.models import (AgentInfo, Health, Interface, Namespace, OvsCheckPortsRequest,
                           OvsCheckPortsResponse, PingRequest, PingResponse)
from ..wire.validators import check_ifname
from .auth import TokenAuth


def _field(loc: tuple) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "request"


async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
    """422 whose detail is one readable line naming every bad field."""
    problems = [f"{_field(e['loc'])}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors()]
    fields = [{"field": _field(e["loc"]), "message": str(e["msg"])} for e in exc.errors()]
    return JSONResponse(status_code=422, content={"detail": "; ".join(problems), "errors": fields})


_INTERFACES = TypeAdapter(list[Interface])


def _json(body: BaseModel | bytes) -> Response:
    """Serialise a result we built ourselves straight to JSON.

    FastAPI would validate it against response_model once more (~5 ms for a node's
    interfaces); the model stays declared on the route for the OpenAPI document.
    """
    data = body if isinstance(body, bytes) else body.model_dump_json().encode()
    return Response(content=data, media_type="application/json")


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


@asynccontextmanager
async def _lifespan(_: FastAPI) -> AsyncIterator[None]:
    threading.Thread(target=_warm_up, name="warm-up", daemon=True).start()
    yield


def create_app(token: str, ovsdb_connection: str) -> FastAPI:
    app = FastAPI(title="steth-agent", version=__version__, lifespan=_lifespan,
                  description="Network probes of one OpenStack node.")
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HostError, _host_error)

    @app.get("/v1/health", response_model=Health, tags=["meta"])
    def health() -> Health:
        """Liveness; the only route that needs no token."""
        return Health(version=__version__)

    v1 = APIRouter(prefix="/v1", dependencies=[Depends(TokenAuth(token))])

    @v1.get("/info", response_model=AgentInfo, tags=["meta"])
    def info() -> Response:
        return _json(AgentInfo(hostname=socket.gethostname(), version=__version__,
                               interfaces=netlink.list_interfaces(),
                               capabilities=capabilities.capabilities(ovsdb_connection)))

    @v1.get("/interfaces", response_model=list[Interface], tags=["interfaces"])
    def interfaces() -> Response:
        return _json(_INTERFACES.dump_json(netlink.list_interfaces()))

    @v1.get("/interfaces/{name}", response_model=Interface, tags=["interfaces"])
    def interface(name: str) -> Interface:
        try:
            check_ifname(name)
        except ValueError as exc:
            raise HTTPException(422, f"name: {exc}") from None
        found = netlink.get_interface(name)
        if found is None:
            raise HTTPException(404, f"no interface named {name!r} on {socket.gethostname()}")
        return found

    @v1.get("/netns", response_model=list[Namespace], tags=["interfaces"])
    def namespaces() -> list[Namespace]:
        return netlink.list_namespaces()

    @v1.post("/ping", response_model=PingResponse, tags=["probes"])
    async def do_ping(req: PingRequest) -> PingResponse:
        # pyroute2's synchronous API runs its own event loop: keep it off ours.
        if req.interface and await run_in_threadpool(netlink.get_interface, req.interface) is None:
            raise HTTPException(422, f"interface: no interface named {req.interface!r} on this node")
        return await ping.ping_many(req)

    @v1.post("/ovs/check-ports", response_model=OvsCheckPortsResponse, tags=["ovs"])
    def check_ports(req: OvsCheckPortsRequest) -> OvsCheckPortsResponse:
        return ovs.check_ports(req, ovsdb_connection)

    app.include_router(v1)
    return app
