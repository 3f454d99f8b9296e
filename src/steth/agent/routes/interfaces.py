"""/v1/interfaces, /v1/interfaces/{name}, /v1/netns through ctx.backend.netlink."""

from __future__ import annotations

import socket
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response
from pydantic import TypeAdapter

from ...wire.models import Interface, Namespace
from ...wire.validators import IfName, NetnsName
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
    def namespaces(name: Annotated[list[NetnsName] | None, Query(max_length=16)] = None) -> list[Namespace]:
        """Every named namespace, or only those named (``?name=A&name=B``: quicker on a busy network node)."""
        return ctx.backend.netlink.list_namespaces(name) if name else ctx.backend.netlink.list_namespaces()

    return r
