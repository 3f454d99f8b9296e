"""Undo steps that are Neutron API calls (a fault that changed a port, router or floating IP).

The step records the lab's API port and one ``conn.network.<call>(*args, **kwargs)``
as plain JSON, so `steth lab fault remove` or `steth lab down` in a later process
can make the call without knowing how the fault was made. Importing this module
registers the step kind with host/undo.py.
"""

from __future__ import annotations

from typing import Any

from ..host import undo
from .state import LabState

KIND = "neutron-api"


def step(state: LabState, call: str, *args: Any, **kwargs: Any) -> undo.Step:
    """``conn.network.<call>(*args, **kwargs)`` against this lab's neutron-server."""
    port = state.extra["neutron"]["ports"]["api"]
    return {"kind": KIND, "api_port": port, "call": call, "args": list(args), "kwargs": kwargs}


def _run(s: undo.Step) -> None:
    import openstack

    conn = openstack.connection.Connection(auth_type="none", region_name="RegionOne",
                                           network_endpoint_override=f"http://127.0.0.1:{s['api_port']}/")
    getattr(conn.network, s["call"])(*s.get("args", []), **s.get("kwargs", {}))


undo.register(KIND, _run)
