"""Round-robin rounds: every pair once, no node twice in a round, N-1 rounds (even N) or N (odd N)."""

import itertools

import pytest

from steth.controller.checks.bandwidth_rounds import pack_pairs, parse_pairs, round_robin, star
from steth.errors import UsageError


def check_rounds(rounds):
    for r in rounds:
        nodes = [n for pair in r for n in pair]
        assert len(nodes) == len(set(nodes)), f"a node is in two tests of one round: {r}"


@pytest.mark.parametrize("n", range(2, 26))
def test_round_robin_every_pair_exactly_once(n):
    nodes = [f"n{i}" for i in range(n)]
    rounds = round_robin(nodes)
    check_rounds(rounds)
    tested = [frozenset(p) for r in rounds for p in r]
    assert len(tested) == len(set(tested)) == n * (n - 1) // 2
    assert set(tested) == {frozenset(p) for p in itertools.combinations(nodes, 2)}
    assert len(rounds) == (n - 1 if n % 2 == 0 else n)
    assert all(len(r) == n // 2 for r in rounds)  # odd N: one node has the bye each round


@pytest.mark.parametrize("n", [3, 5, 7])
def test_odd_each_node_sits_out_exactly_once(n):
    nodes = [f"n{i}" for i in range(n)]
    rounds = round_robin(nodes)
    byes = [set(nodes) - {x for p in r for x in p} for r in rounds]
    assert all(len(b) == 1 for b in byes)
    assert sorted(x for b in byes for x in b) == sorted(nodes)


def test_directions_are_balanced():
    nodes = [f"n{i}" for i in range(8)]
    sends = {n: 0 for n in nodes}
    for r in round_robin(nodes):
        for client, _ in r:
            sends[client] += 1
    assert max(sends.values()) - min(sends.values()) <= 1


def test_four_nodes_three_rounds_of_two():
    rounds = round_robin(["a", "b", "c", "d"])
    assert [len(r) for r in rounds] == [2, 2, 2]


def test_fewer_than_two_nodes_no_rounds():
    assert round_robin([]) == [] and round_robin(["a"]) == []


def test_duplicate_node_refused():
    with pytest.raises(UsageError):
        round_robin(["a", "b", "a"])


def test_pack_pairs_no_node_twice_and_order():
    pairs = [("a", "b"), ("c", "d"), ("a", "c"), ("b", "d"), ("a", "d"), ("b", "c"), ("a", "b")]
    rounds = pack_pairs(pairs)
    check_rounds(rounds)
    assert rounds[0] == [("a", "b"), ("c", "d")]
    flat = [p for r in rounds for p in r]
    assert sorted(flat) == sorted(set(pairs))  # the repeated a:b is tested once


def test_pack_pairs_opposite_directions_are_two_tests():
    rounds = pack_pairs([("a", "b"), ("b", "a")])
    assert rounds == [[("a", "b")], [("b", "a")]]


def test_pack_pairs_same_node_refused():
    with pytest.raises(UsageError):
        pack_pairs([("a", "a")])


def test_star_one_test_per_round():
    assert star("hub", ["hub", "x", "y"]) == [[("hub", "x")], [("hub", "y")]]


def test_parse_pairs():
    assert parse_pairs("a:b, c:d,") == [("a", "b"), ("c", "d")]
    for bad in ("a", "a:", ":b", "", ","):
        with pytest.raises(UsageError):
            parse_pairs(bad)
