"""/v1/netns: the agent (in its own namespace) lists the host's named namespaces with their links."""

from __future__ import annotations

import pytest

from .conftest import ip, netns_names, skip_unless_root

skip_unless_root()
pytestmark = pytest.mark.root


def listed(agent) -> dict[str, dict]:
    r = agent.get("/v1/netns")
    assert r.status == 200, r.body
    names = [n["name"] for n in r.body]
    assert names == sorted(names)
    return {n["name"]: n for n in r.body}


def test_lists_the_test_namespaces_with_their_interfaces(agent, net):
    spaces = listed(agent)
    assert {net.ns, net.peer_ns} <= set(spaces)
    mine = {i["name"]: i for i in spaces[net.ns]["interfaces"]}
    assert set(mine) == {"lo", net.agent_if, net.peer_if}
    assert net.agent_ip in [a["address"] for a in mine[net.agent_if]["addresses"]]
    peer = {i["name"]: i for i in spaces[net.peer_ns]["interfaces"]}
    assert set(peer) == {"lo", "eth0"}
    assert net.peer_ip in [a["address"] for a in peer["eth0"]["addresses"]]
    assert spaces[net.ns]["error"] is None


def test_a_new_namespace_appears_with_its_links_and_goes_away(agent, net):
    extra = f"{net.ns}-x"
    assert extra not in netns_names()
    try:
        ip("netns", "add", extra)
        ip("link", "add", "xv0", "type", "veth", "peer", "name", "xv1", ns=extra)
        ip("link", "add", "xbr0", "type", "bridge", ns=extra)
        ip("link", "set", "xv0", "master", "xbr0", ns=extra)
        ip("link", "set", "xv0", "mtu", "1450", ns=extra)
        spaces = listed(agent)
        assert extra in spaces
        links = {i["name"]: i for i in spaces[extra]["interfaces"]}
        assert set(links) == {"lo", "xv0", "xv1", "xbr0"}
        assert links["xv0"]["kind"] == links["xv1"]["kind"] == "veth"
        assert links["xbr0"]["kind"] == "bridge"
        assert links["xv0"]["master"] == "xbr0" and links["xv1"]["master"] is None
        assert links["xv0"]["mtu"] == 1450
        assert not links["xv1"]["admin_up"] and links["xv1"]["state"] == "down"
        # the namespace's links are not mixed into the agent's own
        own = {i["name"] for i in agent.get("/v1/interfaces").body}
        assert not own & {"xv0", "xv1", "xbr0"}
    finally:
        ip("netns", "del", extra, check=False)
    assert extra not in netns_names()
    assert extra not in listed(agent)
