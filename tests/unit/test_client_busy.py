"""An agent busy with other controllers' requests answers 429 with a short Retry-After: the controller waits
and retries (the agent ran nothing); a long Retry-After or a 429 that never ends is the caller's error."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web

from steth.controller.agent_status import BUSY_RETRIES
from steth.controller.client import AgentClient
from steth.controller.config import ControllerConfig, NodeConfig
from steth.errors import AgentRequestError


def against_busy_agent(busy_answers: int, retry_after: str) -> tuple[Any, int]:
    """One POST /v1/ping to an HTTP endpoint that answers 429 (``Retry-After: retry_after``) to its first
    ``busy_answers`` requests and 200 after; (what the request returned or raised, requests it received)."""
    seen = {"n": 0}

    async def answer(request: web.Request) -> web.Response:
        seen["n"] += 1
        if seen["n"] <= busy_answers:
            return web.json_response(
                {"detail": "8 requests of this kind already run"}, status=429, headers={"Retry-After": retry_after}
            )
        return web.json_response({"ok": True})

    async def main() -> Any:
        app = web.Application()
        app.router.add_route("POST", "/v1/ping", answer)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        node = NodeConfig("n1", "127.0.0.1", port)
        config = ControllerConfig(nodes={"n1": node}, networks={}, token_file="/unused")
        try:
            async with AgentClient(config, token="t" * 16) as client:
                try:
                    return await client.request(node, "POST", "/v1/ping")
                except AgentRequestError as e:
                    return e
        finally:
            await runner.cleanup()

    return asyncio.run(main()), seen["n"]


def test_a_short_retry_after_is_waited_for_and_the_request_answered():
    got, received = against_busy_agent(3, "0.05")
    assert got == {"ok": True}
    assert received == 4


def test_a_429_that_never_ends_is_an_error_after_the_retries():
    got, received = against_busy_agent(100, "0")
    assert isinstance(got, AgentRequestError) and got.status == 429
    assert "already run" in str(got)
    assert received == BUSY_RETRIES + 1


@pytest.mark.parametrize("retry_after", ["5", "", "Wed, 21 Oct 2015 07:28:00 GMT"])
def test_a_long_or_unreadable_retry_after_is_the_callers_at_once(retry_after):
    got, received = against_busy_agent(1, retry_after)
    assert isinstance(got, AgentRequestError) and got.status == 429
    assert received == 1
