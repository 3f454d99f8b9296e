"""Undo steps that are Neutron API calls (a fault that changed a port, router or floating IP).

The step records the lab's API port and one ``conn.network.<call>(*args, **kwargs)``
as plain JSON, so `steth lab fault remove` or `steth lab down` in a later process
can make the call without knowing how the fault was made. Importing this module
registers the step kind with host/undo.py.
"""

from __future__ import annotations

from typing import Any

from ...host import undo
from ..neutron.record import NeutronRecord
from ..state import LabState

KIND = "neutron-api"


def step(state: LabState, call: str, *args: Any, **kwargs: Any) -> undo.Step:
    """``conn.network.<call>(*args, **kwargs)`` against this lab's neutron-server."""
    port = NeutronRecord.require(state).ports.api
    return {"kind": KIND, "api_port": port, "call": call, "args": list(args), "kwargs": kwargs}


KIND_DELETE_NAMED = "neutron-delete-named"
KIND_WAIT_PORT = "neutron-wait-port"


def delete_named(state: LabState, resource: str, name: str) -> undo.Step:
    """Delete every ``resource`` (e.g. "security_group") called ``name``: recordable before the
    object exists (its id is known only once it is made)."""
    port = NeutronRecord.require(state).ports.api
    return {"kind": KIND_DELETE_NAMED, "api_port": port, "resource": resource, "name": name}


def wait_port(state: LabState, port_id: str, status: str = "ACTIVE", timeout: float = 60.0) -> undo.Step:
    """Wait (bounded) until a port's status is ``status``; fails the undo (a problem) if it never is."""
    port = NeutronRecord.require(state).ports.api
    return {"kind": KIND_WAIT_PORT, "api_port": port, "port_id": port_id, "status": status, "timeout": timeout}


def _connect(s: undo.Step) -> Any:
    import openstack

    return openstack.connection.Connection(
        auth_type="none", region_name="RegionOne", network_endpoint_override=f"http://127.0.0.1:{s['api_port']}/"
    )


def _run(s: undo.Step) -> None:
    getattr(_connect(s).network, s["call"])(*s.get("args", []), **s.get("kwargs", {}))


def _run_delete_named(s: undo.Step) -> None:
    net = _connect(s).network
    for obj in list(getattr(net, f"{s['resource']}s")(name=s["name"])):
        getattr(net, f"delete_{s['resource']}")(obj, ignore_missing=True)


def _run_wait_port(s: undo.Step) -> None:
    import time

    net = _connect(s).network
    deadline = time.monotonic() + float(s.get("timeout", 60))
    status = ""
    while time.monotonic() < deadline:
        status = net.get_port(s["port_id"]).status
        if status == s["status"]:
            return
        time.sleep(0.5)
    raise TimeoutError(f"port {s['port_id']} is {status}, not {s['status']}, after {s.get('timeout', 60)} s")


undo.register(KIND, _run)
undo.register(KIND_DELETE_NAMED, _run_delete_named)
undo.register(KIND_WAIT_PORT, _run_wait_port)
