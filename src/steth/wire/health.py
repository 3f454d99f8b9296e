"""The answer of /v1/health, alone in its module: the agent serves it before any other route is loaded."""

from __future__ import annotations

from pydantic import BaseModel


class Health(BaseModel):
    status: str = "ok"
    version: str
