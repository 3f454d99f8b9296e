"""Throughput through steth against iperf3 run by hand, and steth's overhead per test.

Builds its own small lab (a free name ibenchN, state in a temporary
STETH_LAB_ROOT), then for each condition -- uncapped, and compute-2 capped at
100 Mbit/s on the tenant network (lab fault rate-limit) -- runs both, --runs
times, in alternating order:

  by hand  `ip netns exec <compute-1> iperf3 -s -1 -B <addr>` and
           `ip netns exec <compute-2> iperf3 -c <addr> -J -t D ... -B <addr>` (the agent's own
           command line; end.sum_received)
  steth    `steth check bandwidth --pairs compute-2:compute-1 --network tenant -t D -f json`

and prints the medians and their difference (target: within 10 %). Overhead:
each row's ended_at - started_at (server start, test, server release, as the
controller saw it) minus the duration, over a --tests-long run of pairs
(target: under 0.5 s per test); the CLI's whole wall time is printed too
(it adds Python start-up). The lab is removed at the end, whatever happened.

Usage: .venv/bin/python benchmarks/bandwidth.py [--runs 5] [--duration 3] [--tests 6]
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))
BIN = os.path.dirname(sys.executable)
STETH = os.path.join(BIN, "steth")
HAND_PORT = 5250


def sh(argv: list[str], env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )


def steth(*args: str, env: dict) -> subprocess.CompletedProcess:
    return sh([STETH, *args], env=env)


def free_lab_name() -> str:
    from steth.lab.topology import default_cidrs

    routes = json.loads(sh(["ip", "-j", "-4", "route"]).stdout)
    used = [ipaddress.ip_network(r["dst"], strict=False) for r in routes if r.get("dst", "default") != "default"]
    namespaces = sh(["ip", "netns", "list"]).stdout
    for n in range(1, 50):
        name = f"ibench{n}"[:8]
        nets = [ipaddress.ip_network(c) for c in default_cidrs(name)]
        if not any(a.overlaps(u) for a in nets for u in used) and f"steth-{name}-" not in namespaces:
            return name
    raise SystemExit("no free address range for a benchmark lab")


def listening(ns: str, addr: str, port: int) -> bool:
    out = sh(["ip", "netns", "exec", ns, "ss", "-Htln", "src", f"{addr}:{port}"]).stdout
    return bool(out.strip())


def by_hand(lab: str, server_addr: str, client_addr: str, duration: float) -> float:
    """The same iperf3 command lines steth's agents run (server -s -1 -B, client from probes.iperf.client_argv)."""
    from steth.probes.iperf import client_argv
    from steth.wire.iperf import IperfClientRequest

    server_ns, client_ns = f"steth-{lab}-compute-1", f"steth-{lab}-compute-2"
    server = subprocess.Popen(
        ["ip", "netns", "exec", server_ns, "iperf3", "-s", "-1", "-B", server_addr, "-p", str(HAND_PORT)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 5
        while not listening(server_ns, server_addr, HAND_PORT):
            if time.monotonic() > deadline:
                raise SystemExit("hand-started iperf3 server did not listen")
            time.sleep(0.01)
        argv = client_argv(IperfClientRequest(server=server_addr, port=HAND_PORT, duration=duration, bind=client_addr))
        out = sh(["ip", "netns", "exec", client_ns, *argv]).stdout
        data = json.loads(out)
        if data.get("error"):
            raise SystemExit(f"iperf3 by hand: {data['error']}")
        return data["end"]["sum_received"]["bits_per_second"]
    finally:
        if server.poll() is None:
            server.terminate()
        server.wait(timeout=10)


def through_steth(env: dict, duration: float) -> tuple[float, float]:
    start = time.perf_counter()
    r = steth(
        "check",
        "bandwidth",
        "--pairs",
        "compute-2:compute-1",
        "--network",
        "tenant",
        "--duration",
        f"{duration:g}",
        "-f",
        "json",
        env=env,
    )
    wall = time.perf_counter() - start
    rows = json.loads(r.stdout or "[]")
    if not rows or rows[0]["bits_per_second"] is None:
        raise SystemExit(f"steth check bandwidth failed: {r.stderr}")
    return rows[0]["bits_per_second"], wall


def overhead(env: dict, tests: int, duration: float) -> tuple[list[float], float]:
    """Per-test overhead from the rows' start/end, over ``tests`` tests (ordered pairs, repeated)."""
    pairs = [
        "compute-1:compute-2",
        "compute-2:compute-1",
        "network:compute-1",
        "compute-1:network",
        "network:compute-2",
        "compute-2:network",
    ]
    start = time.perf_counter()
    r = steth(
        "check",
        "bandwidth",
        "--pairs",
        ",".join(pairs[:tests]),
        "--network",
        "management",
        "--duration",
        f"{duration:g}",
        "-f",
        "json",
        env=env,
    )
    wall = time.perf_counter() - start
    rows = json.loads(r.stdout or "[]")
    if len(rows) != min(tests, len(pairs)):
        raise SystemExit(f"overhead run failed: {r.stderr}")
    return [x["ended_at"] - x["started_at"] - duration for x in rows], wall


def mbit(v: float) -> str:
    return f"{v / 1e6:9.1f} Mbit/s"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="measurements per method and condition")
    ap.add_argument("--duration", type=float, default=3.0, help="seconds per test")
    ap.add_argument("--tests", type=int, default=6, help="tests in the overhead run (at most 6)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("needs root (network namespaces)")
    root = tempfile.mkdtemp(prefix="steth-bench-")
    lab = free_lab_name()
    env = {"STETH_LAB_ROOT": root}
    print(f"lab {lab} (state in {root}); {os.cpu_count()} CPUs; load {os.getloadavg()[0]:.1f}", flush=True)
    up = steth("lab", "up", "--name", lab, "--computes", "2", env=env)
    if up.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        raise SystemExit(f"lab up failed: {up.stderr}")
    try:
        env["STETH_CONFIG"] = os.path.join(root, f"lab-{lab}", "steth.conf")
        conf = open(env["STETH_CONFIG"]).read()
        tenant = ipaddress.ip_network(conf.split("tenant = ")[1].split()[0])
        server_addr = str(tenant.network_address + 11)  # compute-1 on the tenant network
        client_addr = str(tenant.network_address + 12)  # compute-2
        results = []
        for condition in ("uncapped", "capped 100mbit"):
            fault = None
            if condition.startswith("capped"):
                f = steth(
                    "lab",
                    "fault",
                    "add",
                    "--name",
                    lab,
                    "rate-limit",
                    "--node",
                    "compute-2",
                    "--network",
                    "tenant",
                    "--rate",
                    "100mbit",
                    env=env,
                )
                if f.returncode != 0:
                    raise SystemExit(f"fault add failed: {f.stderr}")
                fault = f.stdout.split(":")[0]
            try:
                hand, tool, walls = [], [], []
                for i in range(args.runs):  # the order alternates, so neither method always goes first
                    if i % 2:
                        bps, wall = through_steth(env, args.duration)
                        hand.append(by_hand(lab, server_addr, client_addr, args.duration))
                    else:
                        hand.append(by_hand(lab, server_addr, client_addr, args.duration))
                        bps, wall = through_steth(env, args.duration)
                    tool.append(bps)
                    walls.append(wall)
            finally:
                if fault:
                    steth("lab", "fault", "remove", "--name", lab, fault, env=env)
            h, t = statistics.median(hand), statistics.median(tool)
            results.append((condition, h, t, walls))
            paired = statistics.median(100 * (b - a) / a for a, b in zip(hand, tool))
            print(
                f"{condition:15s} by hand {mbit(h)}  steth {mbit(t)}  difference of medians "
                f"{100 * (t - h) / h:+6.1f} %, median of paired differences {paired:+6.1f} %"
                f"   (runs: hand {', '.join(f'{x / 1e6:.0f}' for x in hand)};"
                f" steth {', '.join(f'{x / 1e6:.0f}' for x in tool)} Mbit/s)",
                flush=True,
            )
        over, wall = overhead(env, args.tests, args.duration)
        print(
            f"overhead per test beyond {args.duration:g} s (server start + wait listening + client request + "
            f"server release): mean {statistics.mean(over):.3f} s, max {max(over):.3f} s over {len(over)} tests"
        )
        cli = [w - args.duration for _, _, _, ws in results for w in ws]
        print(
            f"whole CLI invocation beyond the duration (Python start-up, config, /v1/info, one test): "
            f"median {statistics.median(cli):.3f} s; {len(over)}-test run took {wall:.2f} s "
            f"for {len(over) * args.duration:g} s of tests"
        )
    finally:
        down = steth("lab", "down", "--name", lab, env=env)
        if down.returncode != 0:
            print(f"lab down failed: {down.stderr}", file=sys.stderr)
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
