"""Bring-up time and memory of the ML2/OVN lab (`steth lab up --neutron --backend ovn`), the time of
`steth ovn status` and `steth ovn sync-check` on it, and teardown time.

Builds a lab with N compute nodes (default 2) under a temporary STETH_LAB_ROOT and prints the wall time
of `lab up` (and of its ML2/OVN part), the PSS of every process naming the lab directory, the rise of
the host's used memory, the wall time of each OVN command, and of `lab down`.

Usage (root, after scripts/setup.sh): .venv/bin/python benchmarks/ovn_lab.py [--computes 2] [--name obench]
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lab_bench import lab_up, timed  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--computes", type=int, default=2)
    ap.add_argument("--name", default="obench")
    args = ap.parse_args()
    with lab_up(args.name, args.computes, "--neutron", "--backend", "ovn") as lab:
        print(
            f"lab up --neutron --backend ovn, {args.computes} computes: {lab.up_seconds:.1f} s "
            f"(ML2/OVN part {lab.state['extra']['neutron'].get('up_seconds')} s; target < 60 s for the whole `up`)"
        )
        phases = lab.state["extra"]["neutron"].get("ovn", {}).get("phases", [])
        for (t, what), (t_next, _) in zip(phases, phases[1:]):
            print(f"  ML2/OVN phase at {t:5.1f} s, {t_next - t:5.1f} s: {what}")
        lab.print_memory()
        for argv in (["ovn", "status"], ["ovn", "status", "--no-neutron"], ["ovn", "sync-check"]):
            t, done = timed([*argv, "-f", "json"], lab.env)
            summary = (done.stderr.strip().splitlines() or [""])[-1]
            print(f"steth {' '.join(argv)}: {t:.2f} s, exit {done.returncode}: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
