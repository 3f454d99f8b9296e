"""Bring-up time and memory of the ML2/OVS lab with DVR (`steth lab up --neutron --dvr`), `steth doctor`
on its healthy VMs (target under 10 s) and on DVR faults, and teardown time.

Builds a lab (or uses `--lab NAME`, already up) under a temporary STETH_LAB_ROOT and prints the wall time
of `lab up` (and of its Neutron part), the PSS of the lab's processes, the time of `doctor VM --to <internet>`
per VM (the ovs-dvr chain), of doctor with each DVR fault, and of `lab down`. The timing and memory helpers
are the other benchmarks' (neutron_lab.py, ovn_lab.py, doctor.py).

Usage (root, after scripts/setup.sh): .venv/bin/python benchmarks/dvr_lab.py [--lab NAME] [--runs 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from doctor import summarise, walk  # noqa: E402
from neutron_lab import STETH, lab_pids, pss_kib, used_kib  # noqa: E402
from ovn_lab import timed  # noqa: E402

FAULTS = [
    ("dvr-fip-ns-removed", ["--node", "compute-1"], "vm1"),
    ("dvr-sg-port-removed", ["--network", "vlan"], "vm3"),
]


def memory(directory: str, before: int) -> None:
    pids = lab_pids(directory)
    total = sum(pss_kib(pid) for pid in pids)
    print(f"processes naming the lab directory: {len(pids)}, PSS {total / 1024:.0f} MiB")
    print(f"host used memory rose by {(used_kib() - before) / 1024:.0f} MiB")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lab", help="a DVR lab already up (default: build one named dvbench)")
    ap.add_argument("--runs", type=int, default=2)
    args = ap.parse_args()
    env = dict(os.environ)
    lab = args.lab or "dvbench"
    if not args.lab:
        env["STETH_LAB_ROOT"] = tempfile.mkdtemp(prefix="steth-dvbench-")
    directory = os.path.join(env.get("STETH_LAB_ROOT", "/var/lib/steth"), f"lab-{lab}")
    before = used_kib()
    if not args.lab:
        t_up, up = timed(["lab", "up", "--name", lab, "--neutron", "--dvr"], env)
        if up.returncode != 0:
            print(up.stdout, up.stderr, file=sys.stderr)
            subprocess.run([STETH, "lab", "down", "--name", lab], env=env, capture_output=True)
            return 1
    if args.lab and not os.path.exists(f"{directory}/state.json"):
        print(f"no lab {lab} under {os.path.dirname(directory)}: --lab names a DVR lab already up", file=sys.stderr)
        return 2
    try:
        with open(f"{directory}/state.json") as fh:
            rec = json.load(fh)["extra"]["neutron"]
        if not args.lab:
            print(f"lab up --neutron --dvr, 2 computes: {t_up:.1f} s (Neutron part {rec.get('up_seconds')} s)")
            memory(directory, before)
        env["STETH_CONFIG"] = f"{directory}/steth.conf"
        to = rec["external"]["internet_host"]
        healthy, broken = walk(env, lab, [v["name"] for v in rec["vms"]], to, FAULTS, args.runs)
        summarise(healthy, broken)
    finally:
        if not args.lab:
            t_down, _ = timed(["lab", "down", "--name", lab], env)
            print(f"lab down: {t_down:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
