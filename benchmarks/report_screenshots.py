"""Screenshots of the `check all --html` report on a healthy lab and on a broken one.

Builds a small lab (network node, two computes), writes the report healthy, then with a VLAN
pruned on a trunk and a bandwidth cap, renders both pages in headless Chromium (tests/browser.py)
and saves PNGs; prints where, how long each step took, and what each page asked of the network
(it must be nothing). Removes the lab at the end, also after a failure.

Usage (root): .venv/bin/python benchmarks/report_screenshots.py [--out DIR] [--name LAB]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tests.browser import render  # noqa: E402

BIN = os.path.dirname(sys.executable)


def steth(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [os.path.join(BIN, "steth"), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        stdin=subprocess.DEVNULL,
        timeout=900,
    )


def report(name: str, env: dict[str, str], out: str, tag: str) -> None:
    page = os.path.join(out, f"check-all-{tag}.html")
    t = time.perf_counter()
    r = steth("check", "all", "-f", "json", "--html", page, env=env)
    took = time.perf_counter() - t
    png = os.path.join(out, f"check-all-{tag}.png")
    shown = render(page, screenshot=png)
    print(f"{tag:8} check all exit {r.returncode} in {took:.1f} s; page {page}; screenshot {png}")
    print(f"{'':8} network requests made by the page: {len(shown.requests)} {shown.requests}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=tempfile.mkdtemp(prefix="steth-report-"))
    ap.add_argument("--name", default="shot")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    root = tempfile.mkdtemp(prefix="steth-shot-")
    env = {"STETH_LAB_ROOT": root}
    up = steth("lab", "up", "--name", args.name, "--computes", "2", env=env)
    if up.returncode != 0:
        print(up.stderr, file=sys.stderr)
        steth("lab", "down", "--name", args.name, env=env)
        return 1
    env["STETH_CONFIG"] = os.path.join(root, f"lab-{args.name}", "steth.conf")
    try:
        report(args.name, env, args.out, "healthy")
        for fault in (
            ["vlan-prune", "--node", "compute-2", "--vlans", "150-159"],
            ["rate-limit", "--node", "compute-1", "--network", "tenant", "--rate", "100mbit"],
        ):
            r = steth("lab", "fault", "add", "--name", args.name, *fault, env=env)
            if r.returncode != 0:
                print(r.stderr, file=sys.stderr)
                return 1
        report(args.name, env, args.out, "broken")
    finally:
        steth("lab", "down", "--name", args.name, env=env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
