"""Wall time of `steth doctor` on the Neutron lab: healthy VMs, then VMs with a fault.

Targets (issue 7): under 15 s on a healthy VM, under 20 s on a broken one.
Uses a running Neutron lab (`--lab NAME`), or builds one under a temporary
STETH_LAB_ROOT and removes it afterwards. Each VM is asked `--to` the lab's
internet host, so the router path is walked too.

Usage (root, after scripts/setup.sh): .venv/bin/python benchmarks/doctor.py [--lab NAME] [--runs 3]
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

BIN = os.path.dirname(sys.executable)
STETH = os.path.join(BIN, "steth")
FAULTS = [
    ("port-admin-down", ["--vm", "vm1"], "vm1"),
    ("dnsmasq-stopped", ["--network", "vxlan"], "vm2"),
    ("vxlan-block", ["--node", "compute-1", "--to", "network"], "vm2"),
]


def doctor(env: dict[str, str], lab: str, vm: str, to: str | None) -> tuple[float, int, str]:
    argv = [STETH, "doctor", f"{lab}-{vm}", "-f", "json"] + (["--to", to] if to else [])
    t0 = time.monotonic()
    r = subprocess.run(argv, env=env, capture_output=True, text=True)
    wall = time.monotonic() - t0
    try:
        last = json.loads(r.stdout)[-1]
        verdict = f"{last['verdict']}: {last['cause'] or last['evidence'][:60]}"
    except (ValueError, IndexError, KeyError):
        verdict = (r.stderr or r.stdout).strip()[-120:]
    return wall, r.returncode, verdict


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lab", help="an existing Neutron lab (default: build one named dbench)")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    root = os.environ.get("STETH_LAB_ROOT")
    built = False
    lab = args.lab or "dbench"
    env = dict(os.environ)
    if not args.lab:
        root = tempfile.mkdtemp(prefix="steth-bench-")
        env["STETH_LAB_ROOT"] = root
        up = subprocess.run([STETH, "lab", "up", "--name", lab, "--neutron"], env=env, capture_output=True, text=True)
        if up.returncode != 0:
            print(up.stdout, up.stderr, file=sys.stderr)
            return 1
        built = True
    directory = os.path.join(root or "/var/lib/steth", f"lab-{lab}")
    env.update(
        STETH_CONFIG=f"{directory}/steth.conf",
        OS_CLIENT_CONFIG_FILE=f"{directory}/clouds.yaml",
        OS_CLOUD=f"steth-{lab}",
    )
    with open(f"{directory}/state.json") as fh:
        state = json.load(fh)
    to = (state["extra"]["neutron"].get("external") or {}).get("internet_host")
    vms = [v["name"] for v in state["extra"]["neutron"]["vms"]]
    try:
        healthy = []
        print(f"steth doctor VM{' --to ' + to if to else ''} on lab {lab}, {args.runs} runs per VM")
        for vm in vms:
            for _ in range(args.runs):
                wall, rc, verdict = doctor(env, lab, vm, to)
                healthy.append(wall)
                print(f"  healthy {vm}: {wall:5.2f} s  exit {rc}  {verdict}")
        broken = []
        for kind, params, vm in FAULTS:
            add = subprocess.run(
                [STETH, "lab", "fault", "add", kind, *params, "--name", lab], env=env, capture_output=True, text=True
            )
            if add.returncode != 0:
                print(f"  {kind}: could not add: {add.stderr.strip()}")
                continue
            try:
                for _ in range(args.runs):
                    wall, rc, verdict = doctor(env, lab, vm, to)
                    broken.append(wall)
                    print(f"  {kind:16s} {vm}: {wall:5.2f} s  exit {rc}  {verdict}")
            finally:
                subprocess.run([STETH, "lab", "fault", "remove", "--all", "--name", lab], env=env, capture_output=True)
        for name, xs, target in (("healthy", healthy, 15), ("broken", broken, 20)):
            if xs:
                print(
                    f"{name}: median {statistics.median(xs):.2f} s, max {max(xs):.2f} s "
                    f"over {len(xs)} runs (target under {target} s)"
                )
    finally:
        if built:
            subprocess.run([STETH, "lab", "down", "--name", lab], env=env, capture_output=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
