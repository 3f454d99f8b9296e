"""Doing one thing inside a named network namespace without moving the agent there.

setns(2) changes the calling thread only, so the work runs in a fresh thread that
enters the namespace and ends; a socket opened there keeps its namespace for life.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable
from typing import TypeVar

CLONE_NEWNET = 0x40000000
NETNS_DIR = "/run/netns"

_libc = ctypes.CDLL(None, use_errno=True)
T = TypeVar("T")


def exists(name: str) -> bool:
    return os.path.exists(os.path.join(NETNS_DIR, name))


def call_in(netns: str | None, fn: Callable[[], T]) -> T:
    """``fn()`` run with the thread in ``netns`` (a name under /run/netns); in place when None.

    Raises FileNotFoundError when the namespace does not exist.
    """
    if not netns:
        return fn()
    result: dict = {}

    def body() -> None:
        try:
            with open(os.path.join(NETNS_DIR, netns)) as fh:
                if _libc.setns(fh.fileno(), CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"setns into {netns}: {os.strerror(err)}")
            result["value"] = fn()
        except BaseException as exc:  # handed to the caller
            result["error"] = exc

    t = threading.Thread(target=body, name=f"netns-{netns}")
    t.start()
    t.join()
    if "error" in result:
        raise result["error"]
    return result["value"]
