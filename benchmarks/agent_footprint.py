"""steth-agent start-to-ready time and resident memory, idle and after serving requests.

Starts the agent on 127.0.0.1 (a free port) several times, measures the time
from exec to the first 200 on /v1/health, and reads VmRSS from /proc when idle
and after /v1/info, /v1/interfaces and a loopback /v1/ping.
Targets (issue 18): idle RSS under 50 MB, start to ready under 0.5 s; route code (pyroute2, ovsdbapp,
captures, iperf3) is loaded by the first request that needs it, so "after requests" grows.

Usage: .venv/bin/python benchmarks/agent_footprint.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

BIN = os.path.dirname(sys.executable)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def call(url: str, token: str, body: dict | None = None) -> int:
    req = urllib.request.Request(
        url,
        headers={"X-Steth-Token": token, "Content-Type": "application/json"},
        data=json.dumps(body).encode() if body else None,
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        resp.read()
        return resp.status


def one_run(token_file: str, token: str) -> tuple[float, float, float]:
    port = free_port()
    state_dir = tempfile.mkdtemp(prefix="steth-bench-agent-")
    start = time.perf_counter()
    agent = subprocess.Popen(
        [
            os.path.join(BIN, "steth-agent"),
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--token-file",
            token_file,
            "--insecure-http",
            "--state-dir",
            state_dir,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        while True:
            try:
                with urllib.request.urlopen(f"{base}/v1/health", timeout=1) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                time.sleep(0.01)
            if time.perf_counter() - start > 30:
                raise RuntimeError("agent did not become ready in 30 s")
        ready = time.perf_counter() - start
        time.sleep(0.5)
        idle = rss_mb(agent.pid)
        call(f"{base}/v1/info", token)
        call(f"{base}/v1/interfaces", token)
        if os.geteuid() == 0:
            call(f"{base}/v1/ping", token, {"targets": ["127.0.0.1"], "count": 2, "interval": 0.05})
        busy = rss_mb(agent.pid)
        return ready, idle, busy
    finally:
        agent.terminate()
        agent.wait(10)
        shutil.rmtree(state_dir, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.NamedTemporaryFile("w", prefix="steth-bench-token-") as fh:
        token = secrets.token_hex(32)
        fh.write(token)
        fh.flush()
        runs = [one_run(fh.name, token) for _ in range(args.runs)]
    ready, idle, busy = zip(*runs)
    print(f"start to ready: median {statistics.median(ready):.2f} s (min {min(ready):.2f}, max {max(ready):.2f})")
    print(f"RSS idle:       median {statistics.median(idle):.1f} MB (max {max(idle):.1f})")
    print(f"RSS after info/interfaces/ping: median {statistics.median(busy):.1f} MB (max {max(busy):.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
