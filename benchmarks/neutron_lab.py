"""Bring-up time and memory of the Neutron lab (`steth lab up --neutron`), and teardown time.

Builds a lab with N compute nodes (default 2) under a temporary STETH_LAB_ROOT, prints
the wall time of `lab up --neutron` (with its phases), the memory of the lab's processes
(PSS from /proc/PID/smaps_rollup of every process whose command line names the lab
directory, plus the recorded ones), the rise of the host's used memory, the wall time of
`steth check dhcp` for each VM when that command exists, and the time of `lab down`.

Usage (root, after scripts/setup.sh): .venv/bin/python benchmarks/neutron_lab.py [--computes 2] [--name nbench]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lab_bench import STETH, lab_pids, lab_up, pss_kib, used_kib  # noqa: E402, F401  (re-exported)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--computes", type=int, default=2)
    ap.add_argument("--name", default="nbench")
    args = ap.parse_args()
    with lab_up(args.name, args.computes, "--neutron") as lab:
        state = lab.state
        time.sleep(5)  # let the agents settle (first sync done) before measuring memory
        print(
            f"lab up --neutron, {args.computes} computes: {lab.up_seconds:.1f} s "
            f"(Neutron part {state['extra']['neutron'].get('up_seconds')} s)"
        )
        lab.print_memory()
        run_env = lab.env
        has_dhcp = subprocess.run([STETH, "help", "check", "dhcp"], env=run_env, capture_output=True).returncode == 0
        if has_dhcp:
            for vm in state["extra"]["neutron"]["vms"]:
                t = time.monotonic()
                r = subprocess.run(
                    [STETH, "check", "dhcp", vm["port_id"], "-f", "json"], env=run_env, capture_output=True, text=True
                )
                finding = (r.stderr.strip().splitlines() or [""])[-1].split(": ", 1)[-1]
                print(
                    f"check dhcp {vm['name']} ({vm['network']}, {vm['plug']}): {time.monotonic() - t:.1f} s, "
                    f"exit {r.returncode}: {finding}"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
