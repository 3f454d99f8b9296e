"""Rounds of bandwidth tests in which no node takes part in two tests at once.

A full mesh uses the circle method of round-robin tournaments: N-1 rounds of N/2 pairs for
even N, N rounds for odd N (one node sits out each round). Explicit pairs are packed greedily
into rounds with the same rule; a star needs one round per spoke.
"""

from __future__ import annotations

from ...errors import UsageError

Pair = tuple[str, str]  # (client node, server node)


def round_robin(nodes: list[str]) -> list[list[Pair]]:
    """Every unordered pair of ``nodes`` exactly once, in rounds where no node appears twice.

    Circle method: the first node stays, the others rotate one place per round.
    Even N: N-1 rounds of N/2 pairs; odd N: a bye is added, N rounds of (N-1)/2.
    Which end is the client alternates, so each node sends about as often as it receives.
    """
    if len(set(nodes)) != len(nodes):
        raise UsageError("a node is named twice", f"nodes: {', '.join(nodes)}")
    ring: list[str | None] = list(nodes)
    if len(ring) < 2:
        return []
    if len(ring) % 2:
        ring.append(None)  # the bye
    n = len(ring)
    rounds: list[list[Pair]] = []
    for r in range(n - 1):
        pairs: list[Pair] = []
        for i in range(n // 2):
            a, b = ring[i], ring[n - 1 - i]
            if a is None or b is None:
                continue
            if i == 0 and r % 2:  # the fixed node alternates; the rotating ones balance out
                a, b = b, a
            pairs.append((a, b))
        rounds.append(pairs)
        ring = [ring[0], ring[-1], *ring[1:-1]]  # rotate all but the first
    return rounds


def pack_pairs(pairs: list[Pair]) -> list[list[Pair]]:
    """Explicit pairs in rounds where no node appears twice (first fit, order kept within a round)."""
    rounds: list[list[Pair]] = []
    busy: list[set[str]] = []
    seen: set[Pair] = set()
    for a, b in pairs:
        if a == b:
            raise UsageError(f"pair {a}:{b} names the same node twice")
        if (a, b) in seen:
            continue
        seen.add((a, b))
        for i, used in enumerate(busy):
            if a not in used and b not in used:
                rounds[i].append((a, b))
                used.update((a, b))
                break
        else:
            rounds.append([(a, b)])
            busy.append({a, b})
    return rounds


def star(center: str, others: list[str]) -> list[list[Pair]]:
    """``center`` against each other node, one test per round (every test involves the center)."""
    return [[(center, o)] for o in others if o != center]


def parse_pairs(text: str) -> list[Pair]:
    pairs = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        a, sep, b = item.partition(":")
        if not sep or not a.strip() or not b.strip():
            raise UsageError(
                f"pair {item!r} must be SOURCE:DESTINATION", "e.g. --pairs compute-1:compute-2,network:compute-1"
            )
        pairs.append((a.strip(), b.strip()))
    if not pairs:
        raise UsageError("--pairs names no pair", "e.g. --pairs compute-1:compute-2")
    return pairs
