"""What every Neutron lab backend (ML2/OVS, ML2/OVN, Linux bridge) shares: recorded processes, MariaDB,
RabbitMQ, neutron-server. Debian's packages, run by hand, every file under ``<labdir>/neutron``.

* MariaDB on a unix socket only (``--skip-networking``); SQLite cannot run Neutron's migrations
  nor its multi-process server.
* RabbitMQ (and its epmd) on 127.0.0.1 only; agents inside node namespaces reach it through socat
  relays (node 127.0.0.1:PORT -> unix socket -> root 127.0.0.1:PORT): :meth:`Services.relay_rabbit`.
* neutron-server (noauth) on 127.0.0.1, its ML2 section given by the backend.

Every process is recorded (PID and start time) in the lab state before anything else is done, so
`steth lab down` (teardown.stop_all) stops exactly those, even after a failed `up`.

A backend uses it in this order::

    svc = Services(state, rec)                     # rec: NeutronRecord (ports, dir)
    svc.preflight(BINARIES)                        # clear error when a package is missing
    svc.write_server_config(ml2={...}, service_plugins="router")
    svc.start_rabbit(); svc.start_mariadb()        # RabbitMQ boots while MariaDB and the schema are made
    svc.start_server()                             # neutron-db-manage upgrade heads, then neutron-server
    svc.wait_rabbit(); svc.relay_rabbit(node_ns, node_name)   # per node, for agents using RPC
    svc.wait_api()
    svc.spawn(name, argv, netns=...)               # the backend's own agents/daemons, recorded the same way
"""

from __future__ import annotations

import os
import shutil
import subprocess
import urllib.request
import zlib
from collections.abc import Callable
from typing import Any

from ...errors import LabError
from ...host import proc
from ..state import LabState
from .readiness import amqp_ready, port_free, unix_ready, wait
from .record import NeutronRecord, Ports

Progress = Callable[[str], None]
PORT_SLOTS = 50
NEUTRON_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
RABBIT_SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"
BINARIES = ("neutron-server", "neutron-db-manage", "mariadbd", "mariadb-install-db", "epmd", "socat", "nsenter")


def _quiet(_: str) -> None:
    pass


def ports_for(lab: str) -> Ports:
    k = zlib.crc32(lab.encode()) % PORT_SLOTS
    return Ports(api=19696 + k, amqp=15699 + k, dist=25699 + k, epmd=14399 + k)


def neutron_dir(state: LabState) -> str:
    return os.path.join(state.directory, "neutron")


def clouds_path(state: LabState) -> str:
    return os.path.join(state.directory, "clouds.yaml")


def cloud_name(state: LabState) -> str:
    return f"steth-{state.lab}"


def env(home: str, **extra: str) -> dict[str, str]:
    """A clean environment: Debian's neutron must run on /usr/bin/python3, not a venv/pyenv python."""
    return {"PATH": NEUTRON_PATH, "HOME": home, "LANG": "C.UTF-8", **extra}


def ini(sections: dict[str, dict[str, Any]]) -> str:
    """An oslo.config file from {section: {key: value}}."""
    out = []
    for name, values in sections.items():
        out.append(f"[{name}]")
        out += [f"{k} = {v}" for k, v in values.items()]
        out.append("")
    return "\n".join(out)


class Services:
    """Process supervision and the shared control plane of one lab's Neutron (see the module docstring)."""

    def __init__(self, state: LabState, rec: NeutronRecord) -> None:
        self.state = state
        self.rec = rec
        self.dir = rec.dir
        self.ports = rec.ports
        os.makedirs(self.logs, exist_ok=True)
        os.makedirs(self.path("etc"), exist_ok=True)

    # --- paths ---
    def path(self, *parts: str) -> str:
        return os.path.join(self.dir, *parts)

    @property
    def logs(self) -> str:
        return self.path("logs")

    def conf(self, name: str) -> str:
        return self.path("etc", name)

    def write(self, path: str, text: str) -> str:
        with open(path, "w") as fh:
            fh.write(text)
        return path

    def save(self) -> None:
        self.rec.save(self.state)

    # --- processes ---
    def spawn(
        self,
        name: str,
        argv: list[str],
        *,
        netns: str | None = None,
        env: dict[str, str] | None = None,
        group: bool = False,
    ) -> proc.ProcRecord:
        """Start a long-running process and record it before doing anything else.

        In a namespace through ``nsenter --net`` (not ``ip netns exec``): agents create ``qdhcp-*`` and
        ``qrouter-*`` namespaces, which must be visible outside their mount namespace. ``group``: stopped
        with its process group (a supervisor and the daemon it restarts).
        """
        if netns:
            argv = ["nsenter", f"--net=/run/netns/{netns}", *argv]
        log = os.path.join(self.logs, f"{name}.out")
        rec = proc.spawn(argv, log_path=log, env=env or _env_of(self.dir), group=group)
        self.rec.record_proc(name, rec)
        self.save()
        return rec

    def exited(self, *names: str, match: Callable[[str], bool] | None = None) -> Callable[[], str]:
        """A check for :func:`wait`: "<name> exited" when a recorded process (by name or ``match``) is gone."""

        def check() -> str:
            procs = dict(self.rec.procs)  # a copy: node threads record processes meanwhile
            chosen = [n for n in procs if n in names or (match is not None and match(n))]
            dead = [n for n in chosen if not proc.is_running(procs[n])]
            return f"{', '.join(dead)} exited" if dead else ""

        return check

    def record_pidfile(self, name: str, path: str) -> None:
        """Record a process that forked itself (its PID from ``path``)."""
        try:
            with open(path) as fh:
                pid = int(fh.read().split()[0])
        except (OSError, ValueError, IndexError):
            return
        rec = proc.record_of(pid, ("pidfile", path))
        if rec:
            self.rec.record_proc(name, rec)
            self.save()

    def run(
        self,
        argv: list[str],
        *,
        netns: str | None = None,
        timeout: float = 60,
        what: str = "",
        env: dict[str, str] | None = None,
    ) -> str:
        """Run a short command to completion; LabError with its output when it fails."""
        if netns:
            argv = ["nsenter", f"--net=/run/netns/{netns}", *argv]
        done = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env or _env_of(self.dir),
            check=False,
        )
        if done.returncode != 0:
            raise LabError(
                f"{what or argv[0]} failed (exit {done.returncode}): {(done.stderr or done.stdout).strip()[-400:]}"
            )
        return done.stdout

    def preflight(self, binaries: tuple[str, ...]) -> None:
        """Clear errors for missing packages and loopback ports in use."""
        missing = [b for b in (*BINARIES, *binaries) if not shutil.which(b, path=NEUTRON_PATH)]
        if not os.path.exists(RABBIT_SERVER):
            missing.append("rabbitmq-server")
        if missing:
            raise LabError(
                f"the Neutron lab needs {', '.join(sorted(set(missing)))}, not installed",
                "run `bash scripts/setup.sh` as root (installs Debian's neutron, mariadb, rabbitmq, socat, busybox)",
            )
        busy = [f"127.0.0.1:{p}" for p in vars(self.ports).values() if not port_free(p)]
        if busy:
            raise LabError(
                f"ports {', '.join(busy)} for lab {self.state.lab}'s Neutron are in use",
                "another Neutron lab with a name in the same port slot may be up; use another --name",
            )

    # --- MariaDB ---
    def start_mariadb(self) -> None:
        """Create the data directory, start mariadbd on a unix socket, create the ``neutron`` database."""
        d = self.path("mysql")
        # its own tmpdir: a starting mariadbd deletes every "#sql*" file in its tmpdir, which breaks
        # another lab's MariaDB bootstrapping at the same moment in a shared /tmp
        tmp = os.path.join(d, "tmp")
        os.makedirs(tmp, exist_ok=True)
        common = ["--no-defaults", f"--datadir={d}/data", f"--tmpdir={tmp}"]
        install = ["mariadb-install-db", *common, "--user=root", "--auth-root-authentication-method=normal"]
        self.run([*install, "--skip-test-db"], what="mariadb-install-db")
        sock = f"{d}/mysqld.sock"
        self.spawn(
            "mariadbd",
            [
                "mariadbd",
                *common,
                f"--socket={sock}",
                f"--pid-file={d}/mysqld.pid",
                "--skip-networking",
                "--user=root",
                f"--log-error={d}/error.log",
                "--innodb-buffer-pool-size=64M",
                "--innodb-flush-log-at-trx-commit=2",
                "--max-connections=500",
                "--character-set-server=utf8mb4",
            ],
        )
        wait("MariaDB", lambda: unix_ready(sock), 60, alive=self.exited("mariadbd"), log=f"{d}/error.log")
        create = "CREATE DATABASE IF NOT EXISTS neutron CHARACTER SET utf8mb4"
        self.run(["mariadb", "--no-defaults", "-S", sock, "-uroot", "-e", create], what="create database")

    def db_url(self) -> str:
        sock = self.path("mysql", "mysqld.sock")
        return f"mysql+pymysql://root@localhost/neutron?unix_socket={sock}&charset=utf8mb4"

    # --- RabbitMQ ---
    def amqp_url(self) -> str:
        return f"rabbit://guest:guest@127.0.0.1:{self.ports.amqp}/"

    def _rabbit_env(self) -> dict[str, str]:
        r = self.path("rabbit")
        return env(
            r,
            RABBITMQ_NODENAME=f"steth-{self.state.lab}@localhost",
            RABBITMQ_NODE_IP_ADDRESS="127.0.0.1",
            RABBITMQ_NODE_PORT=str(self.ports.amqp),
            RABBITMQ_DIST_PORT=str(self.ports.dist),
            ERL_EPMD_PORT=str(self.ports.epmd),
            ERL_EPMD_ADDRESS="127.0.0.1",
            RABBITMQ_MNESIA_BASE=f"{r}/mnesia",
            RABBITMQ_LOG_BASE=f"{r}/log",
            RABBITMQ_ENABLED_PLUGINS_FILE=f"{r}/enabled_plugins",
            RABBITMQ_CONFIG_FILE=f"{r}/rabbitmq",
            RABBITMQ_ADVANCED_CONFIG_FILE=f"{r}/advanced.config",
            RABBITMQ_CONF_ENV_FILE=f"{r}/rabbitmq-env.conf",
            RABBITMQ_PID_FILE=f"{r}/rabbit.pid",
            # the Erlang distribution port would otherwise listen on every address
            RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}",
        )

    def start_rabbit(self) -> None:
        """Start epmd and RabbitMQ (boots in the background, ~6-9 s): :meth:`wait_rabbit` waits for it."""
        r = self.path("rabbit")
        for sub in ("mnesia", "log"):
            os.makedirs(os.path.join(r, sub), exist_ok=True)
        self.write(f"{r}/enabled_plugins", "[].\n")
        self.write(f"{r}/rabbitmq-env.conf", "")
        self.write(
            f"{r}/rabbitmq.conf", f"listeners.tcp.default = 127.0.0.1:{self.ports.amqp}\nloopback_users = none\n"
        )
        rabbit_env = self._rabbit_env()
        self.spawn("epmd", ["epmd", "-address", "127.0.0.1", "-port", str(self.ports.epmd)], env=rabbit_env)
        self.spawn("rabbitmq", [RABBIT_SERVER], env=rabbit_env)

    def wait_rabbit(self) -> None:
        """Until RabbitMQ speaks AMQP; records its beam process and starts the root end of the relays."""
        log = self.path("rabbit", "log")
        wait("RabbitMQ", lambda: amqp_ready(self.ports.amqp), 90, alive=self.exited("rabbitmq"), log=log)
        self.record_pidfile("rabbit-beam", self.path("rabbit", "rabbit.pid"))
        sock = self.path("rabbit.sock")
        self.spawn("socat-root", ["socat", f"UNIX-LISTEN:{sock},fork,unlink-early", f"TCP:127.0.0.1:{self.ports.amqp}"])

    def relay_rabbit(self, netns: str, node: str) -> None:
        """RabbitMQ at 127.0.0.1:<amqp> inside ``netns`` (a node's agents use the same transport_url)."""
        listen = f"TCP-LISTEN:{self.ports.amqp},bind=127.0.0.1,fork,reuseaddr"
        self.spawn(f"socat-{node}", ["socat", listen, f"UNIX-CONNECT:{self.path('rabbit.sock')}"], netns=netns)

    # --- neutron-server ---
    def write_server_config(
        self, ml2: dict[str, dict[str, Any]], service_plugins: str = "router", defaults: dict[str, Any] | None = None
    ) -> None:
        """neutron.conf (noauth, MariaDB, RabbitMQ, agent_down_time 11 s) and ml2_conf.ini (``ml2`` as given),
        and the clouds.yaml of the lab (auth none). ``defaults`` overrides [DEFAULT] values (a backend's)."""
        server: dict[str, dict[str, Any]] = {
            "DEFAULT": {
                "core_plugin": "ml2",
                "service_plugins": service_plugins,
                "auth_strategy": "noauth",
                "bind_host": "127.0.0.1",
                "bind_port": self.ports.api,
                "api_workers": 0,
                "rpc_workers": 0,
                "rpc_state_report_workers": 0,
                "state_path": self.path("state"),
                # agents report every 5 s; a stopped one shows dead after 11 s, not 75 s
                "agent_down_time": 11,
                "transport_url": self.amqp_url(),
                "notify_nova_on_port_status_changes": "false",
                "notify_nova_on_port_data_changes": "false",
                "debug": "false",
            },
            "database": {"connection": self.db_url()},
            "oslo_concurrency": {"lock_path": self.path("state", "lock")},
            "oslo_messaging_rabbit": {"heartbeat_timeout_threshold": 0},
        }
        server["DEFAULT"].update(defaults or {})
        self.write(self.conf("neutron.conf"), ini(server))
        self.write(self.conf("ml2_conf.ini"), ini(ml2))
        self.write(
            clouds_path(self.state),
            f"clouds:\n  {cloud_name(self.state)}:\n    auth_type: none\n"
            f"    network_endpoint_override: http://127.0.0.1:{self.ports.api}/\n"
            f"    region_name: RegionOne\n    identity_api_version: 3\n",
        )

    def server_confs(self) -> list[str]:
        return ["--config-file", self.conf("neutron.conf"), "--config-file", self.conf("ml2_conf.ini")]

    def start_server(self) -> None:
        """The schema (``neutron-db-manage upgrade heads``, MariaDB must be up), then neutron-server."""
        confs = self.server_confs()
        self.run(["neutron-db-manage", *confs, "upgrade", "heads"], timeout=300, what="neutron-db-manage upgrade")
        self.spawn("neutron-server", ["neutron-server", *confs, "--log-file", os.path.join(self.logs, "server.log")])

    def wait_api(self) -> None:
        url = f"http://127.0.0.1:{self.ports.api}/v2.0/networks"

        def ok() -> bool:
            with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - our own loopback API
                return resp.status == 200

        log = os.path.join(self.logs, "server.log")
        wait("neutron-server API", ok, 120, alive=self.exited("neutron-server"), log=log)

    def wait_agents(self, conn: Any, want: int, timeout: float = 120) -> None:
        """Until ``want`` Neutron agents report alive (fails at once when an agent process exits)."""

        def alive() -> bool:
            return sum(1 for a in conn.network.agents() if a.is_alive) >= want

        wait(
            f"{want} Neutron agents alive",
            alive,
            timeout,
            alive=self.exited(match=lambda n: "agent" in n),
            log=self.logs,
        )


def _env_of(home: str) -> dict[str, str]:
    return env(home)
