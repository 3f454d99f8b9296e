"""Peer sets of `steth watch apply` at fleet scale: time, coverage, movement, metric series.

python benchmarks/watch_peers.py [--nodes 10000] [--peers 10] [--networks 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

from steth.controller.watch.peers import movement, peer_sets, probers

SERIES_PER_PAIR = 15  # see agent/watch_metrics.py


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--peers", type=int, default=10)
    parser.add_argument("--networks", type=int, default=3)
    args = parser.parse_args()
    names = [f"compute-{i:05d}" for i in range(args.nodes)]

    times = []
    for _ in range(5):
        start = time.perf_counter()
        sets = peer_sets(names, args.peers)
        times.append(time.perf_counter() - start)
    into = probers(sets)
    outs = [len(p) for p in sets.values()]
    ins = [len(p) for p in into.values()]
    print(f"nodes {args.nodes}, K {args.peers}")
    print(f"peer sets computed in {statistics.median(times) * 1000:.0f} ms (median of 5; target < 1000 ms)")
    print(
        f"probes per node (out): min {min(outs)} max {max(outs)}; probers per node (in): min {min(ins)} max {max(ins)}"
    )

    joined = peer_sets([*names, "compute-new"], args.peers)
    removed, added = movement(sets, joined)
    changed = sum(1 for n in sets if sets[n] != joined[n])
    total = sum(outs)
    print(
        f"one node joins: {removed} assignments removed, {added} added of {total} "
        f"({(removed + added) / total * 100:.3f} %); existing nodes whose peer set changed: {changed}"
    )
    left = peer_sets(names[1:], args.peers)
    removed, added = movement(sets, left)
    print(f"one node leaves: {removed} assignments removed, {added} added")
    k = min(args.peers, args.nodes - 1)
    print(
        f"metric series: {SERIES_PER_PAIR} x K x N x networks = {SERIES_PER_PAIR} x {k} x {args.nodes} x "
        f"{args.networks} = {SERIES_PER_PAIR * k * args.nodes * args.networks:,} "
        f"(full mesh would be {SERIES_PER_PAIR * (args.nodes - 1) * args.nodes * args.networks:,})"
    )


if __name__ == "__main__":
    main()
