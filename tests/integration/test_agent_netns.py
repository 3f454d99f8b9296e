"""/v1/netns: the agent (in its own namespace) lists the host's named namespaces with their links."""

from __future__ import annotations

import os
import threading
import time

import pytest

from .conftest import ip, netns_names, remove_netns, skip_unless_root

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


def test_only_the_namespaces_named_are_read(agent, net):
    r = agent.get(f"/v1/netns?name={net.peer_ns}&name={net.ns}-absent")
    assert r.status == 200, r.body
    assert [n["name"] for n in r.body] == [net.peer_ns]  # an absent one is not listed
    assert {i["name"] for i in r.body[0]["interfaces"]} == {"lo", "eth0"}
    assert agent.get("/v1/netns?name=a%20b").status == 422  # not a namespace name


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
        remove_netns(extra)
    assert extra not in netns_names()
    assert extra not in listed(agent)


def test_reading_a_namespace_never_creates_it(net):
    """The host layer the agent uses must not create a namespace it is asked to read (pyroute2's
    IPRoute(netns=...) does by default): a missing one is an error, and stays missing."""
    from steth.errors import HostError
    from steth.host import netlink

    gone = f"{net.ns}-gone"
    try:
        with pytest.raises(HostError) as exc:
            netlink.list_interfaces(gone)
        assert gone in str(exc.value)
        assert gone not in netns_names()
        assert not os.path.exists(f"/run/netns/{gone}")
    finally:
        if os.path.exists(f"/run/netns/{gone}"):
            remove_netns(gone)


def test_namespaces_vanishing_during_a_listing_are_not_recreated(agent, net):
    """Namespaces deleted while the agent lists them are skipped or reported, never brought back
    (the agent runs in its own mount namespace: a re-created one would be a broken /run/netns entry)."""
    names = [f"{net.ns}-r{i}" for i in range(12)]
    stop = threading.Event()
    answers = []

    def keep_listing():
        while not stop.is_set():
            answers.append(agent.get("/v1/netns").status)

    lister = threading.Thread(target=keep_listing)
    try:
        for name in names:
            ip("netns", "add", name)
        lister.start()
        for name in names:
            time.sleep(0.02)
            ip("netns", "del", name)
    finally:
        stop.set()
        if lister.is_alive():
            lister.join(timeout=60)
        left = [n for n in names if os.path.exists(f"/run/netns/{n}")]
        for name in left:
            remove_netns(name)
    assert answers and set(answers) == {200}, answers
    assert not left, f"namespaces re-created by the agent: {left}"
