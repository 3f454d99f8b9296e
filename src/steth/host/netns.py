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


_extra_dirs: tuple[str, ...] = ()


def configure(dirs: list[str]) -> None:
    """Further directories of named namespaces, searched before /run/netns (the agent's ``netns_dirs``).

    A lab node's neutron-ovn-metadata-agent runs in a mount namespace of its own (several simulated nodes
    share this machine's /run/netns, and each would make the same ``ovnmeta-<network>``); the lab links
    ``<labdir>/<node>/netns`` to that mount namespace's /run/netns for the node's steth-agent.
    """
    global _extra_dirs
    _extra_dirs = tuple(d for d in dirs if d)


def dirs() -> tuple[str, ...]:
    return (*_extra_dirs, NETNS_DIR)


def path(name: str) -> str:
    """The file of namespace ``name``: the first directory holding it, else /run/netns/NAME."""
    for d in _extra_dirs:
        p = os.path.join(d, name)
        if os.path.exists(p):
            return p
    return os.path.join(NETNS_DIR, name)


def exists(name: str) -> bool:
    return os.path.exists(path(name))


def names() -> list[str]:
    """Every named namespace of the searched directories, each once."""
    found: set[str] = set()
    for d in dirs():
        try:
            found.update(n for n in os.listdir(d) if not os.path.isdir(os.path.join(d, n)))
        except OSError:
            continue
    return sorted(found)


def call_in(netns: str | None, fn: Callable[[], T]) -> T:
    """``fn()`` run with the thread in ``netns`` (a name under /run/netns); in place when None.

    Raises FileNotFoundError when the namespace does not exist.
    """
    if not netns:
        return fn()
    result: dict = {}

    def body() -> None:
        try:
            with open(path(netns)) as fh:
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
