"""The watch's VLAN heartbeat: every N rounds an agent sends one 802.1Q frame per VLAN on its trunk, and
listens all the time for its probers' frames; a VLAN a prober's frames stopped arriving on is a VLAN
the switches no longer carry between the two.

Frames are steth's VLAN probe frames (host/packets.py, ethertype 0x88B5, broadcast) under a fixed run id;
the sender is named by the node (its name, or a digest of it when longer than 32 characters). A listener
thread per trunk network reads in windows of 1.5 heartbeat periods; a VLAN counts as missing from a
prober when none of its frames on it arrived in the last two windows (so one frame lost to the instant
between two windows is no alarm).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable

from ..errors import HostError
from ..host import packets

log = logging.getLogger("steth.agent.watch")
RUN_ID = "5737a7c4"  # "steth watch", as the probe frames' run id


def sender_id(node: str) -> str:
    """A node's name as a probe frame's sender (1-32 characters)."""
    return node if len(node) <= 32 else hashlib.blake2b(node.encode(), digest_size=16).hexdigest()


def send(interface: str, source: str, vlans: list[int], rate: float) -> str | None:
    """One heartbeat (one frame per VLAN, ``rate`` frames/s); the error, or None. Blocking."""
    try:
        done = packets.send_probes(interface, RUN_ID, sender_id(source), vlans, rate=rate)
    except HostError as exc:
        return str(exc)
    return done.error if done.sent != len(vlans) else None


class HeartbeatListener:
    """Hears the probers' heartbeats on one interface; ``missing()`` per prober, updated each window."""

    def __init__(
        self,
        network: str,
        interface: str,
        probers: list[str],
        vlans: list[int],
        window: float,
        on_window: Callable[[dict[str, list[int]]], None],
    ) -> None:
        self.network, self.interface, self.vlans, self.window = network, interface, vlans, window
        self.ids = {sender_id(p): p for p in probers}
        self.on_window = on_window
        self.error: str | None = None
        self.last: dict[str, list[int]] = {}
        self._previous: dict[str, set[int]] = {}
        self._windows = 0
        self._stop = threading.Event()
        self._listener: packets.Listener | None = None
        self._thread = threading.Thread(target=self._run, name=f"watch-vlan-{interface}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._listener is not None:
            self._listener.stop()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._listener = packets.Listener(self.interface, RUN_ID)
                heard = self._listener.capture(time.monotonic() + self.window)
                self.error = None
            except (OSError, HostError) as exc:
                self.error = f"cannot listen on {self.interface}: {exc}"
                self._stop.wait(self.window)
                continue
            if self._stop.is_set():
                return
            now: dict[str, set[int]] = {p: set() for p in self.ids.values()}
            for (sender, _iface), vlans in heard.by_sender.items():
                if sender in self.ids:
                    now[self.ids[sender]] |= vlans
            self._windows += 1
            if self._windows < 2:  # a prober's first heartbeat may still be on its way
                self._previous = now
                continue
            self.last = {p: sorted(set(self.vlans) - now[p] - self._previous.get(p, set())) for p in self.ids.values()}
            self._previous = now
            self.on_window(self.last)
