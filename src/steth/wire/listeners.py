"""A service namespace's interfaces, its listening TCP sockets and the processes holding them
(GET /v1/netns/{name}/listeners): e.g. the metadata proxy (haproxy) in OVN's ``ovnmeta-`` namespace."""

from __future__ import annotations

from pydantic import BaseModel

from .models import Interface
from .verdict import Verdict


class ListenerProcess(BaseModel):
    """A process holding the listening socket; ``pidfile``/``pidfile_pid``: the pid file its config names
    (haproxy's ``pidfile`` line of its ``-f`` config) and the PID written there (None: unreadable)."""

    pid: int
    command: str = ""
    argv: list[str] = []
    pidfile: str | None = None
    pidfile_pid: int | None = None


class Listener(BaseModel):
    address: str
    port: int
    processes: list[ListenerProcess] = []


class NetnsListeners(BaseModel):
    netns: str
    exists: bool = True
    interfaces: list[Interface] = []  # the namespace's own (one namespace read, not /v1/netns's every one)
    listeners: list[Listener] = []
    verdict: Verdict = Verdict.OK
    detail: str = ""

    def on_port(self, port: int) -> list[Listener]:
        return [x for x in self.listeners if x.port == port]


__all__ = ["Listener", "ListenerProcess", "NetnsListeners"]
