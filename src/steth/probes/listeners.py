"""Who listens in a network namespace: its listening TCP sockets (sock_diag, from inside it) and the
processes holding each (their /proc/PID/fd links name the socket's inode), with the pid file a process's
config names (haproxy: the ``pidfile`` line of the ``-f`` file), read only."""

from __future__ import annotations

import os

from ..errors import HostError
from ..host import netlink, netns, proc, sockets
from ..wire.listeners import Listener, ListenerProcess, NetnsListeners
from ..wire.verdict import Verdict


def socket_owners(inodes: set[int], net_inode: int | None = None) -> dict[int, list[int]]:
    """inode -> PIDs whose open descriptors include ``socket:[inode]``; only the processes of the network
    namespace whose inode is ``net_inode`` when given (one stat each instead of reading every descriptor)."""
    want = {f"socket:[{i}]": i for i in inodes if i}
    found: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if net_inode is not None and os.stat(f"/proc/{entry}/ns/net").st_ino != net_inode:
                continue
            fds = os.listdir(f"/proc/{entry}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                inode = want.get(os.readlink(f"/proc/{entry}/fd/{fd}"))
            except OSError:
                continue
            if inode is not None and int(entry) not in found.setdefault(inode, []):
                found[inode].append(int(entry))
    return found


def config_pidfile(argv: list[str]) -> str | None:
    """The pid file named by ``--pidfile=``/``-p FILE``, or by a ``pidfile`` line of the ``-f`` config."""
    for i, arg in enumerate(argv):
        if arg.startswith("--pidfile="):
            return arg.split("=", 1)[1]
        if arg == "-p" and i + 1 < len(argv):
            return argv[i + 1]
    for i, arg in enumerate(argv[:-1]):
        if arg == "-f":
            try:
                with open(argv[i + 1]) as fh:
                    for line in fh:
                        words = line.split()
                        if len(words) == 2 and words[0] == "pidfile":
                            return words[1]
            except OSError:
                return None
    return None


def _pid_in(path: str | None) -> int | None:
    if not path:
        return None
    try:
        with open(path) as fh:
            return int(fh.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def describe(pid: int) -> ListenerProcess:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            argv = [a.decode(errors="replace") for a in fh.read().split(b"\0") if a]
        with open(f"/proc/{pid}/comm") as fh:
            command = fh.read().strip()
    except OSError:
        argv, command = [], ""
    pidfile = config_pidfile(argv)
    return ListenerProcess(pid=pid, command=command, argv=argv, pidfile=pidfile, pidfile_pid=_pid_in(pidfile))


def listeners(namespace: str) -> NetnsListeners:
    if not netns.exists(namespace):
        return NetnsListeners(
            netns=namespace, exists=False, verdict=Verdict.FAIL, detail=f"network namespace {namespace} does not exist"
        )
    try:
        found = netns.call_in(namespace, sockets.listening_inodes)
        interfaces = netlink.list_interfaces(namespace)
        net_inode = os.stat(netns.path(namespace)).st_ino
    except (OSError, HostError) as exc:
        return NetnsListeners(netns=namespace, verdict=Verdict.ERROR, detail=f"cannot read {namespace}: {exc}")
    owners = socket_owners({inode for _, _, inode in found}, net_inode)
    out = [
        Listener(
            address=a,
            port=p,
            processes=[describe(pid) for pid in sorted(owners.get(inode, [])) if proc.is_alive(pid)],
        )
        for a, p, inode in sorted(found)
    ]
    return NetnsListeners(
        netns=namespace, interfaces=interfaces, listeners=out, detail=f"{len(out)} listening TCP sockets"
    )
