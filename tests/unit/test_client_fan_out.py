"""max_connections bounds the requests in flight over a fan-out to many agents (the client's own
semaphore: aiohttp's connector limit costs O(N^2) to wake its queue), and every request still gets through."""

from __future__ import annotations

import asyncio

from aiohttp import web

from steth.controller.client import AgentClient
from steth.controller.config import ControllerConfig, NodeConfig


def test_fan_out_to_many_agents_keeps_max_connections_in_flight():
    in_flight = {"now": 0, "most": 0}

    async def info(request: web.Request) -> web.Response:
        in_flight["now"] += 1
        in_flight["most"] = max(in_flight["most"], in_flight["now"])
        await asyncio.sleep(0.02)
        in_flight["now"] -= 1
        return web.json_response({"node": request.headers["X-Steth-Token"][:1], "path": request.path})

    async def main():
        app = web.Application()
        app.router.add_get("/v1/info", info)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        nodes = [NodeConfig(f"n{i}", "127.0.0.1", port) for i in range(40)]  # 40 agents, one endpoint
        config = ControllerConfig(
            nodes={n.name: n for n in nodes}, networks={}, token_file="/unused", max_connections=5
        )
        try:
            async with AgentClient(config, token="t" * 16) as client:
                return await client.fan_out(nodes, lambda n: client.request(n, "GET", "/v1/info"))
        finally:
            await runner.cleanup()

    replies = asyncio.run(main())
    assert [r.node.name for r in replies] == [f"n{i}" for i in range(40)]
    assert all(r.ok and r.value == {"node": "t", "path": "/v1/info"} for r in replies)
    assert in_flight["most"] == 5
