"""Wall time of `steth --help` and of `steth lab status` without a lab (issue 18).

Each command runs as a user would run it, a new process every time (the console script's
entry point, ``steth.controller.cli:main``); the script prints min/median/max over --runs
runs, and which heavy libraries the process imported (aiohttp, pydantic, openstacksdk,
oslo.config; from ``-X importtime``). ``--src DIR`` measures another checkout's ``src``
(e.g. the tree before a change: ``git archive COMMIT | tar -x -C /tmp/old``) with the same
interpreter and libraries.

Usage: .venv/bin/python benchmarks/cli_startup.py [--runs 15] [--src /tmp/old/src]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

# what `steth` (the console script) does, so both trees start the same way
ENTRY = "import sys; from steth.controller.cli import main; sys.exit(main(sys.argv[1:]))"
HEAVY = ("aiohttp", "pydantic", "openstack", "oslo_config")


def _env(src: str | None, lab_root: str) -> dict[str, str]:
    env = {**os.environ, "STETH_LAB_ROOT": lab_root, "PAGER": "cat"}
    if src:
        env["PYTHONPATH"] = os.path.abspath(src)
    return env


def _run(argv: list[str], env: dict[str, str], importtime: bool = False) -> subprocess.CompletedProcess[str]:
    extra = ["-X", "importtime"] if importtime else []
    return subprocess.run(
        [sys.executable, *extra, "-c", ENTRY, *argv],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


def heavy_imports(argv: list[str], env: dict[str, str]) -> list[str]:
    """The HEAVY top-level packages the command imported."""
    err = _run(argv, env, importtime=True).stderr
    names = {line.split("|")[-1].strip() for line in err.splitlines() if line.startswith("import time:")}
    return [h for h in HEAVY if h in names]


def measure(argv: list[str], env: dict[str, str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        _run(argv, env)
        times.append(time.perf_counter() - t0)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs per command (default 15)")
    parser.add_argument("--src", help="measure this source tree (a checkout's src/) instead of the installed one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="steth-bench-") as root:
        env = _env(args.src, root)
        base = [sys.executable, "-c", "pass"]
        t0 = time.perf_counter()
        subprocess.run(base, check=True, env=env)
        print(f"python itself: {time.perf_counter() - t0:.3f} s (one run, for scale)")
        print(f"tree: {args.src or 'installed steth'}; {args.runs} runs each")
        for argv in (["--help"], ["lab", "status", "--name", "nolab"]):
            rc = _run(argv, env).returncode
            times = measure(argv, env, args.runs)
            heavy = heavy_imports(argv, env)
            print(
                f"steth {' '.join(argv):<28} median {statistics.median(times):.3f} s  "
                f"min {min(times):.3f}  max {max(times):.3f}  (exit {rc}; imports: {', '.join(heavy) or 'none of'} "
                f"{'' if heavy else ', '.join(HEAVY)})"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
