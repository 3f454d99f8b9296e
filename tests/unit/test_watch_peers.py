"""Peer sets of the continuous watch: exact coverage, full mesh, and minimal movement."""

from __future__ import annotations

import random

import pytest

from steth.controller.watch.peers import edges, movement, peer_sets, probers, ring


def names(n: int, prefix: str = "compute-") -> list[str]:
    return [f"{prefix}{i}" for i in range(n)]


@pytest.mark.parametrize(("n", "k"), [(2, 10), (11, 10), (12, 10), (57, 10), (500, 10), (300, 3), (40, 1)])
def test_every_node_probes_and_is_probed_by_exactly_min_k_n_minus_1(n, k):
    sets = peer_sets(names(n), k)
    want = min(k, n - 1)
    assert set(sets) == set(names(n))
    for src, peers in sets.items():
        assert len(peers) == len(set(peers)) == want
        assert src not in peers
    assert all(len(p) == want for p in probers(sets).values())


@pytest.mark.parametrize("n", [2, 5, 11])
def test_k_at_least_n_minus_1_is_the_full_mesh(n):
    sets = peer_sets(names(n), n - 1)
    full = {(a, b) for a in names(n) for b in names(n) if a != b}
    assert edges(sets) == full
    assert edges(peer_sets(names(n), 1000)) == full


def test_one_node_has_no_peers():
    assert peer_sets(["alone"], 10) == {"alone": []}


def test_the_inventory_order_does_not_matter():
    order = names(200)
    shuffled = order[:]
    random.Random(7).shuffle(shuffled)
    assert peer_sets(order, 10) == peer_sets(shuffled, 10)
    assert ring(order) == ring(shuffled)


@pytest.mark.parametrize("k", [1, 3, 10])
def test_a_joining_node_moves_exactly_3k_assignments(k):
    before = peer_sets(names(300), k)
    after = peer_sets([*names(300), "newcomer"], k)
    removed, added = movement(before, after)
    # k peers for the newcomer, k probers of it, each of which gives up one old peer
    assert (removed, added) == (k, 2 * k)
    assert len(after["newcomer"]) == k and len(probers(after)["newcomer"]) == k
    changed = {src for src in before if before[src] != after[src]}
    assert len(changed) == k  # only the newcomer's k predecessors change anything


def test_a_leaving_node_is_the_mirror_image():
    before = peer_sets(names(300), 10)
    after = peer_sets([n for n in names(300) if n != "compute-17"], 10)
    assert movement(before, after) == (20, 10)


def test_k_must_be_positive():
    with pytest.raises(ValueError, match="at least 1"):
        peer_sets(names(3), 0)
