"""Agent routes in-process (fake host, real HTTP on a unix socket): auth, validation, error mapping,
leases, and the controller's client against the agent in one process. No root needed."""

from __future__ import annotations

import asyncio
import logging
import os
import time

import pytest

from steth.agent.app import create_app
from steth.controller import api
from steth.errors import AgentAuthError, AgentRequestError
from steth.wire.models import PingRequest
from steth.wire.vlan import LinkSetupRequest, LinkTeardownRequest, VlanInterfaceRequest

from .harness import NODE, running_agent


def run(coro):
    return asyncio.run(coro)


def v1_routes(app) -> list[tuple[str, str]]:
    """(method, path with placeholders filled) of every /v1 route but health."""
    found = []
    for route in app.routes:
        path = getattr(route, "path", "")
        if path.startswith("/v1/") and path != "/v1/health":
            filled = path.replace("{name}", "eth0").replace("{capture_id}", "0123456789abcdef")
            filled = filled.replace("{lease_id}", "abc123")
            found += [(m, filled) for m in sorted(route.methods)]
    return found


def test_every_v1_route_but_health_needs_a_token(tmp_path):
    async def go():
        async with running_agent(tmp_path) as agent:
            app = create_app(agent.ctx)
            app.state.routes.load()  # every group (the agent builds them when first used)
            routes = v1_routes(app)
            assert len(routes) >= 25
            async with agent.session(token=None) as s:
                async with s.get("/v1/health") as r:
                    assert r.status == 200
                for method, path in routes:
                    async with s.request(method, path, json={}) as r:
                        assert r.status == 401, (method, path, r.status)
                        assert (await r.json()) == {"detail": "missing token"}
                        assert r.headers["WWW-Authenticate"] == "Bearer"
            async with agent.session(token="w" * 32) as s:
                for method, path in routes:
                    async with s.request(method, path, json={}) as r:
                        assert r.status == 401 and (await r.json())["detail"] == "wrong token", (method, path)

    run(go())


async def _raw(agent, head: bytes, body: bytes = b"", read_timeout: float = 5.0) -> tuple[int, bytes]:
    """Send ``head`` (and ``body``) on a fresh connection; (status, whole answer)."""
    reader, writer = await asyncio.open_unix_connection(agent.socket)
    try:
        writer.write(head + body)
        await writer.drain()
        data = await asyncio.wait_for(reader.read(65536), read_timeout)
        return int(data.split(b" ", 2)[1]), data
    finally:
        writer.close()


def test_401_is_answered_before_the_body_is_read(tmp_path):
    """Found by attack: a 100 MB body without token was read in full (RSS 80 -> 283 MB), then 422."""

    async def go():
        async with running_agent(tmp_path) as agent:
            head = b"POST /v1/ping HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
            head += b"Content-Length: 100000000\r\n\r\n"
            status, data = await _raw(agent, head)  # not one byte of the announced body is sent
            assert status == 401 and b"missing token" in data

    run(go())


def test_body_above_the_cap_is_413(tmp_path):
    async def go():
        async with running_agent(tmp_path, max_body_bytes=4096) as agent:
            token = agent.token.encode()
            head = b"POST /v1/ping HTTP/1.1\r\nHost: a\r\nX-Steth-Token: " + token + b"\r\n"
            head += b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
            status, data = await _raw(agent, head)  # refused from Content-Length alone
            assert status == 413 and b"4096" in data
            # chunked: refused once the body grows past the cap
            head = b"POST /v1/ping HTTP/1.1\r\nHost: a\r\nX-Steth-Token: " + token + b"\r\n"
            head += b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            chunk = b" " * 3000
            body = (b"%x\r\n" % len(chunk) + chunk + b"\r\n") * 3 + b"0\r\n\r\n"
            status, data = await _raw(agent, head, body)
            assert status == 413 and b"4096" in data
            async with agent.session() as s:  # a body under the cap is served
                async with s.post("/v1/ping", json={"targets": ["192.0.2.1"], "count": 1}) as r:
                    assert r.status == 200

    run(go())


def test_requests_of_one_kind_above_the_limit_are_429(tmp_path):
    async def go():
        async with running_agent(tmp_path, probe_max_concurrent=1) as agent:
            gate, inside = asyncio.Event(), asyncio.Event()
            real = agent.ctx.backend.ping.ping_many

            async def slow(req):
                inside.set()
                await gate.wait()
                return await real(req)

            agent.ctx.backend.ping.ping_many = slow
            async with agent.session() as s:
                first = asyncio.create_task(s.post("/v1/ping", json={"targets": ["192.0.2.1"], "count": 1}))
                await asyncio.wait_for(inside.wait(), 10)  # the first request holds the only ping slot
                async with s.post("/v1/ping", json={"targets": ["192.0.2.2"], "count": 1}) as r:
                    assert r.status == 429 and "--probe-max-concurrent" in (await r.json())["detail"]
                async with s.get("/v1/interfaces") as r:  # another kind is not held up
                    assert r.status == 200
                gate.set()
                async with await first as r:
                    assert r.status == 200
                async with s.post("/v1/ping", json={"targets": ["192.0.2.2"], "count": 1}) as r:
                    assert r.status == 200  # the slot is free again

    run(go())


def test_hand_made_422s_have_the_documented_shape(tmp_path):
    async def go():
        async with running_agent(tmp_path) as agent:
            async with agent.session() as s:
                cases = [
                    ("GET", "/v1/interfaces/" + "x" * 20, None, ["path", "name"]),
                    ("GET", "/v1/ovs/show?bridge=br-int%0A", None, ["query", "bridge"]),  # no trailing-newline bypass
                    ("GET", "/v1/netns/qdhcp-1%0A/iptables", None, ["path", "name"]),
                    ("GET", "/v1/netns/qdhcp-1/iptables?table=nope", None, ["query", "table"]),
                    ("DELETE", "/v1/iperf/servers/not-alnum!", None, ["path", "lease_id"]),
                    ("POST", "/v1/vlan/listen/zz/collect", {}, ["path", "capture_id"]),
                    ("POST", "/v1/ping", {"targets": ["x"]}, ["body", "targets", 0]),
                ]
                for method, path, body, loc in cases:
                    async with s.request(method, path, json=body) as r:
                        got = await r.json()
                        assert r.status == 422, (path, got)
                        assert isinstance(got["detail"], list) and got["detail"][0]["loc"] == loc, (path, got)
                        assert got["detail"][0]["msg"] and got["detail"][0]["type"], got

    run(go())


@pytest.mark.parametrize("cidr", ["224.0.0.1/4", "255.255.255.255/32", "127.0.0.2/8", "0.0.0.0/0", "::/0", "ff02::1/64",
                                  "192.0.2.255/24", "240.0.0.1/4"])  # fmt: skip
def test_setup_link_refuses_addresses_no_interface_should_get(tmp_path, cidr):
    async def go():
        async with running_agent(tmp_path) as agent:
            async with agent.session() as s:
                async with s.post("/v1/links/setup", json={"interface": "eth0", "cidr": cidr}) as r:
                    got = await r.json()
                    assert r.status == 422 and got["detail"][0]["loc"] == ["body", "cidr"], got
            assert agent.host.calls == [] and agent.ctx.leases.all() == []

    run(go())


def test_a_missing_interface_is_404_on_every_route(tmp_path):
    async def go():
        async with running_agent(tmp_path) as agent:
            async with agent.session() as s:
                for method, path, body in [
                    ("GET", "/v1/interfaces/nosuch0", None),
                    ("POST", "/v1/ping", {"targets": ["192.0.2.1"], "interface": "nosuch0"}),
                    ("POST", "/v1/links/setup", {"interface": "nosuch0", "cidr": "192.0.2.5/24"}),
                    ("POST", "/v1/vlan/send", {"interface": "nosuch0", "run_id": "ab", "sender": "x", "vlans": [1]}),
                ]:
                    async with s.request(method, path, json=body) as r:
                        got = await r.json()
                        assert r.status == 404 and "nosuch0" in got["detail"], (path, got)
                async with s.post("/v1/ping", json={"targets": ["192.0.2.1"], "netns": "qrouter-none"}) as r:
                    assert r.status == 404 and "qrouter-none" in (await r.json())["detail"]

    run(go())


def test_docs_are_off_by_default(tmp_path):
    async def go():
        async with running_agent(tmp_path) as agent:
            async with agent.session(token=None) as s:
                for path in ("/docs", "/redoc"):
                    async with s.get(path) as r:
                        assert r.status == 404
                async with s.get("/openapi.json") as r:
                    assert r.status == 200
        async with running_agent(tmp_path, enable_docs=True) as agent:
            async with agent.session(token=None) as s:
                async with s.get("/docs") as r:
                    assert r.status == 200

    run(go())


def test_linuxbridge_show_through_the_controllers_client(tmp_path):
    async def go():
        async with running_agent(tmp_path) as agent, agent.client() as c:
            shown = await api.linuxbridge_show(c, NODE)
            assert shown == agent.host.linuxbridge
            assert shown.flood_vteps("vxlan-1001") == ["192.0.2.11"] and shown.ports_of("brqnet") == ["vxlan-1001"]

    run(go())


def test_link_changes_are_leased_audited_and_undone(tmp_path, caplog):
    """Controller and agent in one process: setup-link through the controller's client, its lease,
    the audit line, teardown undoing it, and the errors mapped on the controller's side."""

    async def go():
        async with running_agent(tmp_path) as agent, agent.client() as c:
            with caplog.at_level(logging.INFO, logger="steth.agent.audit"):
                change = await api.link_setup(c, NODE, LinkSetupRequest(interface="eth0", cidr="198.51.100.7/24"))
            lease = agent.ctx.leases.get(change.lease_id)
            assert lease is not None and lease.subject == "eth0"
            marker = os.path.join(agent.ctx.settings.state_dir, f"link-{change.lease_id}")
            assert os.path.exists(marker)
            audit = [r.getMessage() for r in caplog.records if r.name == "steth.agent.audit"]
            assert len(audit) == 1 and "POST /v1/links/setup" in audit[0] and "result=200" in audit[0]
            assert "who=token:" in audit[0]
            # errors, as the controller sees them
            with pytest.raises(AgentRequestError) as exc:
                await api.link_setup(c, NODE, LinkSetupRequest(interface="nosuch0", cidr="198.51.100.8/24"))
            assert exc.value.status == 404 and "nosuch0" in str(exc.value)
            agent.host.interfaces["eth0"].addresses[0].address = "198.51.100.9"
            with pytest.raises(AgentRequestError) as exc:
                await api.link_setup(c, NODE, LinkSetupRequest(interface="eth0", cidr="198.51.100.9/24"))
            assert exc.value.status == 409
            with pytest.raises(AgentRequestError) as exc:
                await api.link_add_vlan(c, NODE, VlanInterfaceRequest(interface="eth0", vlan_id=100))
            assert exc.value.status == 501 and "8021q" in str(exc.value)
            # teardown undoes the change (the lease's undo step removes the marker)
            await api.link_teardown(c, NODE, LinkTeardownRequest(interface="eth0"))
            assert not os.path.exists(marker) and agent.ctx.leases.all() == []
            # a short lease is undone by the agent itself
            short = await api.link_setup(c, NODE, LinkSetupRequest(interface="eth0", cidr="203.0.113.7/24", lease=1))
            marker = os.path.join(agent.ctx.settings.state_dir, f"link-{short.lease_id}")
            deadline = time.monotonic() + 10
            while os.path.exists(marker) and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            assert not os.path.exists(marker) and agent.ctx.leases.get(short.lease_id) is None

    run(go())


def test_controller_client_reads_what_the_agent_answers(tmp_path):
    async def go():
        async with running_agent(tmp_path) as agent:
            async with agent.client() as c:
                info = await api.info(c, NODE)
                assert {i.name for i in info.interfaces} == {"lo", "eth0"} and info.capabilities.iperf3
                assert [i.name for i in await api.interfaces(c, NODE)] == ["lo", "eth0"]
                assert (await api.interface(c, NODE, "eth0")).addresses[0].address == "192.0.2.10"
                pong = await api.ping(c, NODE, PingRequest(targets=["192.0.2.1", "192.0.2.2"], count=2))
                assert [p.target for p in pong.results] == ["192.0.2.1", "192.0.2.2"]
                with pytest.raises(AgentRequestError) as exc:  # a 422 list rendered as "field: message"
                    await c.request(NODE, "POST", "/v1/links/setup", body=None)
                assert exc.value.status == 422
                with pytest.raises(AgentRequestError) as exc:
                    await c.request(NODE, "GET", "/v1/ovs/show?bridge=bad%20name")
                assert "bridge: " in str(exc.value) and "[{" not in str(exc.value)
            async with agent.client(token="w" * 32) as c:
                with pytest.raises(AgentAuthError) as auth:
                    await api.info(c, NODE)
                assert "wrong token" in str(auth.value)

    run(go())


def test_route_groups_load_when_first_used(tmp_path):
    """Each /v1 group is imported and built by the first request under its path; /openapi.json loads all."""
    import sys

    from steth.agent.routes import MODULES

    async def go():
        async with running_agent(tmp_path) as agent:
            groups = agent.app.state.routes
            assert groups.loaded == set()  # nothing built at start
            async with agent.session() as s:
                async with s.get("/v1/netns") as r:  # served by the interfaces group
                    assert r.status == 200 and [n["name"] for n in await r.json()] == ["qdhcp-1"]
                assert groups.loaded == {"interfaces", "netns"}
                async with s.get("/v1/nosuch") as r:
                    assert r.status == 404
                async with s.get("/openapi.json") as r:
                    paths = (await r.json())["paths"]
                assert {"/v1/ping", "/v1/captures", "/v1/iperf/servers", "/v1/netns/{name}/iptables"} <= set(paths)
                assert groups.loaded == set(MODULES)
                async with s.post("/v1/ping", json={"targets": ["192.0.2.1"], "count": 1}) as r:
                    assert r.status == 200
        assert all(f"steth.agent.routes.{m}" in sys.modules for m in MODULES)

    run(go())


def test_iptables_tables_of_the_route_are_those_of_the_probe():
    from typing import get_args

    from steth.agent.routes.netns import Table
    from steth.probes.netns_probes import TABLES

    assert get_args(Table) == TABLES


def test_a_wrong_method_lists_every_method_of_the_path(tmp_path):
    async def go():
        async with running_agent(tmp_path) as agent:
            async with agent.session() as s:
                async with s.request("OPTIONS", "/v1/captures") as r:
                    assert r.status == 405 and r.headers["Allow"] == "GET, POST"
                async with s.request("PUT", "/v1/iperf/servers") as r:
                    assert r.status == 405 and r.headers["Allow"] == "GET, POST"

    run(go())


def test_an_unexpected_error_is_a_json_500_the_controller_shows(tmp_path):
    # found in CI: a route's unexpected exception came back as Starlette's plain "Internal Server Error",
    # which the controller could only call "a non-JSON answer"; now its type and message reach the row
    async def go():
        async with running_agent(tmp_path) as agent, agent.client() as c:

            def broken(netns=None):
                raise RuntimeError("netlink dump interrupted")

            agent.ctx.backend.netlink.list_interfaces = broken
            with pytest.raises(AgentRequestError) as err:
                await api.interfaces(c, NODE)
            assert err.value.status == 500
            assert "RuntimeError: netlink dump interrupted" in err.value.message

    run(go())
