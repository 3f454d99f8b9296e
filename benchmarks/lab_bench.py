"""What the lab benchmarks share: bring a lab up under a temporary STETH_LAB_ROOT, time it, print the
memory of its processes, hand its environment to the caller, and take it down (timed) whatever happens.

Used by neutron_lab.py, ovn_lab.py and ovn_sync_scale.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

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


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess]:
    t = time.monotonic()
    done = subprocess.run([STETH, *argv], env=env, capture_output=True, text=True)
    return time.monotonic() - t, done


@dataclass
class Lab:
    name: str
    directory: str
    state: dict
    env: dict[str, str]  # STETH_CONFIG, OS_CLOUD...: the lab's steth.conf and cloud
    up_seconds: float
    used_before: int

    def print_memory(self) -> None:
        """PSS of every process naming the lab directory, by name, and the rise of the host's used memory."""
        pids = lab_pids(self.directory)
        by_name: dict[str, int] = {}
        for pid, name in pids.items():
            by_name[name] = by_name.get(name, 0) + pss_kib(pid)
        print(f"processes naming the lab directory: {len(pids)}, PSS {sum(by_name.values()) / 1024:.0f} MiB")
        for name, kib in sorted(by_name.items(), key=lambda kv: -kv[1]):
            print(f"  {name:32s} {kib / 1024:7.1f} MiB")
        print(f"host used memory rose by {(used_kib() - self.used_before) / 1024:.0f} MiB")


@contextmanager
def lab_up(name: str, computes: int, *up_args: str) -> Iterator[Lab]:
    """`steth lab up --name NAME --computes N UP_ARGS...` timed; the lab goes down (timed) on the way out.
    SystemExit(1) when `up` fails (its output printed)."""
    root = tempfile.mkdtemp(prefix=f"steth-{name}-")
    env = {**os.environ, "STETH_LAB_ROOT": root}
    directory = f"{root}/lab-{name}"
    before = used_kib()
    t_up, up = timed(["lab", "up", "--name", name, "--computes", str(computes), *up_args], env)
    try:
        if up.returncode != 0:
            print(up.stdout, up.stderr)
            raise SystemExit(1)
        with open(f"{directory}/state.json") as fh:
            state = json.load(fh)
        run_env = {
            **env,
            "STETH_CONFIG": f"{directory}/steth.conf",
            "OS_CLIENT_CONFIG_FILE": f"{directory}/clouds.yaml",
            "OS_CLOUD": f"steth-{name}",
        }
        yield Lab(name, directory, state, run_env, t_up, before)
    finally:
        t, down = timed(["lab", "down", "--name", name], env)
        print(f"lab down: {t:.1f} s (exit {down.returncode})")
        left = lab_pids(directory)
        if left:
            print(f"LEFT BEHIND: {left}")
        os.rmdir(root) if os.path.isdir(root) and not os.listdir(root) else None
