"""Token check for every /v1 route but /v1/health, in constant time."""

from __future__ import annotations

import hmac

from fastapi import HTTPException, Request, status

TOKEN_HEADER = "X-Steth-Token"


class TokenAuth:
    """FastAPI dependency: accepts `Authorization: Bearer T` or `X-Steth-Token: T`."""

    def __init__(self, token: str) -> None:
        self._token = token.encode()

    def __call__(self, request: Request) -> None:
        given = request.headers.get(TOKEN_HEADER, "")
        auth = request.headers.get("Authorization", "")
        if not given and auth.lower().startswith("bearer "):
            given = auth[7:].strip()
        if not given:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing token", headers={"WWW-Authenticate": "Bearer"})
        if not hmac.compare_digest(given.encode(), self._token):
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong token", headers={"WWW-Authenticate": "Bearer"})
