"""The agent's app with a fake backend, served by uvicorn on a unix socket inside the test's event loop.

Real HTTP (h11, the guard, the connection limits), real FastAPI validation and
routes, real leases in a temporary state directory; only the host is fake. The
controller's AgentClient reaches it through an injected aiohttp UnixConnector.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import uvicorn

from steth.agent import config
from steth.agent.app import create_app
from steth.agent.auth import Tokens
from steth.agent.context import AgentContext
from steth.agent.server import protocol
from steth.controller.client import AgentClient
from steth.controller.config import ControllerConfig, NodeConfig

from .fakes import FakeHost, backend

NODE = NodeConfig(name="inproc", host="agent.invalid", port=9698)  # never resolved: the socket is a file


@dataclass
class InProcessAgent:
    ctx: AgentContext
    host: FakeHost
    socket: str
    token: str
    app: Any = None

    def session(self, token: str | None = "", **kw: Any) -> aiohttp.ClientSession:
        """A raw aiohttp session on the agent's socket; ``token`` '' = the right one, None = none."""
        headers = {} if token is None else {"X-Steth-Token": token or self.token}
        return aiohttp.ClientSession(
            base_url="http://agent.invalid", connector=aiohttp.UnixConnector(self.socket), headers=headers, **kw
        )

    def client(self, token: str | None = None) -> AgentClient:
        """The controller's client, its transport injected: the unix socket instead of TCP."""
        cfg = ControllerConfig(nodes={NODE.name: NODE}, networks={}, token_file="/nonexistent", request_timeout=10)
        return AgentClient(cfg, token=token or self.token, connector=lambda ssl: aiohttp.UnixConnector(self.socket))


@contextlib.asynccontextmanager
async def running_agent(tmp_path: Any, **settings: Any) -> AsyncIterator[InProcessAgent]:
    """Serve the app (fake host) until the block ends; ``settings`` change AgentSettings fields."""
    state_dir = os.path.join(str(tmp_path), "state")
    os.makedirs(state_dir, mode=0o700, exist_ok=True)
    token = secrets.token_hex(16)
    s = config.with_defaults(state_dir=state_dir, **settings)
    host = FakeHost()
    ctx = AgentContext(s, Tokens("/unused", frozenset({token})), backend=backend(host, state_dir))
    sock = os.path.join(str(tmp_path), "agent.sock")
    app = create_app(ctx)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            uds=sock,
            log_level="error",
            http=protocol(s.max_connections, s.header_timeout),
            timeout_keep_alive=int(max(1, s.keepalive_timeout)),
        )
    )
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    if not server.started:
        await task  # raises what stopped it
        raise AssertionError("in-process agent did not start")
    try:
        yield InProcessAgent(ctx, host, sock, token, app)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)
