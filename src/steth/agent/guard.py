"""The gate every request passes before a route runs: token, body size, per-probe limits, audit.

A plain ASGI middleware, so it decides from the request line and headers alone:
a request without a valid token is answered 401 before one byte of its body is
read; a body above --max-body-bytes is answered 413 (from Content-Length at once,
or as soon as a chunked body grows past it); more than --probe-max-concurrent
requests of one probe kind at once are answered 429. Every request that changes
the host (links, iperf3 servers and clients, captures, DHCP injection, VLAN
frames) leaves one audit log line: who, what, when, result.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.exceptions import HTTPException

from .auth import Tokens

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

audit_log = logging.getLogger("steth.agent.audit")

OPEN_PATHS = frozenset({"/v1/health"})
# probe kinds (first path segment after /v1/) whose POST/DELETE requests change the host
HOST_CHANGING = frozenset({"links", "iperf", "captures", "dhcp", "vlan"})


class BodyTooLarge(HTTPException):
    """Raised from receive() as a chunked body grows past the cap; FastAPI answers it like any HTTPException."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body is above the agent's limit of {limit} bytes")


def probe_kind(path: str) -> str:
    """``/v1/ovs/show`` -> ``ovs``; the unit the per-kind limit counts."""
    parts = path.split("/", 3)
    return parts[2] if len(parts) > 2 else ""


def changes_host(method: str, path: str) -> bool:
    return method in ("POST", "DELETE") and probe_kind(path) in HOST_CHANGING


async def answer(send: Send, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
    """A JSON error ``{"detail": "..."}`` (the documented Problem shape), connection closed after it."""
    body = json.dumps({"detail": detail}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    raw.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class Guard:
    def __init__(self, app: ASGIApp, tokens: Tokens, max_body_bytes: int, probe_max_concurrent: int) -> None:
        self.app = app
        self.tokens = tokens
        self.max_body = max_body_bytes
        self.max_concurrent = probe_max_concurrent
        self.running: dict[str, int] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        who = ""
        if path.startswith("/v1/") and path not in OPEN_PATHS:
            who = self._who(headers)
            if not who:
                await answer(send, 401, self._why_not(headers), {"WWW-Authenticate": "Bearer"})
                return
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_body:
            await answer(send, 413, f"request body of {length} bytes is above the agent's limit of {self.max_body}")
            return
        kind = probe_kind(path) if who else ""
        if kind and self.running.get(kind, 0) >= self.max_concurrent:
            await answer(
                send,
                429,
                f"{self.max_concurrent} {kind} requests are running on this agent (--probe-max-concurrent)",
                {"Retry-After": "1"},
            )
            return
        await self._serve(scope, receive, send, who, kind)

    def _who(self, headers: dict[str, str]) -> str:
        from .auth import token_of

        given = token_of(headers)
        token_id = self.tokens.match(given) if given else None
        return f"token:{token_id}" if token_id else ""

    @staticmethod
    def _why_not(headers: dict[str, str]) -> str:
        from .auth import token_of

        return "wrong token" if token_of(headers) else "missing token"

    async def _serve(self, scope: Scope, receive: Receive, send: Send, who: str, kind: str) -> None:
        received = 0
        status = 0

        async def capped_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise BodyTooLarge(self.max_body)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        audited = changes_host(scope["method"], scope["path"])
        start = time.monotonic()
        if kind:
            self.running[kind] = self.running.get(kind, 0) + 1
        try:
            await self.app(scope, capped_receive, watched_send)
        except BodyTooLarge as exc:
            if status == 0:
                status = 413
                await answer(send, 413, exc.detail)
        finally:
            if kind:
                self.running[kind] -= 1
            if audited:
                client = scope.get("client") or ("-", 0)
                audit_log.info(
                    "who=%s client=%s what=%s %s result=%s ms=%.0f",
                    who or "-",
                    client[0],
                    scope["method"],
                    scope["path"],
                    status or "aborted",
                    (time.monotonic() - start) * 1000,
                )
