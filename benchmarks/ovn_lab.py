"""Bring-up time and memory of the ML2/OVN lab (`steth lab up --neutron --backend ovn`), the time of
`steth ovn status` and `steth ovn sync-check` on it, and teardown time.

Builds a lab with N compute nodes (default 2) under a temporary STETH_LAB_ROOT and prints the wall time
of `lab up` (and of its ML2/OVN part), the PSS of every process naming the lab directory, the rise of
the host's used memory, the wall time of each OVN command, and of `lab down`.

Usage (root, after scripts/setup.sh): .venv/bin/python benchmarks/ovn_lab.py [--computes 2] [--name obench]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from neutron_lab import STETH, lab_pids, pss_kib, used_kib  # noqa: E402


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess]:
    t = time.monotonic()
    done = subprocess.run([STETH, *argv], env=env, capture_output=True, text=True)
    return time.monotonic() - t, done


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--computes", type=int, default=2)
    ap.add_argument("--name", default="obench")
    args = ap.parse_args()
    root = tempfile.mkdtemp(prefix="steth-obench-")
    env = {**os.environ, "STETH_LAB_ROOT": root}
    directory = f"{root}/lab-{args.name}"
    before = used_kib()
    t_up, up = timed(
        ["lab", "up", "--name", args.name, "--computes", str(args.computes), "--neutron", "--backend", "ovn"], env
    )
    try:
        if up.returncode != 0:
            print(up.stdout, up.stderr)
            return 1
        with open(f"{directory}/state.json") as fh:
            state = json.load(fh)
        print(
            f"lab up --neutron --backend ovn, {args.computes} computes: {t_up:.1f} s "
            f"(ML2/OVN part {state['extra']['neutron'].get('up_seconds')} s; target < 60 s for the whole `up`)"
        )
        pids = lab_pids(directory)
        by_name: dict[str, int] = {}
        for pid, name in pids.items():
            by_name[name] = by_name.get(name, 0) + pss_kib(pid)
        print(f"processes naming the lab directory: {len(pids)}, PSS {sum(by_name.values()) / 1024:.0f} MiB")
        for name, kib in sorted(by_name.items(), key=lambda kv: -kv[1]):
            print(f"  {name:32s} {kib / 1024:7.1f} MiB")
        print(f"host used memory rose by {(used_kib() - before) / 1024:.0f} MiB")
        run_env = {
            **env,
            "STETH_CONFIG": f"{directory}/steth.conf",
            "OS_CLIENT_CONFIG_FILE": f"{directory}/clouds.yaml",
            "OS_CLOUD": f"steth-{args.name}",
        }
        for argv in (["ovn", "status"], ["ovn", "status", "--no-neutron"], ["ovn", "sync-check"]):
            t, done = timed([*argv, "-f", "json"], run_env)
            summary = (done.stderr.strip().splitlines() or [""])[-1]
            print(f"steth {' '.join(argv)}: {t:.2f} s, exit {done.returncode}: {summary}")
    finally:
        t, down = timed(["lab", "down", "--name", args.name], env)
        print(f"lab down: {t:.1f} s (exit {down.returncode})")
        left = lab_pids(directory)
        if left:
            print(f"LEFT BEHIND: {left}")
        os.rmdir(root) if os.path.isdir(root) and not os.listdir(root) else None
    return 0


if __name__ == "__main__":
    sys.exit(main())
