"""OVN central for the ML2/OVN lab: the Northbound and Southbound databases as 3-member Raft
clusters and ovn-northd, all in the root namespace on loopback and unix sockets.

Each member listens on a unix socket (ovn-northd, ovn-controllers inside node namespaces, which cannot
reach the root namespace's 127.0.0.1 -- the recipe's pitfall O7) and on 127.0.0.1 TCP (neutron-server,
steth). Raft itself only runs over TCP (or SSL), on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import subprocess
import zlib
from dataclasses import dataclass

from ....errors import LabError
from ..services import Services, env, wait

MEMBERS = 3
PORT_SLOTS = 50
PORT_BASE = 21000
# db key -> (database name, schema file)
DATABASES = {
    "nb": ("OVN_Northbound", "/usr/share/ovn/ovn-nb.ovsschema"),
    "sb": ("OVN_Southbound", "/usr/share/ovn/ovn-sb.ovsschema"),
}


@dataclass(frozen=True)
class OvnPorts:
    """127.0.0.1 TCP ports of one lab's OVN central (chosen by the lab name, checked free at `up`)."""

    nb: tuple[int, ...]  # client remotes of the NB members
    sb: tuple[int, ...]
    nb_raft: tuple[int, ...]  # Raft between the NB members
    sb_raft: tuple[int, ...]

    def all(self) -> list[int]:
        return [*self.nb, *self.sb, *self.nb_raft, *self.sb_raft]


def ovn_ports(lab: str) -> OvnPorts:
    base = PORT_BASE + (zlib.crc32(lab.encode()) % PORT_SLOTS) * 4 * MEMBERS
    r = [tuple(base + k * MEMBERS + i for i in range(MEMBERS)) for k in range(4)]
    return OvnPorts(nb=r[0], sb=r[1], nb_raft=r[2], sb_raft=r[3])


def member_name(db: str, i: int) -> str:
    """Process/record name of member ``i`` (1-based) of ``db`` (nb or sb): ovn-nb-1 ..."""
    return f"ovn-{db}-{i}"


def tcp_remotes(ports: tuple[int, ...]) -> str:
    return ",".join(f"tcp:127.0.0.1:{p}" for p in ports)


class Central:
    """Creates, starts and records the clustered NB/SB members and ovn-northd of one lab."""

    def __init__(self, svc: Services) -> None:
        self.b = svc
        self.dir = svc.path("ovn")
        self.ports = ovn_ports(svc.state.lab)

    def sock(self, db: str, i: int) -> str:
        return os.path.join(self.dir, f"{db}{i}.sock")

    def ctl(self, name: str) -> str:
        return os.path.join(self.dir, f"{name}.ctl")

    def unix_remotes(self, db: str) -> str:
        return ",".join(f"unix:{self.sock(db, i)}" for i in range(1, MEMBERS + 1))

    def record(self) -> dict:
        """What steth and the faults need: remotes per member, control sockets, ports."""
        out: dict = {"dir": self.dir, "members": MEMBERS}
        for db in DATABASES:
            client = getattr(self.ports, db)
            out[db] = [
                {
                    "name": member_name(db, i),
                    "tcp": f"tcp:127.0.0.1:{client[i - 1]}",
                    "unix": f"unix:{self.sock(db, i)}",
                    "ctl": self.ctl(member_name(db, i)),
                }
                for i in range(1, MEMBERS + 1)
            ]
        out["northd_ctl"] = self.ctl("ovn-northd")
        return out

    def create(self, db: str) -> None:
        """ovsdb-tool create-cluster for member 1, join-cluster for the others (files only)."""
        name, schema = DATABASES[db]
        raft = getattr(self.ports, f"{db}_raft")
        os.makedirs(self.dir, exist_ok=True)
        first = f"tcp:127.0.0.1:{raft[0]}"
        self.b.run(
            ["ovsdb-tool", "create-cluster", os.path.join(self.dir, f"{db}1.db"), schema, first],
            what=f"ovsdb-tool create-cluster {name}",
        )
        for i in range(2, MEMBERS + 1):
            self.b.run(
                [
                    "ovsdb-tool",
                    "join-cluster",
                    os.path.join(self.dir, f"{db}{i}.db"),
                    name,
                    f"tcp:127.0.0.1:{raft[i - 1]}",
                    first,
                ],
                what=f"ovsdb-tool join-cluster {name} member {i}",
            )

    def start_member(self, db: str, i: int) -> None:
        name = member_name(db, i)
        port = getattr(self.ports, db)[i - 1]
        self.b.spawn(
            name,
            [
                "ovsdb-server",
                os.path.join(self.dir, f"{db}{i}.db"),
                f"--remote=punix:{self.sock(db, i)}",
                f"--remote=ptcp:{port}:127.0.0.1",
                f"--unixctl={self.ctl(name)}",
                f"--pidfile={os.path.join(self.dir, name + '.pid')}",
                f"--log-file={os.path.join(self.dir, name + '.log')}",
            ],
            env=self.env(),
        )

    def env(self) -> dict[str, str]:
        return env(self.dir, OVS_RUNDIR=self.dir, OVN_RUNDIR=self.dir, OVS_DBDIR=self.dir, OVS_LOGDIR=self.dir)

    def start(self) -> None:
        for db in DATABASES:
            self.create(db)
            for i in range(1, MEMBERS + 1):
                self.start_member(db, i)

    def has_leader(self, db: str) -> bool:
        """A member of ``db`` reports itself connected to the cluster and one member is the leader."""
        name = DATABASES[db][0]
        leader = False
        for i in range(1, MEMBERS + 1):
            row = server_row(self.sock(db, i), name, self.env())
            if row is None or not row.get("connected"):
                return False
            leader = leader or bool(row.get("leader"))
        return leader

    def wait(self) -> None:
        for db in DATABASES:
            wait(
                f"OVN {DATABASES[db][0]} cluster of {MEMBERS} with a leader",
                lambda db=db: self.has_leader(db),
                30,
                alive=self._members_alive(db),
                log=self.dir,
            )

    def _members_alive(self, db: str):
        return self.b.exited(*(member_name(db, i) for i in range(1, MEMBERS + 1)))

    def northd(self) -> None:
        self.b.spawn(
            "ovn-northd",
            [
                "ovn-northd",
                f"--ovnnb-db={self.unix_remotes('nb')}",
                f"--ovnsb-db={self.unix_remotes('sb')}",
                f"--unixctl={self.ctl('ovn-northd')}",
                f"--pidfile={os.path.join(self.dir, 'ovn-northd.pid')}",
                f"--log-file={os.path.join(self.dir, 'ovn-northd.log')}",
            ],
            env=self.env(),
        )


def server_row(sock: str, database: str, env: dict[str, str]) -> dict | None:
    """The member's ``_Server`` Database row for ``database`` (leader, connected, index), None if unreachable."""
    query = json.dumps(["_Server", {"op": "select", "table": "Database", "where": [["name", "==", database]]}])
    try:
        done = subprocess.run(
            ["ovsdb-client", "--timeout=2", "transact", f"unix:{sock}", query],
            capture_output=True,
            text=True,
            timeout=5,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None
    if done.returncode != 0:
        return None
    try:
        rows = json.loads(done.stdout)[0]["rows"]
    except (ValueError, KeyError, IndexError) as exc:
        raise LabError(f"ovsdb-client answered {done.stdout[:200]!r}: {exc}") from exc
    return rows[0] if rows else None
