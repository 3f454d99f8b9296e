"""Wall time of `steth agent list` against a lab of 50 and of 200 agents.

Builds a lab (name "bench") per size, runs `steth agent list` several times as a
user would (a new process each time), prints min/median/max, and removes the
lab. Targets (issue 2): 50 agents under 1 s, 200 agents under 3 s.

Usage (root): .venv/bin/python benchmarks/agent_list.py [--sizes 50,200] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

BIN = os.path.dirname(sys.executable)


def steth(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [os.path.join(BIN, "steth"), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        stdin=subprocess.DEVNULL,
        timeout=600,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50,200")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="steth-bench-")
    env = {"STETH_LAB_ROOT": root}
    for size in (int(s) for s in args.sizes.split(",")):
        t0 = time.perf_counter()
        up = steth("lab", "up", "--name", "bench", "--computes", str(size - 1), env=env)
        if up.returncode != 0:
            print(f"lab up failed: {up.stderr}", file=sys.stderr)
            steth("lab", "down", "--name", "bench", env=env)
            return 1
        built = time.perf_counter() - t0
        try:
            conf = {"STETH_CONFIG": f"{root}/lab-bench/steth.conf", **env}
            times, alive = [], 0
            for _ in range(args.runs):
                t = time.perf_counter()
                r = steth("agent", "list", "-f", "value", "-c", "alive", env=conf)
                times.append(time.perf_counter() - t)
                alive = r.stdout.split().count("True")
            print(
                f"{size:4d} agents: lab up {built:5.1f} s; `steth agent list` wall "
                f"min {min(times):.3f} s  median {statistics.median(times):.3f} s  max {max(times):.3f} s "
                f"({alive}/{size} alive, exit {r.returncode})",
                flush=True,
            )
        finally:
            t = time.perf_counter()
            steth("lab", "down", "--name", "bench", env=env)
            print(f"      lab down {time.perf_counter() - t:.1f} s", flush=True)
    os.rmdir(root) if not os.listdir(root) else None
    return 0


if __name__ == "__main__":
    sys.exit(main())
