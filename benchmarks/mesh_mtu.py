"""Full-mesh and MTU check wall times on the lab, against the original tool's method.

1. Mesh: a lab of 50 nodes, `steth check mesh --network tenant --count 3`
   (2450 ordered pairs, 3 probes each). Baseline in the same run: sequential
   `ping -c 3` per pair from the controller side (`ip netns exec SRC ping`), as the
   original tool did, timed on a sample of pairs and extrapolated to all of them.
   Target (issue 3): under 5 s.
2. MTU: a lab of 20 nodes with the switch port of one node lowered to MTU 1400,
   `steth check mtu --network tenant`. Target: under 10 s.

Usage (root): .venv/bin/python benchmarks/mesh_mtu.py [--mesh-nodes 50] [--mtu-nodes 20] [--sample 6]
"""

from __future__ import annotations

import argparse
import json
import os
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
        timeout=900,
    )


def timed(*args: str, env: dict) -> tuple[float, subprocess.CompletedProcess]:
    t = time.perf_counter()
    r = steth(*args, env=env)
    return time.perf_counter() - t, r


class Lab:
    def __init__(self, name: str, computes: int) -> None:
        self.root = tempfile.mkdtemp(prefix="steth-bench-")
        self.name, self.computes = name, computes
        self.env = {"STETH_LAB_ROOT": self.root, "STETH_CONFIG": f"{self.root}/lab-{name}/steth.conf"}

    def __enter__(self) -> Lab:
        r = steth("lab", "up", "--name", self.name, "--computes", str(self.computes), env=self.env)
        if r.returncode != 0:
            steth("lab", "down", "--name", self.name, env=self.env)
            raise SystemExit(f"lab up failed: {r.stderr}")
        return self

    def __exit__(self, *exc) -> None:
        steth("lab", "down", "--name", self.name, env=self.env)


def mesh(nodes: int, sample: int) -> None:
    with Lab("bmesh", nodes - 1) as lab:
        status = json.loads(steth("lab", "status", "--name", "bmesh", "-f", "json", env=lab.env).stdout)
        wall, r = timed("check", "mesh", "--network", "tenant", "--count", "3", "-f", "json", env=lab.env)
        rows = json.loads(r.stdout)
        ok = sum(1 for x in rows if x["verdict"] == "ok")
        print(
            f"mesh: {nodes} nodes, {len(rows)} pairs x 3 probes: steth check mesh {wall:.2f} s wall "
            f"(exit {r.returncode}, {ok}/{len(rows)} ok)",
            flush=True,
        )
        # baseline: the original tool's way, one `ping -c 3` per pair, one after the other
        ns = {x["node"]: x["namespace"] for x in status}
        addr = {x["destination"]: x["address"] for x in rows}
        pairs = [(x["source"], x["destination"]) for x in rows][:sample]
        t = time.perf_counter()
        for s, d in pairs:
            subprocess.run(
                ["ip", "netns", "exec", ns[s], "ping", "-c", "3", "-W", "1", addr[d]], capture_output=True, check=False
            )
        per_pair = (time.perf_counter() - t) / len(pairs)
        baseline = per_pair * len(rows)
        print(
            f"mesh baseline: sequential `ping -c 3` per pair: {per_pair:.2f} s/pair measured on {len(pairs)} "
            f"pairs -> {baseline:.0f} s for {len(rows)} pairs (extrapolated); steth is {baseline / wall:.0f}x faster",
            flush=True,
        )


def mtu(nodes: int) -> None:
    with Lab("bmtu", nodes - 1) as lab:
        wall, r = timed("check", "mtu", "--network", "tenant", "-f", "json", env=lab.env)
        print(f"mtu: {nodes} nodes healthy: steth check mtu {wall:.2f} s wall (exit {r.returncode})", flush=True)
        steth(
            "lab",
            "fault",
            "add",
            "--name",
            "bmtu",
            "switch-mtu",
            "--node",
            "compute-3",
            "--network",
            "tenant",
            "--mtu",
            "1400",
            env=lab.env,
        )
        wall, r = timed("check", "mtu", "--network", "tenant", "-f", "json", env=lab.env)
        bad = [x for x in json.loads(r.stdout) if x["verdict"] != "ok"]
        print(
            f"mtu: {nodes} nodes, compute-3's switch port at 1400: steth check mtu {wall:.2f} s wall "
            f"(exit {r.returncode}, {len(bad)} failing paths, measured "
            f"{sorted({x['measured_mtu'] for x in bad})})",
            flush=True,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mesh-nodes", type=int, default=50)
    parser.add_argument("--mtu-nodes", type=int, default=20)
    parser.add_argument("--sample", type=int, default=6)
    args = parser.parse_args()
    mesh(args.mesh_nodes, args.sample)
    mtu(args.mtu_nodes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
