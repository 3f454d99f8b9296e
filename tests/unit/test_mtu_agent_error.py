"""`check mtu`: an agent that fails while probing gives `error` rows with its message, not lost probes."""

from __future__ import annotations

import asyncio

from aiohttp import web

from steth.controller.checks import mtu
from steth.controller.checks.nodes import NodeView
from steth.controller.client import AgentClient
from steth.controller.config import ControllerConfig, NodeConfig
from steth.controller.inventory import NodeAddress
from steth.wire.models import Verdict

ADDRESSES = {"a": "10.0.0.1", "b": "10.0.0.2", "c": "10.0.0.3"}
LARGEST_PAYLOAD = 1372  # a path MTU of 1400


def agent(name: str, calls: list[tuple[str, int]]) -> web.Application:
    """a: probes like an agent on paths of MTU 1400; b: answers the first round, then fails; c: always fails."""

    async def ping(request: web.Request) -> web.Response:
        body = await request.json()
        calls.append((name, body["size"]))
        if name == "c" or (name == "b" and len([c for c in calls if c[0] == "b"]) > 1):
            return web.json_response({"detail": f"raw socket on {name}: Operation not permitted"}, status=503)
        ok = body["size"] <= LARGEST_PAYLOAD
        results = [
            {"target": t, "sent": body["count"], "received": body["count"] if ok else 0, "verdict": "ok"}
            | {"loss_pct": 0.0 if ok else 100.0}
            for t in body["targets"]
        ]
        return web.json_response({"results": results})

    app = web.Application()
    app.router.add_post("/v1/ping", ping)
    return app


def test_agent_errors_are_error_rows_with_the_agents_message():
    calls: list[tuple[str, int]] = []

    async def main() -> list[mtu.MtuRow]:
        runners, views = [], []
        try:
            for name, address in ADDRESSES.items():
                runner = web.AppRunner(agent(name, calls))
                await runner.setup()
                site = web.TCPSite(runner, "127.0.0.1", 0)
                await site.start()
                runners.append(runner)
                port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
                view = NodeView(NodeConfig(name, "127.0.0.1", port))
                view.info = object()  # type: ignore[assignment]  # alive: discovery answered
                view.on["tenant"] = NodeAddress("tenant", address, "eth1")
                views.append(view)
            config = ControllerConfig(nodes={v.name: v.node for v in views}, networks={}, token_file="/unused")
            async with AgentClient(config, token="t" * 16) as client:
                return await mtu.run(client, views, ["tenant"], {"tenant": 1500}, timeout=0.2)
        finally:
            for runner in runners:
                await runner.cleanup()

    rows = {(r.source, r.destination): r for r in asyncio.run(main())}
    assert len(rows) == 6
    for dst in ("b", "c"):  # a measured its paths
        assert rows[("a", dst)].verdict is Verdict.FAIL and rows[("a", dst)].measured_mtu == 1400
    for src in ("b", "c"):  # b failed mid-search, c at once: nothing measured, and the agent's words
        for dst in {"a", "b", "c"} - {src}:
            row = rows[(src, dst)]
            assert row.verdict is Verdict.ERROR and row.measured_mtu is None, row
            assert f"raw socket on {src}: Operation not permitted" in row.note, row.note
            assert f"{src} could not probe {dst} on tenant" in row.note
    # its failed pairs left the search: b was asked in round 0 and in one search round (its sizes at once)
    assert len([c for c in calls if c[0] == "b"]) == 1 + mtu.CANDIDATES_PER_ROUND
    assert not any("unreachable" in f for f in mtu.findings(list(rows.values()), {}, {}, {"tenant": 1500}))
