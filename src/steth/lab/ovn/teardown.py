"""`lab down` for the ML2/OVN lab: stops the OVN processes `up` recorded; the ML2/OVS lab's ``down`` then
stops the rest it shares (neutron-server, the nodes' Open vSwitch, MariaDB, the internet namespace)."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable

from ...host import proc
from ..state import LabState

Progress = Callable[[str], None]


def is_ovn(state: LabState) -> bool:
    return state.extra.get("neutron", {}).get("backend") == "ovn"


def _stop(names: list[str], procs: dict[str, proc.ProcRecord]) -> None:
    recs = [procs[n] for n in names if n in procs]
    if not recs:
        return
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(recs)) as pool:
        list(pool.map(lambda r: proc.terminate(r, timeout=10.0), recs))


def down(state: LabState, progress: Progress = lambda _: None) -> list[str]:
    """Stop the ovn-controllers, then ovn-northd and the NB/SB cluster members. Returns problems."""
    if not is_ovn(state):
        return []
    rec = state.extra["neutron"]
    procs = {name: proc.ProcRecord.from_json(data) for name, data in rec.get("procs", {}).items()}
    ovn = [n for n in procs if n.startswith("ovn-")]
    progress(f"stopping {len(ovn)} OVN processes")
    _stop([n for n in ovn if n.startswith("ovn-controller-")], procs)
    _stop(["ovn-northd"], procs)
    _stop([n for n in ovn if n.startswith(("ovn-nb-", "ovn-sb-"))], procs)
    left = [n for n in ovn if proc.is_running(procs[n])]
    return [f"{n} (pid {procs[n].pid}) did not stop" for n in left]
