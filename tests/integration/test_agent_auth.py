"""Token auth of a real agent: /v1/health is open, every other /v1 route needs the token."""

from __future__ import annotations

import re

import pytest

from .conftest import NO_TOKEN, skip_unless_root

skip_unless_root()
pytestmark = pytest.mark.root


def protected_routes(net):
    """(method, path, valid body) of every token-protected route."""
    return [
        ("GET", "/v1/info", None),
        ("GET", "/v1/interfaces", None),
        ("GET", f"/v1/interfaces/{net.agent_if}", None),
        ("GET", "/v1/netns", None),
        ("POST", "/v1/ping", {"targets": [net.peer_ip], "count": 1}),
        ("POST", "/v1/ovs/check-ports", {"bridge": "br-int", "ports": ["p1"]}),
    ]


def test_health_needs_no_token(agent):
    import steth

    r = agent.get("/v1/health", token=NO_TOKEN)
    assert r.status == 200
    assert r.body == {"status": "ok", "version": steth.__version__}


@pytest.mark.parametrize(
    "how", ["missing", "wrong", "wrong-bearer", "basic", "prefix-of-token", "token-plus-suffix", "empty-bearer"]
)
def test_every_other_route_refuses_without_the_right_token(agent, net, how):
    t = agent.token
    headers, token = {}, NO_TOKEN
    if how == "wrong":
        token = "0" * len(t)
    elif how == "wrong-bearer":
        headers = {"Authorization": "Bearer " + "f" * len(t)}
    elif how == "basic":  # right secret, wrong scheme
        headers = {"Authorization": "Basic " + t}
    elif how == "prefix-of-token":
        token = t[:-1]
    elif how == "token-plus-suffix":
        token = t + "0"
    elif how == "empty-bearer":
        headers = {"Authorization": "Bearer "}
    for method, path, body in protected_routes(net):
        r = agent.request(method, path, body, token=token, headers=headers)
        assert r.status == 401, (method, path, r.status, r.body)
        assert r.headers.get("www-authenticate", r.headers.get("WWW-Authenticate")) == "Bearer"
        assert r.detail in ("missing token", "wrong token"), r.detail
        expected = "missing token" if how in ("missing", "basic", "empty-bearer") else "wrong token"
        assert r.detail == expected, (how, r.detail)


def test_auth_is_checked_before_the_body_is_validated(agent):
    """An unauthenticated caller learns nothing about the request format: 401, not 422."""
    r = agent.post("/v1/ping", {"targets": ["not-an-address"], "bogus": 1}, token=NO_TOKEN)
    assert r.status == 401
    r = agent.post("/v1/ovs/check-ports", {"bridge": "br int"}, token="x" * 64)
    assert r.status == 401


@pytest.mark.parametrize("style", ["x-steth-token", "bearer", "bearer-lowercase"])
def test_both_token_headers_are_accepted(agent, net, style):
    if style == "x-steth-token":
        kw = dict(headers={"X-Steth-Token": agent.token})
    elif style == "bearer":
        kw = dict(token=NO_TOKEN, headers={"Authorization": f"Bearer {agent.token}"})
    else:
        kw = dict(token=NO_TOKEN, headers={"authorization": f"bearer {agent.token}"})
    for method, path, body in protected_routes(net):
        r = agent.request(method, path, body, **kw)
        assert r.status == 200, (method, path, r.status, r.body)


def test_every_route_the_agent_publishes_needs_the_token(agent, net):
    """Routes added later are covered too: whatever /openapi.json lists under /v1 (but health) is 401
    without the token, whatever the method and body."""
    spec = agent.get("/openapi.json", token=NO_TOKEN)
    assert spec.status == 200
    checked = set()
    for path, methods in spec.body["paths"].items():
        if not path.startswith("/v1/") or path == "/v1/health":
            continue
        concrete = re.sub(r"\{[a-z_]+\}", "0123456789ab", path.replace("{name}", net.agent_if))
        assert "{" not in concrete, f"add a value for the parameter of {path}"
        for method in methods:
            r = agent.request(
                method.upper(), concrete, {} if method in ("post", "put", "patch") else None, token=NO_TOKEN
            )
            assert r.status == 401, (method, path, r.status, r.body)
            checked.add((method.upper(), path))
    # the routes this suite tests one by one are all published
    assert {(m, p.replace(net.agent_if, "{name}")) for m, p, _ in protected_routes(net)} <= checked
