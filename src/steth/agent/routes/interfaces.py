"""/v1/interfaces, /v1/interfaces/{name}, /v1/netns through ctx.backend.netlink."""

from __future__ import annotations

import socket

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response
from pydantic import TypeAdapter

from ...wire.models import Interface, Namespace
from ...wire.validators import IfName
from ..context import AgentContext
from ..responses import COMMON, NOT_FOUND, V1, json_response

_INTERFACES = TypeAdapter(list[Interface])


def router(ctx: AgentContext) -> APIRouter:
    r = APIRouter(prefix=V1, responses=COMMON, tags=["interfaces"])

    @r.get("/interfaces", response_model=list[Interface])
    def interfaces() -> Response:
        return json_response(_INTERFACES.dump_json(ctx.backend.netlink.list_interfaces()))

    @r.get("/interfaces/{name}", response_model=Interface, responses=NOT_FOUND)
    def interface(name: IfName) -> Interface:
        found = ctx.backend.netlink.get_interface(name)
        if found is None:
            raise HTTPException(404, f"no interface named {name!r} on {socket.gethostname()}")
        return found

    @r.get("/netns", response_model=list[Namespace])
    def namespaces() -> list[Namespace]:
        return ctx.backend.netlink.list_namespaces()

    return r
