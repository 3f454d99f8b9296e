"""Undo steps: a recorded way to reverse one change to the host.

Both the agent's leases and the lab's faults record, for every change they
make, the step that reverses it, as plain JSON, so a later process (after a
crash, or `steth lab down`) can undo it without knowing how it was made.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from ..errors import HostError
from . import netlink, proc

Step = dict[str, Any]

# Step kinds owned by other layers (e.g. the lab's Neutron API calls): kind -> handler.
# A handler raises on failure; run() turns that into a problem string like any other step.
_HANDLERS: dict[str, Callable[[Step], None]] = {}


def register(kind: str, handler: Callable[[Step], None]) -> None:
    """Teach run() a step kind that this module cannot know (host/ must not import the lab)."""
    _HANDLERS[kind] = handler


def argv(cmd: list[str], netns: str | None = None) -> Step:
    """Run a command (argv, no shell), optionally inside a namespace."""
    return {"kind": "argv", "argv": list(cmd), "netns": netns}


def link_set(ifname: str, netns: str | None = None, **attrs: Any) -> Step:
    """Set link attributes back (mtu=..., state='up'|'down')."""
    return {"kind": "link", "ifname": ifname, "netns": netns, "attrs": attrs}


def link_del(ifname: str, netns: str | None = None) -> Step:
    return {"kind": "link_del", "ifname": ifname, "netns": netns}


def addr_del(ifname: str, address: str, prefixlen: int, netns: str | None = None) -> Step:
    return {"kind": "addr_del", "ifname": ifname, "address": address, "prefixlen": prefixlen, "netns": netns}


def addr_add(ifname: str, address: str, prefixlen: int, netns: str | None = None) -> Step:
    """Put back an address that a change removed (e.g. `setup-link --flush`)."""
    return {"kind": "addr_add", "ifname": ifname, "address": address, "prefixlen": prefixlen, "netns": netns}


def process(rec: proc.ProcRecord) -> Step:
    return {"kind": "process", "proc": rec.to_json()}


def path(p: str) -> Step:
    return {"kind": "path", "path": p}


def _wait_operstate_up(ipr: Any, index: int, timeout: float = 3.0) -> None:
    """The kernel applies carrier-on through linkwatch up to a second later, and drops
    traffic until then: wait for it, so an undone link-down really is undone."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        link = ipr.get_links(index)[0]
        if link.get("operstate") in ("UP", "UNKNOWN"):
            return
        time.sleep(0.05)


def _link(step: Step, action: str, **extra: Any) -> None:
    with netlink.iproute(step.get("netns")) as ipr:
        found = ipr.link_lookup(ifname=step["ifname"])
        if not found:
            return  # already gone: nothing to undo
        if action == "set":
            ipr.link("set", index=found[0], **extra)
            if extra.get("state") == "up":
                _wait_operstate_up(ipr, found[0])
        elif action == "del":
            ipr.link("del", index=found[0])
        elif action == "addr_add":
            try:
                ipr.addr("add", index=found[0], address=extra["address"], prefixlen=extra["prefixlen"])
            except Exception as exc:  # EEXIST: already back
                if getattr(exc, "code", None) != 17:
                    raise
        elif action == "addr_del":
            try:
                ipr.addr("del", index=found[0], address=extra["address"], prefixlen=extra["prefixlen"])
            except Exception as exc:  # EADDRNOTAVAIL: already removed
                if "99" not in str(getattr(exc, "code", "")) and "Cannot assign" not in str(exc):
                    raise


def run(step: Step) -> str | None:
    """Perform one undo step; returns a problem description, or None when done (or nothing to do)."""
    kind = step.get("kind")
    try:
        if kind == "argv":
            done = proc.run(step["argv"], netns=step.get("netns"), timeout=30)
            if done.returncode != 0:
                return f"{' '.join(step['argv'])}: exit {done.returncode}: {done.stderr.strip()[:200]}"
        elif kind == "link":
            _link(step, "set", **step["attrs"])
        elif kind == "link_del":
            _link(step, "del")
        elif kind == "addr_del":
            _link(step, "addr_del", address=step["address"], prefixlen=step["prefixlen"])
        elif kind == "addr_add":
            _link(step, "addr_add", address=step["address"], prefixlen=step["prefixlen"])
        elif kind == "process":
            proc.terminate(proc.ProcRecord.from_json(step["proc"]))
        elif kind == "path":
            if os.path.lexists(step["path"]):
                os.unlink(step["path"])
        elif kind in _HANDLERS:
            _HANDLERS[kind](step)
        else:
            return f"unknown undo step {kind!r}"
    except (HostError, OSError, ValueError, KeyError) as exc:
        return f"{kind}: {exc}"
    except Exception as exc:  # pyroute2 NetlinkError and friends: report, keep undoing the rest
        return f"{kind}: {type(exc).__name__}: {exc}"
    return None


def run_all(steps: list[Step]) -> list[str]:
    """Undo in reverse order of recording; every step is tried, problems are returned."""
    return [p for p in (run(s) for s in reversed(steps)) if p]
