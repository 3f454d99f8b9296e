"""Who probes whom: every node probes K peers and is probed by exactly K.

Nodes sit on a ring at the position given by a hash of their name (consistent
hashing); each node probes the K nodes that follow it. Hence:

- coverage by construction: out-degree and in-degree are both exactly
  min(K, N-1), so every node has K independent witnesses;
- K >= N-1 is the full mesh;
- one node joining touches only what it must: its own K peers, and the K
  nodes before it, which each swap their K-th successor for it (3K directed
  assignments; an exact in-degree of K for the newcomer forces at least that).
  One node leaving is the mirror image.

Why not rendezvous hashing (each node takes the K peers of highest weight(src, dst), as
Goldpinger does), measured by benchmarks/watch_peers.py on this 2-core machine with K = 10:

- it needs a weight for every pair: O(N^2). In pure Python (numpy is not a dependency) that
  is 1.6 s for 1000 nodes and grows with N^2, about 160 s for 10 000 (target: under 1 s); the
  ring is a sort, 0.08-0.6 s for 10 000 nodes depending on load;
- its in-degree varies like a binomial (before repair, probers per node ranged 0-24 for 4000 nodes), so a repair
  step must give the under-watched nodes extra probers: after it, 1000 nodes have 11 211
  assignments instead of 10 000, out-degree 10-18 and in-degree 10-21 (the ring: exactly 10
  and 10), and more series in Prometheus;
- movement is no better: one node joining moves 39 assignments (14 out, 25 in) and changes 20
  existing peer sets with rendezvous + repair, 30 (10 out, 20 in) and 10 with the ring.

So the ring keeps both guarantees exact, cheaply.
Positions are 64-bit BLAKE2b digests of the name, so the ring is the same on
every controller and every run, whatever the order of the inventory.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

DEFAULT_PEERS = 10


def position(name: str) -> int:
    """The node's place on the ring (64 bits of BLAKE2b of its name)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big")


def ring(names: Iterable[str]) -> list[str]:
    """Node names in ring order; a tie of positions (2^-64) is broken by the name."""
    unique = set(names)
    return sorted(unique, key=lambda n: (position(n), n))


def peer_sets(names: Iterable[str], k: int = DEFAULT_PEERS) -> dict[str, list[str]]:
    """node -> the peers it probes (its next min(k, N-1) successors on the ring)."""
    if k < 1:
        raise ValueError(f"peers per node must be at least 1, not {k}")
    order = ring(names)
    n = len(order)
    width = min(k, n - 1)
    return {node: [order[(i + j) % n] for j in range(1, width + 1)] for i, node in enumerate(order)}


def probers(sets: dict[str, list[str]]) -> dict[str, list[str]]:
    """node -> the nodes that probe it (the reverse of peer_sets)."""
    result: dict[str, list[str]] = {node: [] for node in sets}
    for src, peers in sets.items():
        for dst in peers:
            result.setdefault(dst, []).append(src)
    return result


def edges(sets: dict[str, list[str]]) -> set[tuple[str, str]]:
    """Every directed (source, destination) assignment."""
    return {(src, dst) for src, peers in sets.items() for dst in peers}


def movement(before: dict[str, list[str]], after: dict[str, list[str]]) -> tuple[int, int]:
    """(assignments removed, assignments added) between two peer-set maps."""
    old, new = edges(before), edges(after)
    return len(old - new), len(new - old)
