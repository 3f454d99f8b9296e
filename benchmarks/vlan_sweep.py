"""Wall time of `steth check vlan` (VLANs 1-4094, raw 802.1Q frames) between 2 nodes and across 10 nodes,
compared with the original tool's per-VLAN method.

Builds a lab (name "vbench", 10 nodes: network + 9 computes), runs the CLI as a user would (a new
process each time, table output) for 2 nodes and for all 10 (full matrix, 90 directed pairs), prints
min/median/max and the frames heard, and removes the lab. Targets (issue 4): 2 nodes under 5 s,
10 nodes under 30 s.

The original method per VLAN and pair of nodes: create a VLAN sub-interface on each node, give it an
address, bring it up, ping across, delete the sub-interfaces (`ip` commands run one by one). Where the
kernel has no 8021q module (as here) the sub-interface cannot be made: then the steps that can be
done are timed on a veth pair between two namespaces of the lab instead (veth create/delete stand in
for the sub-interface), and the estimate says so.

Usage (root): .venv/bin/python benchmarks/vlan_sweep.py [--runs 3] [--nodes 10]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

from steth.probes.capabilities import vlan_8021q  # noqa: E402

BIN = os.path.dirname(sys.executable)
LAB = "vbench"


def steth(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [os.path.join(BIN, "steth"), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        stdin=subprocess.DEVNULL,
        timeout=600,
    )


def sh(*argv: str) -> float:
    t = time.perf_counter()
    subprocess.run(list(argv), check=True, capture_output=True, stdin=subprocess.DEVNULL)
    return time.perf_counter() - t


def time_check(label: str, args: list[str], runs: int, env: dict) -> None:
    times = []
    r = None
    for _ in range(runs):
        t = time.perf_counter()
        r = steth("check", "vlan", "--vlans", "1-4094", "--interface", "eth1", *args, env=env)
        times.append(time.perf_counter() - t)
    summary = r.stdout.strip().splitlines()[-1] if r and r.stdout.strip() else r.stderr.strip()
    print(
        f"{label}: `steth check vlan --vlans 1-4094` wall min {min(times):.2f} s  median "
        f"{statistics.median(times):.2f} s  max {max(times):.2f} s  (exit {r.returncode}; {summary})",
        flush=True,
    )


def original_method(ns_a: str, ns_b: str, rounds: int = 20) -> dict[str, float]:
    """Median seconds per step of the original per-VLAN procedure, between two lab namespaces."""
    steps: dict[str, list[float]] = {k: [] for k in ("create", "address", "up", "ping", "delete")}
    can_vlan = vlan_8021q()[0]
    for i in range(rounds):
        vid = 100 + i
        if can_vlan:
            steps["create"].append(
                sh(
                    "ip",
                    "-n",
                    ns_a,
                    "link",
                    "add",
                    "link",
                    "eth1",
                    "name",
                    f"eth1.{vid}",
                    "type",
                    "vlan",
                    "id",
                    str(vid),
                )
                + sh(
                    "ip",
                    "-n",
                    ns_b,
                    "link",
                    "add",
                    "link",
                    "eth1",
                    "name",
                    f"eth1.{vid}",
                    "type",
                    "vlan",
                    "id",
                    str(vid),
                )
            )
            a_if = b_if = f"eth1.{vid}"
        else:  # stand-in: a veth pair from A into B
            steps["create"].append(
                sh("ip", "-n", ns_a, "link", "add", "vbA", "type", "veth", "peer", "name", "vbB", "netns", ns_b)
            )
            a_if, b_if = "vbA", "vbB"
        steps["address"].append(
            sh("ip", "-n", ns_a, "addr", "add", "192.0.2.1/30", "dev", a_if)
            + sh("ip", "-n", ns_b, "addr", "add", "192.0.2.2/30", "dev", b_if)
        )
        steps["up"].append(
            sh("ip", "-n", ns_a, "link", "set", a_if, "up") + sh("ip", "-n", ns_b, "link", "set", b_if, "up")
        )
        t = time.perf_counter()
        deadline = t + 5
        while (
            subprocess.run(
                ["ip", "netns", "exec", ns_a, "ping", "-c", "1", "-W", "1", "192.0.2.2"], capture_output=True
            ).returncode
            != 0
            and time.perf_counter() < deadline
        ):
            pass
        steps["ping"].append(time.perf_counter() - t)
        if can_vlan:
            steps["delete"].append(
                sh("ip", "-n", ns_a, "link", "del", a_if) + sh("ip", "-n", ns_b, "link", "del", b_if)
            )
        else:
            steps["delete"].append(sh("ip", "-n", ns_a, "link", "del", a_if))
    return {k: statistics.median(v) for k, v in steps.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--nodes", type=int, default=10)
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="steth-vbench-")
    env = {"STETH_LAB_ROOT": root}
    t0 = time.perf_counter()
    up = steth("lab", "up", "--name", LAB, "--computes", str(args.nodes - 1), env=env)
    if up.returncode != 0:
        print(f"lab up failed: {up.stderr}", file=sys.stderr)
        steth("lab", "down", "--name", LAB, env=env)
        return 1
    print(f"lab of {args.nodes} nodes up in {time.perf_counter() - t0:.1f} s", flush=True)
    try:
        conf = {"STETH_CONFIG": f"{root}/lab-{LAB}/steth.conf", **env}
        time_check(" 2 nodes", ["--nodes", "compute-1,compute-2"], args.runs, conf)
        time_check(f"{args.nodes:2d} nodes", [], args.runs, conf)
        r = steth("check", "vlan", "--vlans", "1-4094", "--interface", "eth1", "-f", "json", env=conf)
        rows = json.loads(r.stdout)
        ok = sum(1 for x in rows if x["verdict"] == "ok")
        print(f"{args.nodes:2d} nodes, -f json: {len(rows)} rows (VLAN x directed pair), {ok} ok", flush=True)

        ns_a, ns_b = f"steth-{LAB}-compute-1", f"steth-{LAB}-compute-2"
        can_vlan, why = vlan_8021q()
        per = original_method(ns_a, ns_b)
        per_vlan = sum(per.values())
        steps = ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in per.items())
        how = "VLAN sub-interfaces" if can_vlan else f"measured on a veth pair instead ({why})"
        print(f"original method, per VLAN per node pair: {per_vlan * 1000:.0f} ms ({steps}); {how}", flush=True)
        pairs_10 = args.nodes * (args.nodes - 1) // 2
        print(
            f"original method estimate: 4094 VLANs x 1 pair = {4094 * per_vlan / 60:.1f} min; "
            f"x {pairs_10} pairs ({args.nodes} nodes) = {4094 * pairs_10 * per_vlan / 3600:.1f} h "
            "(one VLAN and one pair at a time, as the original commands work)",
            flush=True,
        )
    finally:
        t = time.perf_counter()
        steth("lab", "down", "--name", LAB, env=env)
        print(f"lab down {time.perf_counter() - t:.1f} s", flush=True)
    if not os.listdir(root):
        os.rmdir(root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
