"""Open vSwitch database access through ovsdbapp (the library Neutron uses).

One connection per database address is opened lazily and reused; a failed
connection is dropped so the next request tries again.
"""

from __future__ import annotations

import os
import socket
import threading
from typing import Any

from ..errors import CapabilityMissing, HostError

DEFAULT_CONNECTION = "unix:/var/run/openvswitch/db.sock"
_lock = threading.Lock()
_apis: dict[str, Any] = {}


def probe_reachable(connection: str, timeout: float = 0.5) -> tuple[bool, str]:
    """Cheap reachability test of an OVSDB address (no ovsdbapp import)."""
    kind, _, rest = connection.partition(":")
    try:
        if kind == "unix":
            if not os.path.exists(rest):
                return False, f"no Open vSwitch database socket at {rest}"
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(timeout)
                s.connect(rest)
        elif kind == "tcp":
            host, _, port = rest.rpartition(":")
            with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
                pass
        else:
            return False, f"unsupported OVSDB connection {connection!r} (use unix:PATH or tcp:HOST:PORT)"
    except (OSError, ValueError) as exc:
        return False, f"Open vSwitch database at {connection} not reachable: {exc}"
    return True, f"Open vSwitch database at {connection}"


def api(connection: str = DEFAULT_CONNECTION, timeout: float = 5.0) -> Any:
    """The ovsdbapp Open_vSwitch API for ``connection``; CapabilityMissing if OVS is absent."""
    ok, detail = probe_reachable(connection)
    if not ok:
        raise CapabilityMissing(detail, "start Open vSwitch or set ovsdb_connection in the agent config")
    with _lock:
        if connection in _apis:
            return _apis[connection]
        try:
            from ovsdbapp.backend.ovs_idl import connection as ovs_connection
            from ovsdbapp.schema.open_vswitch import impl_idl

            idl = ovs_connection.OvsdbIdl.from_server(connection, "Open_vSwitch")
            conn = ovs_connection.Connection(idl=idl, timeout=timeout)
            _apis[connection] = impl_idl.OvsdbIdl(conn)
        except Exception as exc:  # ovsdbapp raises bare Exception on schema fetch failure
            raise HostError(f"cannot connect to Open vSwitch at {connection}: {exc}") from exc
        return _apis[connection]


def forget(connection: str) -> None:
    with _lock:
        _apis.pop(connection, None)


def bridge_ports(bridge: str, connection: str = DEFAULT_CONNECTION) -> list[str] | None:
    """Port names on ``bridge``, or None when the bridge does not exist."""
    ovs = api(connection)
    try:
        if not ovs.br_exists(bridge).execute(check_error=True):
            return None
        return list(ovs.list_ports(bridge).execute(check_error=True))
    except Exception as exc:
        forget(connection)
        raise HostError(f"Open vSwitch query on bridge {bridge!r} failed: {exc}") from exc


def rundir(connection: str) -> str:
    """OVS run directory (ovs-vswitchd's pidfile and control socket) for a database connection:
    the directory of a unix socket, else the default."""
    kind, _, rest = connection.partition(":")
    if kind == "unix" and rest:
        return os.path.dirname(rest)
    return os.path.dirname(DEFAULT_CONNECTION.partition(":")[2])


def _plain(value: Any) -> Any:
    """ovsdbapp row values -> JSON-able Python (UUID refs to str, empty optionals to None)."""
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "hex") and type(value).__name__ == "UUID":
        return str(value)
    return value


def _one(value: Any) -> Any:
    """An optional column (a 0- or 1-element list in OVSDB) as a value or None."""
    if isinstance(value, list):
        return value[0] if value else None
    return value


def tables(connection: str = DEFAULT_CONNECTION) -> dict[str, list[dict[str, Any]]]:
    """Bridge, Port, Interface and Open_vSwitch rows (as plain dicts with '_uuid')."""
    ovs = api(connection)
    try:
        out = {}
        for table in ("Bridge", "Port", "Interface", "Open_vSwitch"):
            out[table] = [
                {k: _plain(v) for k, v in row.items()} for row in ovs.db_list(table).execute(check_error=True)
            ]
        return out
    except Exception as exc:
        forget(connection)
        raise HostError(f"Open vSwitch query failed: {exc}") from exc
