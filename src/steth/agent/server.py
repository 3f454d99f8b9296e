"""The agent's HTTP server: uvicorn's h11 protocol with a connection cap and a header timeout.

uvicorn times out idle keep-alive connections only after a first response: a
connection that never sends a complete request head holds its file descriptor
forever, and nothing caps how many are open (20 000 idle connections exhausted
the agent's descriptors, and it stopped answering everyone). Here a connection
beyond ``max_connections`` is closed as soon as it is accepted, and one that does
not complete its request line and headers within ``header_timeout`` seconds (of
opening, or of its previous response) is closed.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("steth.agent")


class GuardedH11Protocol(H11Protocol):
    max_connections = 512
    header_timeout = 10.0
    refused = 0  # connections closed at once because max_connections were open (per class)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_timer: asyncio.TimerHandle | None = None
        if len(self.connections) > self.max_connections:
            type(self).refused += 1
            if type(self).refused % 1000 == 1:
                log.warning("%d connections open (--max-connections): refusing new ones", self.max_connections)
            transport.abort()  # frees the descriptor now, unlike close() with data pending
            return
        self._arm_header_timer()

    def _arm_header_timer(self) -> None:
        self._cancel_header_timer()
        self._header_timer = self.loop.call_later(self.header_timeout, self._header_timeout)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timeout(self) -> None:
        self._header_timer = None
        waiting = self.cycle is None or self.cycle.response_complete
        if waiting and not self.transport.is_closing():
            self.transport.close()

    def handle_events(self) -> None:
        before = self.cycle
        super().handle_events()
        if self.cycle is not before:  # a request head arrived complete
            self._cancel_header_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)


def protocol(max_connections: int, header_timeout: float) -> type[GuardedH11Protocol]:
    """A protocol class with these limits (uvicorn instantiates it per connection)."""
    attrs: dict[str, Any] = {"max_connections": max_connections, "header_timeout": header_timeout, "refused": 0}
    return type("AgentH11Protocol", (GuardedH11Protocol,), attrs)
