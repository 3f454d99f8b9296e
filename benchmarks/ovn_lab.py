"""Bring-up time and memory of the ML2/OVN lab (`steth lab up --neutron --backend ovn`), the time of
`steth ovn status` and `steth ovn sync-check` on it, `steth doctor` on every healthy VM (the OVN chain with the
VM's own packet; target under 10 s), and teardown time.

Builds a lab with N compute nodes (default 2) under a temporary STETH_LAB_ROOT and prints the wall time
of `lab up` (and of its ML2/OVN part), the PSS of every process naming the lab directory, the rise of
the host's used memory, the wall time of each OVN command, the median of --runs doctor runs per VM (and of
the VM's own packet inside it), and of `lab down`. ``--lab NAME`` times doctor on a running OVN lab instead.

Usage (root, after scripts/setup.sh): .venv/bin/python benchmarks/ovn_lab.py [--computes 2] [--name obench]
[--runs 3] [--lab NAME]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lab_bench import lab_up, timed  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--computes", type=int, default=2)
    ap.add_argument("--name", default="obench")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--lab", help="a running OVN lab: time doctor on it, build nothing")
    args = ap.parse_args()
    if args.lab:
        directory = os.path.join(os.environ.get("STETH_LAB_ROOT", "/var/lib/steth"), f"lab-{args.lab}")
        with open(f"{directory}/state.json") as fh:
            state = json.load(fh)
        env = {
            **os.environ,
            "STETH_CONFIG": f"{directory}/steth.conf",
            "OS_CLIENT_CONFIG_FILE": f"{directory}/clouds.yaml",
        }
        doctor_times(state, env, args.runs)
        return 0
    with lab_up(args.name, args.computes, "--neutron", "--backend", "ovn") as lab:
        print(
            f"lab up --neutron --backend ovn, {args.computes} computes: {lab.up_seconds:.1f} s "
            f"(ML2/OVN part {lab.state['extra']['neutron'].get('up_seconds')} s; target < 60 s for the whole `up`)"
        )
        phases = lab.state["extra"]["neutron"].get("ovn", {}).get("phases", [])
        for (t, what), (t_next, _) in zip(phases, phases[1:]):
            print(f"  ML2/OVN phase at {t:5.1f} s, {t_next - t:5.1f} s: {what}")
        lab.print_memory()
        for argv in (["ovn", "status"], ["ovn", "status", "--no-neutron"], ["ovn", "sync-check"]):
            t, done = timed([*argv, "-f", "json"], lab.env)
            summary = (done.stderr.strip().splitlines() or [""])[-1]
            print(f"steth {' '.join(argv)}: {t:.2f} s, exit {done.returncode}: {summary}")
        doctor_times(lab.state, lab.env, args.runs)
    return 0


PROBE_RE = re.compile(r"\] \((\d+\.\d+) s\)")  # the VM's own packet row ends "... [hops ...] (1.8 s)"


def doctor_times(state: dict, env: dict[str, str], runs: int) -> None:
    """`steth doctor` on every VM, ``runs`` times each: wall time and the VM's own packet, medians printed."""
    walls: list[float] = []
    probes: list[float] = []
    for v in state["extra"]["neutron"]["vms"]:
        mine = []
        for _ in range(runs):
            t, done = timed(["doctor", v["port_id"], "-f", "json"], env)
            mine.append(t)
            rows = json.loads(done.stdout) if done.stdout.strip().startswith("[") else []
            own = next((r for r in rows if r["check"] == "VM's own packet (OVN)"), None)
            m = PROBE_RE.search(own["evidence"]) if own else None
            if m:
                probes.append(float(m.group(1)))
            if done.returncode != 0:
                print(f"  doctor {v['name']}: exit {done.returncode}: {(done.stderr.strip().splitlines() or [''])[-1]}")
        walls += mine
        print(
            f"steth doctor {v['name']} ({v['network']}, {v['node']}): median {statistics.median(mine):.2f} s of {runs}"
        )
    print(
        f"steth doctor, healthy OVN VMs: median {statistics.median(walls):.2f} s, max {max(walls):.2f} s "
        f"(target < 10 s); the VM's own packet: median {statistics.median(probes) if probes else 0:.2f} s"
    )


if __name__ == "__main__":
    sys.exit(main())
