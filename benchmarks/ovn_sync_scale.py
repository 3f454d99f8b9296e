"""`steth ovn sync-check` of an ML2/OVN cloud with 1000 ports (target: under 5 s).

Brings up the ML2/OVN lab, creates a network `steth-bench` with a /20 subnet and N ports on it
through the Neutron API (bulk POSTs of 100, the project's port quota lifted), times
`steth ovn sync-check` (whole cloud) three times, deletes the ports and the network (and times that),
then takes the lab down.

Usage (root, after scripts/setup.sh): .venv/bin/python benchmarks/ovn_sync_scale.py [--ports 1000] [--name osync]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lab_bench import STETH, lab_up  # noqa: E402

BATCH = 100


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float, subprocess.CompletedProcess]:
    """Wall time and the CPU time (user + system, its threads included) of the steth process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.monotonic()
    done = subprocess.run([STETH, *argv], env=env, capture_output=True, text=True)
    wall = time.monotonic() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, done


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ports", type=int, default=1000)
    ap.add_argument("--name", default="osync")
    args = ap.parse_args()
    if not 1 <= args.ports <= 4000:
        raise SystemExit("--ports must be 1-4000 (the /20 subnet holds 4093 addresses)")
    with lab_up(args.name, 2, "--neutron", "--backend", "ovn") as lab:
        print(f"lab up --neutron --backend ovn: {lab.up_seconds:.1f} s")
        import openstack

        os.environ.update({k: lab.env[k] for k in ("OS_CLIENT_CONFIG_FILE", "OS_CLOUD")})
        conn = openstack.connect(cloud=lab.env["OS_CLOUD"])
        net = conn.network.create_network(name="steth-bench")
        # Neutron's default quota is 500 ports per project: lifted for the lab's project
        conn.network.update_quota(net.project_id, ports=-1)
        conn.network.create_subnet(network_id=net.id, ip_version=4, cidr="10.240.0.0/20", name="steth-bench")
        t = time.monotonic()
        ids: list[str] = []
        try:
            for start in range(0, args.ports, BATCH):
                n = min(BATCH, args.ports - start)
                body = {"ports": [{"network_id": net.id, "name": f"steth-bench-{start + i}"} for i in range(n)]}
                resp = conn.network.post("/ports", json=body)
                resp.raise_for_status()
                ids += [p["id"] for p in resp.json()["ports"]]
            print(f"{len(ids)} ports created through the Neutron API in {time.monotonic() - t:.1f} s")
            for i in range(3):
                took, cpu, done = timed(["ovn", "sync-check", "-f", "json"], lab.env)
                summary = (done.stderr.strip().splitlines() or [""])[-1]
                print(
                    f"steth ovn sync-check #{i + 1}: {took:.2f} s (target < 5 s), steth's CPU {cpu:.2f} s, "
                    f"load {os.getloadavg()[0]:.1f}, exit {done.returncode}: {summary}"
                )
            took, cpu, done = timed(["ovn", "sync-check", "--no-agents", "-f", "json"], lab.env)
            print(f"steth ovn sync-check --no-agents: {took:.2f} s, CPU {cpu:.2f} s, exit {done.returncode}")
        finally:
            t = time.monotonic()
            with ThreadPoolExecutor(16) as pool:
                list(pool.map(lambda pid: conn.network.delete_port(pid, ignore_missing=True), ids))
            conn.network.delete_network(net.id)
            print(f"{len(ids)} ports and the network deleted in {time.monotonic() - t:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
