"""Waiting for the lab's services: a free port, a ready AMQP broker or unix socket, any condition with a
deadline that fails early when the process it waits for has died."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

from ...errors import LabError


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT of a previous lab is not "in use"
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait(
    what: str, check: Callable[[], bool], timeout: float, *, alive: Callable[[], str] | None = None, log: str = ""
) -> None:
    """Poll ``check`` until true; LabError after ``timeout`` or as soon as ``alive`` names a problem."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # a probe that raises is just "not yet"
            pass
        if alive is not None:
            problem = alive()
            if problem:
                raise LabError(f"{what}: {problem}", f"see {log}" if log else None)
        time.sleep(0.25)
    raise LabError(f"{what}: not ready after {timeout:g} s", f"see {log}" if log else None)


def amqp_ready(port: int) -> bool:
    """RabbitMQ answers an AMQP 0-9-1 protocol header with Connection.Start (a method frame)."""
    with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
        s.sendall(b"AMQP\x00\x00\x09\x01")
        s.settimeout(2)
        return s.recv(1)[:1] == b"\x01"


def unix_ready(path: str) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(1)
        s.connect(path)
    return True
