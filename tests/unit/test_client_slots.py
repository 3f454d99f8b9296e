"""The controller queues requests above the agent's per-kind limit instead of drawing 429s."""

from __future__ import annotations

import asyncio

from aiohttp import web

from steth.controller.client import PER_AGENT_KIND_IN_FLIGHT, AgentClient
from steth.controller.config import ControllerConfig, NodeConfig


def test_a_burst_of_one_kind_never_exceeds_the_agent_limit(tmp_path):
    in_flight = {"now": 0, "most": 0}

    async def ping(_: web.Request) -> web.Response:
        in_flight["now"] += 1
        in_flight["most"] = max(in_flight["most"], in_flight["now"])
        await asyncio.sleep(0.05)
        in_flight["now"] -= 1
        return web.json_response({"ok": True})

    async def main() -> list[object]:
        app = web.Application()
        app.router.add_post("/v1/ping", ping)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        node = NodeConfig("n1", "127.0.0.1", port)
        config = ControllerConfig(nodes={"n1": node}, networks={}, token_file="/unused")
        try:
            async with AgentClient(config, token="t" * 16) as client:
                return await asyncio.gather(*(client.request(node, "POST", "/v1/ping") for _ in range(30)))
        finally:
            await runner.cleanup()

    answers = asyncio.run(main())
    assert len(answers) == 30 and all(a == {"ok": True} for a in answers)
    assert in_flight["most"] == PER_AGENT_KIND_IN_FLIGHT
