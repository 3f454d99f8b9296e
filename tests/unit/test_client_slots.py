"""The controller bounds its requests in flight: per agent and probe kind (instead of drawing the agent's
429s), and in all to max_connections (its own semaphore: aiohttp's connector limit costs O(N^2) to wake)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from steth.controller.client import PER_AGENT_KIND_IN_FLIGHT, AgentClient
from steth.controller.config import ControllerConfig, NodeConfig


def through_counting_agent(
    method: str, path: str, names: list[str], calls: Callable[[AgentClient, list[NodeConfig]], Awaitable[Any]], **cfg
) -> tuple[Any, int]:
    """Run ``calls`` against one HTTP endpoint standing for the agents ``names``, which answers ``method path``
    after 20-50 ms; (what the calls returned, the most requests it had in flight at once)."""
    in_flight = {"now": 0, "most": 0}

    async def answer(request: web.Request) -> web.Response:
        in_flight["now"] += 1
        in_flight["most"] = max(in_flight["most"], in_flight["now"])
        await asyncio.sleep(0.05 if request.method == "POST" else 0.02)
        in_flight["now"] -= 1
        return web.json_response({"ok": True, "path": request.path})

    async def main() -> Any:
        app = web.Application()
        app.router.add_route(method, path, answer)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        nodes = [NodeConfig(n, "127.0.0.1", port) for n in names]
        config = ControllerConfig(nodes={n.name: n for n in nodes}, networks={}, token_file="/unused", **cfg)
        try:
            async with AgentClient(config, token="t" * 16) as client:
                return await calls(client, nodes)
        finally:
            await runner.cleanup()

    return asyncio.run(main()), in_flight["most"]


def test_a_burst_of_one_kind_never_exceeds_the_agent_limit():
    async def burst(client: AgentClient, nodes: list[NodeConfig]) -> list[Any]:
        return await asyncio.gather(*(client.request(nodes[0], "POST", "/v1/ping") for _ in range(30)))

    answers, most = through_counting_agent("POST", "/v1/ping", ["n1"], burst)
    assert len(answers) == 30 and all(a == {"ok": True, "path": "/v1/ping"} for a in answers)
    assert most == PER_AGENT_KIND_IN_FLIGHT


def test_fan_out_to_many_agents_keeps_max_connections_in_flight():
    async def everyone(client: AgentClient, nodes: list[NodeConfig]) -> list[Any]:
        return await client.fan_out(nodes, lambda n: client.request(n, "GET", "/v1/info"))

    names = [f"n{i}" for i in range(40)]
    replies, most = through_counting_agent("GET", "/v1/info", names, everyone, max_connections=5)
    assert [r.node.name for r in replies] == names
    assert all(r.ok and r.value == {"ok": True, "path": "/v1/info"} for r in replies)
    assert most == 5
