"""Peer sets of `steth watch apply` at fleet scale: the ring steth uses versus rendezvous hashing.

For each scheme: time to compute, probes per node (out) and probers per node (in), and the
assignments that move when one node joins or leaves; then the metric series bound.

- ring (steth.controller.watch.peers): each node probes its K successors on a hashed ring.
- rendezvous (highest random weight, as Goldpinger does): each node probes the K peers of highest
  weight(src, dst); weights are a multiply-xor mix of the names' 64-bit BLAKE2b digests (cheaper than
  a digest per pair, which is 5x slower still). A repair step then gives every node probed by
  fewer than K the extra probers it lacks: the nodes of highest weight(src, it) not yet probing it
  (their out-degree grows past K). That is O(N^2) weights in pure Python (numpy is not a
  dependency), so it is timed at --rendezvous-nodes and movement measured there.

python benchmarks/watch_peers.py [--nodes 10000] [--peers 10] [--networks 3] [--rendezvous-nodes 1000,2000]
"""

from __future__ import annotations

import argparse
import hashlib
import heapq
import statistics
import time
from collections.abc import Callable

from steth.controller.watch.peers import movement, peer_sets, probers

SERIES_PER_PAIR = 15  # see agent/watch_metrics.py
MASK = (1 << 64) - 1
MIX1, MIX2 = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9  # odd 64-bit constants (golden ratio, splitmix64)


def _digest(name: str) -> int:
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big")


def rendezvous(names: list[str], k: int) -> dict[str, list[str]]:
    """Highest-random-weight peer sets with a repair step: out-degree >= K, in-degree >= K."""
    order = sorted(set(names))
    n = len(order)
    width = min(k, n - 1)
    digests = [_digest(x) for x in order]
    salted = [(d * MIX1) & MASK for d in digests]
    everyone = range(n)
    sets: dict[str, list[str]] = {}
    indegree = [0] * n
    for i, src in enumerate(order):
        a = salted[i]
        weights = [((a ^ d) * MIX2) & MASK for d in digests]
        weights[i] = -1
        chosen = heapq.nlargest(width, everyone, key=weights.__getitem__)
        sets[src] = [order[j] for j in chosen]
        for j in chosen:
            indegree[j] += 1
    # repair: a node probed by fewer than K takes the missing probers by highest weight(src, it)
    into = probers(sets)
    for j, dst in enumerate(order):
        missing = width - indegree[j]
        if missing <= 0:
            continue
        d = digests[j]
        have = set(into[dst]) | {dst}
        weights = [((s ^ d) * MIX2) & MASK for s in salted]
        extra = heapq.nlargest(missing + len(have), everyone, key=weights.__getitem__)
        for i in [i for i in extra if order[i] not in have][:missing]:
            sets[order[i]].append(dst)
    return sets


def report(label: str, scheme: Callable[[list[str], int], dict[str, list[str]]], names: list[str], k: int) -> None:
    runs = 5 if scheme is peer_sets else 1
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        sets = scheme(names, k)
        times.append(time.perf_counter() - start)
    outs = [len(p) for p in sets.values()]
    ins = [len(p) for p in probers(sets).values()]
    total = sum(outs)
    print(
        f"{label:<10} N {len(names):>6}: computed in {statistics.median(times) * 1000:8.0f} ms; "
        f"out min {min(outs)} max {max(outs)}; in min {min(ins)} max {max(ins)}; {total} assignments"
    )
    joined = scheme([*names, "compute-new"], k)
    removed, added = movement(sets, joined)
    changed = sum(1 for n in sets if sets[n] != joined[n])
    print(
        f"{'':<10} one node joins: {removed} assignments removed, {added} added "
        f"({(removed + added) / total * 100:.3f} % of them); existing nodes whose peer set changed: {changed}"
    )
    removed, added = movement(sets, scheme(names[1:], k))
    print(f"{'':<10} one node leaves: {removed} assignments removed, {added} added")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--peers", type=int, default=10)
    parser.add_argument("--networks", type=int, default=3)
    parser.add_argument("--rendezvous-nodes", default="1000,2000", help="sizes to time rendezvous at (O(N^2))")
    args = parser.parse_args()
    names = [f"compute-{i:05d}" for i in range(args.nodes)]
    print(f"K {args.peers}; target: peer sets for 10 000 nodes in < 1000 ms, every node probed by >= K")
    report("ring", peer_sets, names, args.peers)
    for size in (int(s) for s in args.rendezvous_nodes.split(",") if s):
        report("rendezvous", rendezvous, names[:size], args.peers)
    k = min(args.peers, args.nodes - 1)
    print(
        f"metric series (ring): {SERIES_PER_PAIR} x K x N x networks = {SERIES_PER_PAIR} x {k} x {args.nodes} x "
        f"{args.networks} = {SERIES_PER_PAIR * k * args.nodes * args.networks:,} "
        f"(full mesh would be {SERIES_PER_PAIR * (args.nodes - 1) * args.nodes * args.networks:,})"
    )


if __name__ == "__main__":
    main()
