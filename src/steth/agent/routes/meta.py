"""/v1/info: who this agent is and what the host can do."""

from __future__ import annotations

import socket

from fastapi import APIRouter
from fastapi.responses import Response

from ... import __version__
from ...wire.models import AgentInfo
from ..context import AgentContext
from ..responses import COMMON, V1, json_response


def router(ctx: AgentContext) -> APIRouter:
    r = APIRouter(prefix=V1, responses=COMMON, tags=["meta"])

    @r.get("/info", response_model=AgentInfo)
    def info() -> Response:
        return json_response(
            AgentInfo(
                hostname=socket.gethostname(),
                version=__version__,
                interfaces=ctx.backend.netlink.list_interfaces(),
                capabilities=ctx.backend.capabilities.capabilities(ctx.ovsdb_connection),
            )
        )

    return r
