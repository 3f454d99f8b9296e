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
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

BIN = os.path.dirname(sys.executable)
STETH = os.path.join(BIN, "steth")


def used_kib() -> int:
    info = {}
    with open("/proc/meminfo") as fh:
        for line in fh:
            k, v = line.split(":", 1)
            info[k] = int(v.split()[0])
    return info["MemTotal"] - info["MemAvailable"]


def pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def lab_pids(directory: str) -> dict[int, str]:
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as fh:
                    cmd = fh.read()
            except OSError:
                continue
            if directory.encode() in cmd:
                try:
                    with open(f"/proc/{entry}/comm") as fh:
                        found[int(entry)] = fh.read().strip()
                except OSError:
                    continue
    return found


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
    root = tempfile.mkdtemp(prefix="steth-nbench-")
    env = {**os.environ, "STETH_LAB_ROOT": root}
    directory = f"{root}/lab-{args.name}"
    before = used_kib()
    t0 = time.monotonic()
    up = subprocess.run(
        [
            STETH,
            "lab",
            "up",
            "--name",
            args.name,
            "--computes",
            str(args.computes),
            "--neutron",
            "--backend",
            args.backend,
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    t_up = time.monotonic() - t0
    try:
        if up.returncode != 0:
            print(up.stdout, up.stderr)
            return 1
        with open(f"{directory}/state.json") as fh:
            state = json.load(fh)
        time.sleep(5)  # let the agents settle (first sync done) before measuring memory
        pids = lab_pids(directory)
        by_name: dict[str, int] = {}
        for pid, name in pids.items():
            by_name[name] = by_name.get(name, 0) + pss_kib(pid)
        total = sum(by_name.values())
        print(
            f"lab up --neutron --backend {args.backend}, {args.computes} computes: {t_up:.1f} s "
            f"(Neutron part {state['extra']['neutron'].get('up_seconds')} s)"
        )
        print(f"processes naming the lab directory: {len(pids)}, PSS {total / 1024:.0f} MiB")
        for name, kib in sorted(by_name.items(), key=lambda kv: -kv[1]):
            print(f"  {name:32s} {kib / 1024:7.1f} MiB")
        print(f"host used memory rose by {(used_kib() - before) / 1024:.0f} MiB")
        run_env = {
            **env,
            "STETH_CONFIG": f"{directory}/steth.conf",
            "OS_CLIENT_CONFIG_FILE": f"{directory}/clouds.yaml",
            "OS_CLOUD": f"steth-{args.name}",
        }
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
    finally:
        t = time.monotonic()
        down = subprocess.run([STETH, "lab", "down", "--name", args.name], env=env, capture_output=True, text=True)
        print(f"lab down: {time.monotonic() - t:.1f} s (exit {down.returncode})")
        left = lab_pids(directory)
        if left:
            print(f"LEFT BEHIND: {left}")
        os.rmdir(root) if os.path.isdir(root) and not os.listdir(root) else None
    return 0


if __name__ == "__main__":
    sys.exit(main())
