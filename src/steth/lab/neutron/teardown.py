"""`lab down` for the Neutron part: recorded processes, what the agents started, their namespaces."""

from __future__ import annotations

import concurrent.futures
import os
import re
from collections.abc import Callable

from ...host import proc
from ..state import LabState
from .record import NeutronRecord

Progress = Callable[[str], None]
STOP_ORDER: tuple[Callable[[str], bool], ...] = (
    lambda n: "agent" in n or n.startswith("inet-"),
    lambda n: n == "neutron-server",
    lambda n: n.startswith(("ovs-vswitchd", "ovsdb-server", "ovn-", "socat")),
    lambda n: n in ("rabbit-beam", "rabbitmq", "epmd", "mariadbd"),
)
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _quiet(_: str) -> None:
    pass


def stop_all(rec: NeutronRecord, progress: Progress = _quiet) -> None:
    """Stop every recorded process by PID and start time, group by group (:data:`STOP_ORDER`)."""
    progress(f"stopping {len(rec.procs)} Neutron lab processes")
    left = dict(rec.procs)
    for group in STOP_ORDER:
        recs = [left.pop(n) for n in list(left) if group(n)]
        _terminate(recs)
    _terminate(list(left.values()))


def _terminate(recs: list[proc.ProcRecord]) -> None:
    if recs:
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(recs)) as pool:
            list(pool.map(lambda r: proc.terminate(r, timeout=10.0), recs))


def router_ids_in(state_path: str) -> set[str]:
    """Router ids the L3 agent left files for under its state path (ha_confs/<id>, external/pids/<id>.pid.*)."""
    found: set[str] = set()
    for sub in ("ha_confs", os.path.join("external", "pids")):
        try:
            names = os.listdir(os.path.join(state_path, sub))
        except OSError:
            continue
        for name in names:
            m = UUID_RE.match(name)
            if m:
                found.add(m.group(0))
    return found


def agent_namespaces(rec: NeutronRecord) -> list[str]:
    """qdhcp-/qrouter- namespaces of this lab's networks and routers (recorded, or found in the agents' state)."""
    net_ids = set(rec.networks.values())
    dhcp_dir = os.path.join(rec.dir, "state-network", "dhcp")
    if os.path.isdir(dhcp_dir):
        net_ids |= {d for d in os.listdir(dhcp_dir) if len(d) == 36}
    if rec.external and rec.external.network_id:
        net_ids.add(rec.external.network_id)
    router_ids = router_ids_in(os.path.join(rec.dir, "state-network"))
    if rec.router:
        router_ids.add(rec.router.id)
    names = [f"qdhcp-{n}" for n in sorted(net_ids)] + [f"qrouter-{r}" for r in sorted(router_ids)]
    if rec.dvr:  # the network node's SNAT namespace (dvr_snat) and, were a floating IP there, its fip-
        names += [f"snat-{r}" for r in sorted(router_ids)]
        if rec.external and rec.external.network_id:
            names.append(f"fip-{rec.external.network_id}")
    return names


def down(state: LabState, progress: Progress = _quiet) -> list[str]:
    """Stop every recorded Neutron process, then what they started (found by the lab's unique directory),
    and remove the qdhcp/qrouter namespaces of our networks and routers.

    The lab's own namespaces (the internet, the VMs) are in ``state.namespaces``: the caller removes them
    after this. Returns problems.
    """
    from pyroute2 import netns as pnetns

    rec = NeutronRecord.load(state)
    if rec is None:
        return []
    stop_all(rec, progress)
    strays = proc.pids_naming(rec.dir + os.sep)  # privsep helpers and dnsmasq the agents started
    if strays:
        proc.kill_pids(strays)
    problems: list[str] = []
    existing = set(pnetns.listnetns())
    for ns in agent_namespaces(rec):
        if ns in existing:
            try:
                pnetns.remove(ns)
            except OSError as exc:
                problems.append(f"removing {ns}: {exc}")
    return problems
