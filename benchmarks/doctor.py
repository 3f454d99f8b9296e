"""Wall time of `steth doctor` on the Neutron lab: healthy VMs, then VMs with a fault; and the time of the VM's
own packet (its captures on every hop, the injection, the window), which runs alongside the DHCP trace.

Targets: under 10 s on a healthy VM (issue 13), under 20 s on a broken one (issue 7); the VM's own packet
under 2 s (what it can add at most: it overlaps the DHCP trace's 7 s, so on a healthy path it adds nothing
to the wall time unless it outlasts that).
Uses a running Neutron lab (`--lab NAME`), or builds one under a temporary
STETH_LAB_ROOT and removes it afterwards. Each VM is asked `--to` the lab's
internet host, so the router path is walked too.

On a Linux bridge lab (`--lab` of `lab up --neutron --backend linuxbridge`) the faults are Linux bridge ones.

Usage (root, after scripts/setup.sh): .venv/bin/python benchmarks/doctor.py [--lab NAME] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import re
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
    ("router-no-forward", [], "vm2"),
]
LB_FAULTS = [  # ML2/Linux bridge (`lab up --neutron --backend linuxbridge`): vxlan-block drops UDP 4789, not 8472
    ("lb-tap-unbridged", ["--vm", "vm1"], "vm1"),
    ("lb-fdb-removed", ["--vm", "vm1"], "vm1"),
    ("router-no-forward", [], "vm2"),
]
PROBE_RE = re.compile(r"\] \((\d+\.\d+) s\)")  # the VM's own packet row ends "... [hops ...] (1.8 s)"
probe_times: list[float] = []


def doctor(env: dict[str, str], lab: str, vm: str, to: str | None) -> tuple[float, int, str]:
    argv = [STETH, "doctor", f"{lab}-{vm}", "-f", "json"] + (["--to", to] if to else [])
    t0 = time.monotonic()
    r = subprocess.run(argv, env=env, capture_output=True, text=True)
    wall = time.monotonic() - t0
    try:
        rows = json.loads(r.stdout)
        own = next((x for x in rows if x["check"] == "VM's own packet"), None)
        m = PROBE_RE.search(own["evidence"]) if own else None
        if m:
            probe_times.append(float(m.group(1)))
        last = rows[-1]
        verdict = f"{last['verdict']}: {last['cause'] or last['evidence'][:60]}"
    except (ValueError, IndexError, KeyError):
        verdict = (r.stderr or r.stdout).strip()[-120:]
    return wall, r.returncode, verdict


def walk(
    env: dict[str, str], lab: str, vms: list[str], to: str | None, faults: list[tuple[str, list[str], str]], runs: int
) -> tuple[list[float], list[float]]:
    """doctor on every VM healthy, then on each fault's VM with the fault in place (removed after);
    (healthy walls, broken walls), each run printed."""
    healthy: list[float] = []
    for vm in vms:
        for _ in range(runs):
            wall, rc, verdict = doctor(env, lab, vm, to)
            healthy.append(wall)
            print(f"  healthy {vm}: {wall:5.2f} s  exit {rc}  {verdict}")
    broken: list[float] = []
    for kind, params, vm in faults:
        add = subprocess.run(
            [STETH, "lab", "fault", "add", kind, *params, "--name", lab], env=env, capture_output=True, text=True
        )
        if add.returncode != 0:
            print(f"  {kind}: could not add: {add.stderr.strip()}")
            continue
        try:
            for _ in range(runs):
                wall, rc, verdict = doctor(env, lab, vm, to)
                broken.append(wall)
                print(f"  {kind:20s} {vm}: {wall:5.2f} s  exit {rc}  {verdict}")
        finally:
            subprocess.run([STETH, "lab", "fault", "remove", "--all", "--name", lab], env=env, capture_output=True)
    return healthy, broken


def summarise(healthy: list[float], broken: list[float]) -> None:
    for name, xs, target in (("healthy", healthy, 10), ("broken", broken, 20), ("VM's own packet", probe_times, 2)):
        if xs:
            print(
                f"doctor {name}: median {statistics.median(xs):.2f} s, max {max(xs):.2f} s "
                f"over {len(xs)} runs (target under {target} s)"
            )


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
        print(f"steth doctor VM{' --to ' + to if to else ''} on lab {lab}, {args.runs} runs per VM")
        faults = LB_FAULTS if state["extra"]["neutron"].get("backend") == "ml2lb" else FAULTS
        healthy, broken = walk(env, lab, vms, to, faults, args.runs)
        summarise(healthy, broken)
    finally:
        if built:
            subprocess.run([STETH, "lab", "down", "--name", lab], env=env, capture_output=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
