"""The agent client maps every transport and HTTP failure to one StethError subclass."""

import asyncio
import socket

import pytest
from aiohttp import web

from steth.controller import api
from steth.controller.client import AgentClient
from steth.controller.config import ControllerConfig, NodeConfig
from steth.errors import AgentAuthError, AgentRequestError, AgentUnreachableError
from steth.wire.models import PingRequest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def serve(handler_map):
    app = web.Application()
    for path, handler in handler_map.items():
        app.router.add_route("*", path, handler)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    return runner, port


def config(port, timeout=0.5):
    node = NodeConfig("n1", "127.0.0.1", port)
    return ControllerConfig(nodes={"n1": node}, networks={}, token_file="/nonexistent", request_timeout=timeout)


def run_against(handlers, call, timeout=0.5):
    async def go():
        runner, port = await serve(handlers)
        try:
            cfg = config(port, timeout)
            async with AgentClient(cfg, token="x" * 32) as c:
                return await call(c, cfg.nodes["n1"])
        finally:
            await runner.cleanup()

    return asyncio.run(go())


def test_token_is_sent_and_models_parsed():
    seen = {}

    async def health(request):
        seen["token"] = request.headers.get("X-Steth-Token")
        return web.json_response({"status": "ok", "version": "9.9"})

    h = run_against({"/v1/health": health}, api.health)
    assert h.version == "9.9" and seen["token"] == "x" * 32


def test_401_is_auth_error_with_hint():
    async def deny(_):
        return web.json_response({"detail": "wrong token"}, status=401)

    with pytest.raises(AgentAuthError) as exc:
        run_against({"/v1/info": deny}, api.info)
    assert "refused the token" in exc.value.message and "wrong token" in exc.value.message
    assert exc.value.exit_code == 2


def test_422_detail_is_passed_through():
    async def bad(_):
        return web.json_response({"detail": "targets.0: 'x' is not an IPv4 or IPv6 address"}, status=422)

    with pytest.raises(AgentRequestError) as exc:
        run_against({"/v1/ping": bad}, lambda c, n: api.ping(c, n, PingRequest(targets=["10.0.0.1"], count=1)))
    assert "targets.0" in exc.value.message and exc.value.status == 422


def test_unexpected_body_is_reported():
    async def junk(_):
        return web.Response(text="<html>proxy</html>")

    async def wrong_shape(_):
        return web.json_response({"hello": 1})

    with pytest.raises(AgentRequestError, match="non-JSON"):
        run_against({"/v1/health": junk}, api.health)
    with pytest.raises(AgentRequestError, match="unexpected body"):
        run_against({"/v1/health": wrong_shape}, api.health)


def test_slow_agent_times_out_within_budget():
    async def slow(_):
        await asyncio.sleep(1.5)
        return web.json_response({})

    with pytest.raises(AgentUnreachableError, match="did not answer within 0.3 s"):
        run_against({"/v1/health": slow}, api.health, timeout=0.3)


def test_refused_port_is_unreachable_with_address():
    port = free_port()

    async def go():
        cfg = config(port)
        async with AgentClient(cfg, token="x" * 32) as c:
            return await c.fan_out(cfg.nodes.values(), lambda n: api.health(c, n))

    [outcome] = asyncio.run(go())
    assert not outcome.ok and isinstance(outcome.error, AgentUnreachableError)
    assert f"127.0.0.1:{port}" in outcome.error.message and outcome.error.exit_code == 3
