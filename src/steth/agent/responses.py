"""Response helpers and the error shapes every route documents.

Errors have two shapes, both in the OpenAPI document: 422 is FastAPI's
``{"detail": [{"loc": [...], "msg": "...", "type": "..."}]}`` (also for the
checks a route makes by hand), every other error is ``{"detail": "..."}``.
"""

from __future__ import annotations

from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel

V1 = "/v1"


class Problem(BaseModel):
    """Every error but 422: one readable sentence saying what was wrong and what to do."""

    detail: str


def problem(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description}


# answered by the guard or the app around every /v1 route
COMMON: dict[int | str, dict[str, Any]] = {
    400: problem("the body is not JSON text (e.g. not UTF-8)"),
    401: problem("no token, or not one of the agent's tokens"),
    413: problem("request body above --max-body-bytes"),
    429: problem("--probe-max-concurrent requests of this kind already run"),
    500: problem("the host could not be read or changed"),
}
NOT_FOUND = {404: problem("no such interface, namespace or capture on this node")}


def invalid(where: str, field: str, message: str) -> RequestValidationError:
    """A hand-made 422 in the same shape as FastAPI's own (``where``: path, query or body)."""
    return RequestValidationError([{"loc": (where, field), "msg": message, "type": "value_error"}])


def json_response(body: BaseModel | bytes, status_code: int = 200) -> Response:
    """Serialise a result we built ourselves straight to JSON.

    FastAPI would validate it against response_model once more (~5 ms for a node's
    interfaces); the model stays declared on the route for the OpenAPI document.
    """
    data = body if isinstance(body, bytes) else body.model_dump_json().encode()
    return Response(content=data, media_type="application/json", status_code=status_code)


def refusal(status: int, detail: str, headers: dict[str, str] | None = None) -> Exception:
    """The exception a route raises for a probe's refusal: 422 as a validation error naming the field
    (``detail`` is "field: why"), anything else as ``{"detail": ...}``."""
    from fastapi import HTTPException

    if status == 422:
        field, sep, why = detail.partition(": ")
        return invalid("body", field if sep else "request", why if sep else detail)
    return HTTPException(status, detail, headers=headers)
