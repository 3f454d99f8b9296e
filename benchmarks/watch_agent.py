"""CPU and memory of one steth-agent while it watches: K=10 on 3 networks, and K=N-1 for a 50-node fleet.

An agent runs in a namespace of its own (steth-bwa-<hex>), linked by three veth
pairs ("networks") to a peer namespace (steth-bwp-<hex>) holding K addresses per
network, every one of which answers (the kernel replies). The agent is given a
real watch plan (K peers per network, don't-fragment MTU probes on, 10 s
interval) through PUT /v1/watch; after a warm-up round the benchmark reads the
agent's CPU time (utime+stime from /proc/PID/stat) over a window, and its RSS,
and scrapes /metrics once to count the series. What it measures: the prober's
own cost (sockets, scheduling, results, metrics) for that many peers; what it
does not: the cost of answering (the kernel does that on every peer), nor real
networks' latency. Everything created is removed at the end (namespaces by
name, the agent by PID).

Usage (root): .venv/bin/python benchmarks/watch_agent.py [--window 60] [--interval 10]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time

BIN = os.path.dirname(sys.executable)
NETWORKS = ("management", "tenant", "storage")


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def build(suffix: str, peers: int) -> tuple[str, str, dict[str, list[str]]]:
    a, p = f"steth-bwa-{suffix}", f"steth-bwp-{suffix}"
    ip("netns", "add", a)
    ip("netns", "add", p)
    addresses: dict[str, list[str]] = {}
    for i, net in enumerate(NETWORKS):
        ip("-n", a, "link", "add", f"w{i}", "type", "veth", "peer", "name", f"w{i}", "netns", p)
        ip("-n", a, "addr", "add", f"10.{60 + i}.0.1/16", "dev", f"w{i}")
        addresses[net] = [f"10.{60 + i}.{1 + j // 250}.{1 + j % 250}" for j in range(peers)]
        for addr in addresses[net]:
            ip("-n", p, "addr", "add", f"{addr}/16", "dev", f"w{i}")
        ip("-n", a, "link", "set", f"w{i}", "up")
        ip("-n", p, "link", "set", f"w{i}", "up")
    for ns in (a, p):
        ip("-n", ns, "link", "set", "lo", "up")
    return a, p, addresses


def measure(peers: int, interval: float, window: float) -> dict:
    suffix = secrets.token_hex(2)
    work = tempfile.mkdtemp(prefix="steth-bench-watch-")
    token = secrets.token_hex(16)
    with open(os.path.join(work, "token"), "w") as fh:
        fh.write(token)
    agent = None
    a, p = f"steth-bwa-{suffix}", f"steth-bwp-{suffix}"
    try:
        a, p, addresses = build(suffix, peers)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        log = open(os.path.join(work, "agent.log"), "wb")
        agent = subprocess.Popen(
            ["ip", "netns", "exec", a, os.path.join(BIN, "steth-agent"), "--bind", "127.0.0.1", "--port", str(port)]
            + ["--token-file", os.path.join(work, "token"), "--state-dir", os.path.join(work, "state")]
            + ["--ovsdb-connection", f"unix:{work}/none.sock"],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                out = subprocess.run(
                    [
                        "ip",
                        "netns",
                        "exec",
                        a,
                        sys.executable,
                        "-c",
                        f"import urllib.request as u;u.urlopen('{base}/v1/health',timeout=1)",
                    ],
                    capture_output=True,
                    timeout=10,
                )
                if out.returncode == 0:
                    break
            except subprocess.TimeoutExpired:
                pass
            if time.monotonic() > deadline or agent.poll() is not None:
                raise RuntimeError("agent did not start")
            time.sleep(0.2)
        rss_idle = rss_mb(agent.pid)
        plan = {
            "source": "bench",
            "interval": interval,
            "max_pps": 1000,
            "networks": [
                {"name": net, "mtu": 1500, "peers": [{"name": f"peer-{j}", "address": x} for j, x in enumerate(addrs)]}
                for net, addrs in addresses.items()
            ],
        }
        helper = (
            "import json,sys,urllib.request as u\n"
            "req=u.Request(sys.argv[1],method=sys.argv[2],data=(sys.argv[4].encode() if len(sys.argv)>4 else None),"
            "headers={'X-Steth-Token':sys.argv[3],'Authorization':'Bearer '+sys.argv[3],"
            "'Content-Type':'application/json'})\n"
            "sys.stdout.buffer.write(u.urlopen(req,timeout=10).read())\n"
        )

        def agent_call(path: str, method: str = "GET", body: dict | None = None) -> bytes:
            argv = ["ip", "netns", "exec", a, sys.executable, "-c", helper, base + path, method, token]
            return subprocess.run(
                argv + ([json.dumps(body)] if body else []), capture_output=True, check=True, timeout=30
            ).stdout

        agent_call("/v1/watch", "PUT", plan)
        time.sleep(2 * interval)  # the random phase and a first round
        cpu0, t0 = cpu_seconds(agent.pid), time.monotonic()
        time.sleep(window)
        cpu1, t1 = cpu_seconds(agent.pid), time.monotonic()
        status = json.loads(agent_call("/v1/watch"))
        metrics = agent_call("/metrics").decode()
        series = sum(1 for line in metrics.splitlines() if line.startswith("steth_watch_"))
        lost = sum(r["lost"] for r in status["results"])
        sent = sum(r["sent"] for r in status["results"])
        return {
            "peers": peers,
            "pairs": peers * len(NETWORKS),
            "cpu_pct": 100 * (cpu1 - cpu0) / (t1 - t0),
            "rss_mb": rss_mb(agent.pid),
            "rss_idle_mb": rss_idle,
            "pps": status["probes_per_second"],
            "rounds": status["rounds"],
            "sent": sent,
            "lost": lost,
            "series": series,
        }
    finally:
        if agent is not None and agent.poll() is None:
            agent.terminate()
            agent.wait(10)
        for ns in (a, p):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=float, default=60.0, help="seconds of CPU measurement (default 60)")
    parser.add_argument("--interval", type=float, default=10.0)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root (network namespaces)")
    rows = [measure(10, args.interval, args.window), measure(49, args.interval, args.window)]
    print(f"one agent watching, 3 networks, interval {args.interval:g} s, MTU probes on, {args.window:g} s window")
    head = f"{'case':<22}{'pairs':>6}{'CPU %':>8}{'RSS MB':>8}{'idle MB':>9}{'pkt/s':>7}{'sent':>7}{'lost':>6}"
    print(head + f"{'series':>8}")
    for name, r in zip(("K=10", "K=N-1 (N=50)"), rows):
        print(
            f"{name:<22}{r['pairs']:>6}{r['cpu_pct']:>8.2f}{r['rss_mb']:>8.1f}{r['rss_idle_mb']:>9.1f}"
            f"{r['pps']:>7.1f}{r['sent']:>7}{r['lost']:>6}{r['series']:>8}"
        )
    print("targets (K=10): CPU < 2 % of one core, RSS < 80 MB")


if __name__ == "__main__":
    main()
