"""Response helpers shared by the routes."""

from __future__ import annotations

from fastapi.responses import Response
from pydantic import BaseModel


def json_response(body: BaseModel | bytes, status_code: int = 200) -> Response:
    """Serialise a result we built ourselves straight to JSON.

    FastAPI would validate it against response_model once more (~5 ms for a node's
    interfaces); the model stays declared on the route for the OpenAPI document.
    """
    data = body if isinstance(body, bytes) else body.model_dump_json().encode()
    return Response(content=data, media_type="application/json", status_code=status_code)
