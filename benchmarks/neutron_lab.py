"""Bring-up time and memory of the Neutron lab (`steth lab up --neutron [--backend linuxbridge]`), and teardown time.

Builds a lab with N compute nodes (default 2) under a temporary STETH_LAB_ROOT, prints
the wall time of `lab up --neutron` (with its phases), the memory of the lab's processes
(PSS from /proc/PID/smaps_rollup of every process whose command line names the lab
directory, plus the recorded ones), the rise of the host's used memory, the wall time of
`steth check dhcp` for each VM when that command exists, of `steth doctor` on healthy VMs (target
under 10 s each, --doctor-runs times on one VM per compute node), and the time of `lab down`.
--backend linuxbridge times the ML2/Linux bridge lab the same way (ML2/OVN: ovn_lab.py).

Usage (root, after scripts/setup.sh):
  .venv/bin/python benchmarks/neutron_lab.py [--computes 2] [--name nbench] [--backend ovs|linuxbridge]
      [--doctor-runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lab_bench import STETH, lab_pids, lab_up, pss_kib, used_kib  # noqa: E402, F401  (re-exported)


def time_doctor(env: dict[str, str], state: dict, runs: int) -> None:
    """`steth doctor` on one healthy VM per compute node, ``runs`` times each (target < 10 s)."""
    first_per_node: dict[str, dict] = {}
    for vm in state["extra"]["neutron"]["vms"]:
        first_per_node.setdefault(vm["node"], vm)
    for vm in first_per_node.values():
        walls, last = [], ""
        for _ in range(runs):
            t = time.monotonic()
            r = subprocess.run([STETH, "doctor", vm["port_id"]], env=env, capture_output=True, text=True)
            walls.append(time.monotonic() - t)
            lines = [ln for ln in (r.stdout + r.stderr).splitlines() if ln.startswith(("healthy", "root cause"))]
            last = f"exit {r.returncode}: {(lines or [r.stderr.strip()[-70:]])[-1][:70]}"
        print(
            f"doctor {vm['name']} ({vm['node']}, {vm['network']}): median {statistics.median(walls):.1f} s, "
            f"max {max(walls):.1f} s over {runs} runs (target < 10 s); {last}"
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--computes", type=int, default=2)
    ap.add_argument("--name", default="nbench")
    ap.add_argument("--backend", choices=["ovs", "linuxbridge"], default="ovs")
    ap.add_argument("--doctor-runs", type=int, default=3)
    args = ap.parse_args()
    with lab_up(args.name, args.computes, "--neutron", "--backend", args.backend) as lab:
        state = lab.state
        time.sleep(5)  # let the agents settle (first sync done) before measuring memory
        print(
            f"lab up --neutron --backend {args.backend}, {args.computes} computes: {lab.up_seconds:.1f} s "
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
        time_doctor(run_env, state, args.doctor_runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
