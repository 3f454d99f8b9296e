"""The controller's client with its requests spread over worker processes (client_workers): results in
the order of the nodes, errors per agent, certificates and their names verified in the workers as in the
controller's own process, a dead worker's agents reported as unreachable (the others answer)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import ssl
from typing import Any

import pytest
from aiohttp import web

from steth.controller import api
from steth.controller.client import AgentClient
from steth.controller.client_workers import AUTO_FROM_NODES, process_count
from steth.controller.config import ControllerConfig, NodeConfig, TlsConfig
from steth.errors import AgentRequestError, AgentUnreachableError
from steth.pki import certs

from .harness import running_agent

TOKEN = "t" * 32


def write(path: Any, data: bytes) -> str:
    with open(os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as fh:
        fh.write(data)
    return str(path)


class Fleet:
    """aiohttp endpoints on 127.0.0.1, one per node, answering /v1/info as a real agent did but with
    the node's own hostname; with ``tls`` each has its own certificate and requires a client one."""

    def __init__(self, tmp_path: Any, template: dict, tls: bool) -> None:
        self.tmp_path, self.template, self.tls = tmp_path, template, tls
        self.runners: list[web.AppRunner] = []
        self.files: dict[str, str] = {}
        if tls:
            self.ca_key, self.ca_cert = certs.make_ca()
            key, cert = certs.issue(self.ca_key, self.ca_cert, certs.Identity("controller"), server=False, client=True)
            self.files = {
                "ca": write(tmp_path / "ca.pem", certs.cert_pem(self.ca_cert)),
                "cert": write(tmp_path / "client.pem", certs.cert_pem(cert)),
                "key": write(tmp_path / "client.key", certs.key_pem(key)),
            }

    async def serve(self, name: str, cert_name: str | None = None) -> NodeConfig:
        """An endpoint for node ``name``; its certificate names ``cert_name`` (default: the node)."""
        info = json.dumps({**self.template, "hostname": name}).encode()

        async def h_info(request: web.Request) -> web.Response:
            if request.headers.get("X-Steth-Token") != TOKEN:
                return web.json_response({"detail": "wrong token"}, status=401)
            return web.Response(body=info, content_type="application/json")

        async def h_broken(request: web.Request) -> web.Response:
            return web.Response(body=b"not json", content_type="application/json")

        busy = {"left": 2}

        async def h_netns(request: web.Request) -> web.Response:
            if busy["left"]:  # busy twice, then answers: the retry is the controller's, not the worker's
                busy["left"] -= 1
                return web.json_response({"detail": "busy"}, status=429, headers={"Retry-After": "0.05"})
            return web.json_response([])

        app = web.Application()
        app.router.add_get("/v1/info", h_info)
        app.router.add_get("/v1/interfaces", h_broken)
        app.router.add_get("/v1/netns", h_netns)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        ctx = None
        if self.tls:
            key, cert = certs.issue(
                self.ca_key, self.ca_cert, certs.Identity(cert_name or name), server=True, client=False
            )
            pem = write(self.tmp_path / f"{name}.pem", certs.key_pem(key) + certs.cert_pem(cert))
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=self.files["ca"])
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_cert_chain(pem)
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx)
        await site.start()
        self.runners.append(runner)
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return NodeConfig(name=name, host="127.0.0.1", port=port)

    def config(self, nodes: list[NodeConfig]) -> ControllerConfig:
        tls = TlsConfig()
        if self.tls:
            tls = TlsConfig(
                enabled=True, ca_file=self.files["ca"], cert_file=self.files["cert"], key_file=self.files["key"]
            )
        return ControllerConfig(
            nodes={n.name: n for n in nodes}, networks={}, token_file="/nonexistent", request_timeout=10, tls=tls
        )

    async def close(self) -> None:
        for runner in self.runners:
            await runner.cleanup()


async def agent_info(tmp_path: Any) -> dict:
    """/v1/info of the real agent app (fake host), the template every endpoint answers from."""
    async with running_agent(tmp_path) as agent:
        async with agent.session() as s:
            async with s.get("/v1/info") as r:
                return await r.json()


@pytest.mark.parametrize("tls", [False, True], ids=["http", "mtls"])
def test_fan_out_over_workers_keeps_order_and_errors_per_agent(tmp_path, tls):
    async def go():
        fleet = Fleet(tmp_path, await agent_info(tmp_path), tls)
        try:
            nodes = [await fleet.serve(f"node-{i}") for i in range(7)]
            if tls:  # a certificate for another name, (node-4: worker 2)
                nodes[4] = await fleet.serve("node-4b", cert_name="intruder")
                nodes[4] = NodeConfig(name="node-4", host=nodes[4].host, port=nodes[4].port)
            config = fleet.config(nodes)
            async with AgentClient(config, token=TOKEN, processes=3) as client:
                assert client._workers is not None and len(client._workers._pids) == 3
                pids = list(client._workers._pids.values())
                assert [client._workers.owner(n) for n in nodes] == [1, 2, 3, 1, 2, 3, 1]
                replies = await client.fan_out(nodes, lambda n: api.info(client, n))
                assert [r.node.name for r in replies] == [n.name for n in nodes]
                for i, reply in enumerate(replies):
                    if tls and i == 4:
                        assert isinstance(reply.error, AgentUnreachableError)
                        assert "presented a certificate that is not for node-4" in reply.error.message
                        assert reply.error.agent == "node-4"
                    else:
                        assert reply.ok, reply.error
                        assert reply.value.hostname == f"node-{i}"
                # parsing stays in this process: a non-JSON answer is the agent's error, whoever fetched it
                bad = await client.fan_out(nodes[:3], lambda n: api.interfaces(client, n))
                assert all(isinstance(r.error, AgentRequestError) and "non-JSON" in r.error.message for r in bad)
                # a 429 with a short Retry-After is retried by this process, through the node's worker
                assert [r.value for r in await client.fan_out(nodes[:3], lambda n: api.namespaces(client, n))] == [
                    [],
                    [],
                    [],
                ]
            for pid in pids:  # reaped when the client closed
                with pytest.raises(ChildProcessError):
                    os.waitpid(pid, os.WNOHANG)
        finally:
            await fleet.close()

    asyncio.run(go())


def test_a_dead_worker_fails_only_its_agents(tmp_path):
    async def go():
        fleet = Fleet(tmp_path, await agent_info(tmp_path), tls=False)
        try:
            nodes = [await fleet.serve(f"node-{i}") for i in range(4)]
            async with AgentClient(fleet.config(nodes), token=TOKEN, processes=2) as client:
                assert client._workers.owner(NodeConfig(name="elsewhere", host="x", port=1)) is None
                pid = client._workers._pids[1]
                assert all(r.ok for r in await client.fan_out(nodes, lambda n: api.info(client, n)))
                os.kill(pid, signal.SIGKILL)
                for _ in range(200):
                    if 1 in client._workers._ended:
                        break
                    await asyncio.sleep(0.01)
                replies = await client.fan_out(nodes, lambda n: api.info(client, n))
                assert [r.ok for r in replies] == [False, True, False, True]
                err = replies[2].error
                assert isinstance(err, AgentUnreachableError) and err.agent == "node-2"
                assert f"worker process {pid}" in err.message and "client_processes = 1" in (err.hint or "")
        finally:
            await fleet.close()

    asyncio.run(go())


def test_process_count_auto_and_configured():
    def config(n: int, processes: int = 0) -> ControllerConfig:
        nodes = {f"n{i}": NodeConfig(name=f"n{i}", host="192.0.2.1", port=9698) for i in range(n)}
        return ControllerConfig(nodes=nodes, networks={}, token_file="/x", client_processes=processes)

    assert process_count(config(AUTO_FROM_NODES - 1)) == 1
    assert process_count(config(AUTO_FROM_NODES)) == min(os.cpu_count() or 1, 8)
    assert process_count(config(AUTO_FROM_NODES), custom_transport=True) == 1  # an injected transport stays here
    assert process_count(config(10, processes=1)) == 1
    assert process_count(config(3, processes=4)) == 3  # never more processes than agents
