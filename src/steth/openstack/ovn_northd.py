"""Is an ovn-northd active? Asked of the Southbound leader through the lock every northd takes.

The active ovn-northd holds the OVSDB lock ``ovn_northd`` on the SB database; standbys queue for it. The
probe asks the SB leader for the same lock and gives it back in the same breath: refused (``locked``
false) means another client holds it, i.e. an ovn-northd is active; granted means no northd holds it --
none is running, or every one is paused. Granted, steth holds the lock for one round trip; a northd that
starts in that moment waits that long (it queues, and gets the lock at the ``unlock``).

Locks are per server, and ovn-northd connects to the leader of a clustered SB (its IDL is leader-only):
so the probe asks the leader, which the ``_Server`` database named (:func:`steth.openstack.ovn.cluster`),
and a grant counts only if that member still says it is the leader (leadership may move in between).
This is the one request of steth's OVN code that is not a read; it changes no table.
"""

from __future__ import annotations

from dataclasses import dataclass

from .ovn_model import ClusterMember, OvnConfig

LOCK = "ovn_northd"


@dataclass(frozen=True)
class NorthdLock:
    """What the SB leader answered to a request for northd's lock."""

    remote: str  # the member asked ("" when none could be)
    held: bool | None  # True: another client (an ovn-northd) holds it; None: not known (see error)
    error: str = ""


def probe(config: OvnConfig, members: list[ClusterMember]) -> NorthdLock:
    """Ask the SB leader (or a standalone SB) for ``ovn_northd`` and release it at once."""
    from . import ovn

    leaders = [m for m in members if m.reachable and (m.leader or m.model == "standalone")]
    if len(leaders) != 1:
        return NorthdLock("", None, f"no single SB leader to ask ({len(leaders)} found)")
    remote = leaders[0].remote
    with ovn.prepared(config, "sb"):
        return _ask(remote, min(config.timeout, 3.0))


def _ask(remote: str, timeout: float) -> NorthdLock:
    import os

    import ovs.jsonrpc
    import ovs.stream

    from .ovn import DATABASES, member_on, transact

    err, stream = ovs.stream.Stream.open_block(ovs.stream.Stream.open(remote), int(timeout * 1000))
    if err or stream is None:
        return NorthdLock(remote, None, os.strerror(err) if err else "no stream")
    rpc = ovs.jsonrpc.Connection(stream)
    try:
        why, reply = transact(rpc, ovs.jsonrpc.Message.create_request("lock", [LOCK]), timeout)
        if why or reply is None or reply.error:
            return NorthdLock(remote, None, why or f"lock request refused: {getattr(reply, 'error', 'no reply')}")
        locked = bool((reply.result or {}).get("locked"))
        # released either way: granted, we give it back; refused, we leave the queue behind the holder
        transact(rpc, ovs.jsonrpc.Message.create_request("unlock", [LOCK]), timeout)
        if locked:  # granted means "no northd" only where northd takes its lock: still the leader?
            now = member_on(rpc, remote, DATABASES["sb"], timeout)
            if not (now.leader or now.model == "standalone"):
                return NorthdLock(remote, None, f"{remote} granted the lock but is no longer the SB leader")
        return NorthdLock(remote, held=not locked)
    finally:
        rpc.close()
