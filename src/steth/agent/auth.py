"""Tokens for every /v1 route but /v1/health: a set read from the token file, reread on SIGHUP.

Several tokens may be valid at once, so a token rotates without a restart and
without a failed request: add the new one, SIGHUP, move the controllers, remove
the old one, SIGHUP. Compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
from collections.abc import Mapping

from fastapi import HTTPException, Request, status

from .config import read_tokens

TOKEN_HEADER = "X-Steth-Token"
log = logging.getLogger("steth.agent")


class Tokens:
    """The valid tokens of ``path``; ``reload()`` keeps the old set when the file became unusable."""

    def __init__(self, path: str, tokens: frozenset[str] | None = None) -> None:
        self.path = path
        self._tokens = [t.encode() for t in (tokens if tokens is not None else read_tokens(path))]
        self._lock = threading.Lock()

    def reload(self) -> bool:
        """Reread the file; on an error log it and keep the current tokens (the agent stays usable)."""
        from ..errors import ConfigError

        try:
            fresh = read_tokens(self.path)
        except ConfigError as exc:
            log.error("token file not reloaded, the previous tokens stay valid: %s", exc)
            return False
        with self._lock:
            self._tokens = [t.encode() for t in fresh]
        log.warning("token file %s reloaded: %d token(s)", self.path, len(fresh))
        return True

    def match(self, given: str) -> str | None:
        """The id of the token ``given`` (first 8 hex digits of its SHA-256, for the audit log), or None.

        Every valid token is compared, so the time does not tell which one matched.
        """
        raw = given.encode()
        found = False
        for token in self._tokens:
            found |= hmac.compare_digest(raw, token)
        return hashlib.sha256(raw).hexdigest()[:8] if found else None


def token_of(headers: Mapping[str, str]) -> str:
    """The token a request carries: `X-Steth-Token: T` or `Authorization: Bearer T` ('' when none)."""
    get = headers.get
    given = get(TOKEN_HEADER.lower(), "") or get(TOKEN_HEADER, "")
    if not given:
        auth = get("authorization", "") or get("Authorization", "")
        if auth.lower().startswith("bearer "):
            given = auth[7:].strip()
    return given


class TokenAuth:
    """FastAPI dependency: 401 unless the request carries one of the valid tokens."""

    def __init__(self, tokens: Tokens) -> None:
        self._tokens = tokens

    def __call__(self, request: Request) -> None:
        given = token_of(request.headers)
        if not given:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing token", headers={"WWW-Authenticate": "Bearer"})
        if self._tokens.match(given) is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong token", headers={"WWW-Authenticate": "Bearer"})
