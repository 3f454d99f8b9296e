"""Read-only access to OVN's Northbound and Southbound databases (ovsdbapp), and the cluster state of
each member (its ``_Server`` database over OVSDB JSON-RPC).

Nothing here writes: the IDL registers only the tables steth reads, takes no lock and never commits.
Reads go to any member (``leader_only=False``), so a follower of a cluster without quorum still answers
with what it has -- the cluster check says whether that can be trusted.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import OvnError, OvnUnreachable
from .ovn_model import (
    Acl,
    Chassis,
    ChassisPrivate,
    ClusterMember,
    DhcpOptions,
    Encap,
    GatewayChassis,
    LogicalRouter,
    LogicalRouterPort,
    LogicalSwitch,
    LogicalSwitchPort,
    Nat,
    NbGlobal,
    NbSnapshot,
    OvnConfig,
    PortBinding,
    PortGroup,
    SbSnapshot,
)

DATABASES = {"nb": "OVN_Northbound", "sb": "OVN_Southbound"}
NB_TABLES = (
    "NB_Global",
    "Logical_Switch",
    "Logical_Switch_Port",
    "Logical_Router",
    "Logical_Router_Port",
    "Gateway_Chassis",
    "NAT",
    "ACL",
    "Port_Group",
    "DHCP_Options",
)
SB_TABLES = ("SB_Global", "Chassis", "Chassis_Private", "Encap", "Port_Binding", "Datapath_Binding")
_ssl_lock = threading.Lock()  # python-ovs keeps the SSL files in class attributes


def _one(value: Any, default: Any = None) -> Any:
    """An optional OVSDB column (a list of 0 or 1 items) as its value or ``default``."""
    if isinstance(value, list):
        return value[0] if value else default
    return value


def _name(row: Any) -> str:
    return getattr(row, "name", "") if row is not None else ""


def _describe(exc: BaseException) -> str:
    """ovsdbapp's exceptions may fail in str() (TimeoutException without .msg): never let that escape."""
    try:
        text = str(exc)
    except Exception:
        text = ""
    return text or type(exc).__name__


def _ssl(config: OvnConfig, db: str) -> None:
    import ovs.stream

    key, cert, ca = (getattr(config, f"{db}_{k}") for k in ("private_key", "certificate", "ca_cert"))
    if any(r.startswith("ssl:") for r in config.remotes(db)):
        if not (key and cert and ca):
            raise OvnError(
                f"[ovn] {db}_connection uses ssl: but {db}_private_key, {db}_certificate or {db}_ca_cert is not set",
                "copy them from Neutron's [ovn] section (ovn_{db}_private_key ...)",
            )
        ovs.stream.Stream.ssl_set_private_key_file(key)
        ovs.stream.Stream.ssl_set_certificate_file(cert)
        ovs.stream.Stream.ssl_set_ca_cert_file(ca)


def _tables(config: OvnConfig, db: str, tables: Iterable[str]) -> dict[str, Any]:
    """Connect to ``db`` (any member), wait for the initial dump of ``tables``, return them, disconnect."""
    from ovsdbapp.backend.ovs_idl import connection, idlutils

    remotes = config.remotes(db)
    if not remotes:
        raise OvnError(f"[ovn] {db}_connection is empty", "e.g. nb_connection = tcp:192.0.2.10:6641")
    with prepared(config, db):
        try:
            helper = idlutils.get_schema_helper(",".join(remotes), DATABASES[db])
        except Exception as exc:  # ovsdbapp raises bare Exception when no remote answers
            raise OvnUnreachable(
                f"no {DATABASES[db]} member answered at {', '.join(remotes)}: {_describe(exc)}",
                f"check [ovn] {db}_connection and that ovsdb-server listens there",
            ) from exc
        for table in tables:
            if table in helper.schema_json["tables"]:
                helper.register_table(table)
        idl = connection.OvsdbIdl(",".join(remotes), helper, leader_only=False)
        conn = connection.Connection(idl, timeout=config.timeout)
        try:
            conn.start()
        except Exception as exc:  # TimeoutException and socket errors
            raise OvnUnreachable(
                f"reading {DATABASES[db]} from {', '.join(remotes)} failed after {config.timeout:g} s: "
                f"{_describe(exc)}",
                "a member that is not connected to its cluster (no quorum) serves no reads",
            ) from exc
        try:
            return {name: list(t.rows.values()) for name, t in idl.tables.items()}
        finally:
            conn.stop(timeout=2)


def read_nb(config: OvnConfig) -> NbSnapshot:
    t = _tables(config, "nb", NB_TABLES)
    g = (t.get("NB_Global") or [None])[0]
    nb_global = NbGlobal(
        nb_cfg=getattr(g, "nb_cfg", 0),
        sb_cfg=getattr(g, "sb_cfg", 0),
        hv_cfg=getattr(g, "hv_cfg", 0),
        nb_cfg_timestamp=getattr(g, "nb_cfg_timestamp", 0),
        hv_cfg_timestamp=getattr(g, "hv_cfg_timestamp", 0),
    )
    switches, ports = {}, {}
    for ls in t.get("Logical_Switch", []):
        names = tuple(p.name for p in ls.ports)
        switches[ls.name] = LogicalSwitch(
            name=ls.name,
            uuid=str(ls.uuid),
            ports=names,
            other_config=dict(ls.other_config),
            external_ids=dict(ls.external_ids),
        )
        for p in ls.ports:
            dhcp = _one(p.dhcpv4_options)
            ports[p.name] = LogicalSwitchPort(
                name=p.name,
                switch=ls.name,
                type=p.type,
                addresses=tuple(p.addresses),
                port_security=tuple(p.port_security),
                up=_one(p.up),
                enabled=_one(p.enabled),
                options=dict(p.options),
                external_ids=dict(p.external_ids),
                dhcpv4_options=str(dhcp.uuid) if dhcp is not None else "",
            )
    routers, router_ports = {}, {}
    for lr in t.get("Logical_Router", []):
        nats = tuple(
            Nat(
                router=lr.name,
                type=n.type,
                external_ip=n.external_ip,
                logical_ip=n.logical_ip,
                logical_port=_one(n.logical_port, ""),
                external_mac=_one(n.external_mac, ""),
                external_ids=dict(n.external_ids),
            )
            for n in lr.nat
        )
        routers[lr.name] = LogicalRouter(
            name=lr.name,
            ports=tuple(p.name for p in lr.ports),
            nat=nats,
            options=dict(lr.options),
            external_ids=dict(lr.external_ids),
        )
        for p in lr.ports:
            router_ports[p.name] = LogicalRouterPort(
                name=p.name,
                router=lr.name,
                mac=p.mac,
                networks=tuple(p.networks),
                gateway_chassis=tuple(
                    sorted(
                        (GatewayChassis(g.chassis_name, g.priority) for g in p.gateway_chassis),
                        key=lambda g: -g.priority,
                    )
                ),
                external_ids=dict(p.external_ids),
                options=dict(p.options),
            )
    port_groups = {
        pg.name: PortGroup(
            name=pg.name,
            ports=tuple(p.name for p in pg.ports),
            acls=tuple(Acl(a.direction, a.priority, a.match, a.action, dict(a.external_ids)) for a in pg.acls),
            external_ids=dict(pg.external_ids),
        )
        for pg in t.get("Port_Group", [])
    }
    dhcp_options = {
        str(d.uuid): DhcpOptions(
            uuid=str(d.uuid), cidr=d.cidr, options=dict(d.options), external_ids=dict(d.external_ids)
        )
        for d in t.get("DHCP_Options", [])
    }
    return NbSnapshot(nb_global, switches, ports, routers, router_ports, port_groups, dhcp_options)


def read_sb(config: OvnConfig) -> SbSnapshot:
    t = _tables(config, "sb", SB_TABLES)
    g = (t.get("SB_Global") or [None])[0]
    chassis = {}
    for c in t.get("Chassis", []):
        chassis[c.name] = Chassis(
            name=c.name,
            uuid=str(c.uuid),
            hostname=c.hostname,
            encaps=tuple(Encap(e.type, e.ip, e.chassis_name) for e in c.encaps),
            other_config=dict(getattr(c, "other_config", {})),
            external_ids=dict(c.external_ids),
        )
    private = {}
    for p in t.get("Chassis_Private", []):
        private[p.name] = ChassisPrivate(
            name=p.name,
            chassis=_name(_one(p.chassis)),
            nb_cfg=p.nb_cfg,
            nb_cfg_timestamp=getattr(p, "nb_cfg_timestamp", 0),
            external_ids=dict(getattr(p, "external_ids", {})),
        )
    bindings = {}
    for b in t.get("Port_Binding", []):
        dp = b.datapath
        bindings[b.logical_port] = PortBinding(
            logical_port=b.logical_port,
            type=b.type,
            chassis=_name(_one(b.chassis)),
            up=_one(getattr(b, "up", [])),
            requested_chassis=_name(_one(getattr(b, "requested_chassis", []))),
            datapath=dict(dp.external_ids).get("name", "") if dp is not None else "",
            mac=tuple(b.mac),
            options=dict(b.options),
        )
    return SbSnapshot(nb_cfg=getattr(g, "nb_cfg", 0), chassis=chassis, chassis_private=private, port_bindings=bindings)


def cluster_member(remote: str, database: str, timeout: float = 3.0) -> ClusterMember:
    """Ask one member for its ``_Server`` Database row of ``database`` (a read-only select)."""
    import ovs.jsonrpc
    import ovs.stream

    err, stream = ovs.stream.Stream.open_block(ovs.stream.Stream.open(remote), int(timeout * 1000))
    if err or stream is None:
        import os

        return ClusterMember(remote, reachable=False, error=os.strerror(err) if err else "no stream")
    rpc = ovs.jsonrpc.Connection(stream)
    try:
        return member_on(rpc, remote, database, timeout)
    finally:
        rpc.close()


def member_on(rpc: Any, remote: str, database: str, timeout: float) -> ClusterMember:
    """The member at the other end of an open JSON-RPC connection, as its ``_Server`` database reports it."""
    import ovs.jsonrpc

    op = {"op": "select", "table": "Database", "where": [["name", "==", database]]}
    err, reply = transact(rpc, ovs.jsonrpc.Message.create_request("transact", ["_Server", op]), timeout)
    if err or reply is None or reply.error:
        why = err or str(getattr(reply, "error", "no reply"))
        return ClusterMember(remote, reachable=False, error=why)
    rows = reply.result[0].get("rows", []) if reply.result else []
    if not rows:
        return ClusterMember(remote, reachable=True, error=f"serves no {database} database")
    row = rows[0]

    def opt(v: Any) -> Any:  # OVSDB wire form: ["set", []] for an empty optional, ["uuid", x] for uuids
        if isinstance(v, list) and v and v[0] == "set":
            v = v[1][0] if v[1] else None
        if isinstance(v, list) and v and v[0] == "uuid":
            v = v[1]
        return v

    index = opt(row.get("index"))
    return ClusterMember(
        remote=remote,
        reachable=True,
        model=row.get("model", ""),
        connected=bool(row.get("connected")),
        leader=bool(row.get("leader")),
        index=int(index) if index is not None else None,
        sid=str(opt(row.get("sid")) or ""),
        cid=str(opt(row.get("cid")) or ""),
    )


def transact(rpc: Any, request: Any, timeout: float) -> tuple[str, Any]:
    """Send ``request`` and wait at most ``timeout`` s for its reply (a hung member must not hang steth)."""
    import errno
    import os
    import time

    import ovs.poller

    err = rpc.send(request)
    if err:
        return os.strerror(err), None
    deadline = time.monotonic() + timeout
    while True:
        rpc.run()
        err, msg = rpc.recv()
        if msg is not None and msg.id == request.id:
            return "", msg
        if err and err != errno.EAGAIN:
            return os.strerror(err) if err > 0 else "connection closed", None
        left = deadline - time.monotonic()
        if left <= 0:
            return f"no answer within {timeout:g} s (connected, but the server does not respond)", None
        poller = ovs.poller.Poller()
        rpc.wait(poller)
        rpc.recv_wait(poller)
        poller.timer_wait(int(left * 1000) + 1)
        poller.block()


@contextmanager
def prepared(config: OvnConfig, db: str) -> Iterator[None]:
    """python-ovs ready to open streams to ``db``, for the block: every entry point opens its streams in one.

    The fast JSON parser is installed first (python-ovs' pure-Python one took most of the CPU of a
    1000-port dump), before any stream exists: ``ovs.json.Parser``'s methods name their class through
    the module global, so a parser made before the swap fails in mid-message once it is swapped (seen
    when doctor read the cluster and the databases concurrently). ``db``'s SSL files are then set and
    kept for the block: python-ovs holds them in class attributes, shared by NB and SB streams.
    """
    from .ovs_json import install

    install()
    with _ssl_lock:
        _ssl(config, db)
        yield


def cluster(config: OvnConfig, db: str) -> list[ClusterMember]:
    """Every member named in ``[ovn] {db}_connection``, asked concurrently."""
    import concurrent.futures

    remotes = config.remotes(db)
    with prepared(config, db), concurrent.futures.ThreadPoolExecutor(max_workers=max(1, len(remotes))) as pool:
        return list(pool.map(lambda r: cluster_member(r, DATABASES[db], min(config.timeout, 3.0)), remotes))
