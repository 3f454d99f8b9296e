"""A real Neutron on top of the underlay lab (`steth lab up --neutron`).

Debian's packages, run by hand, every file under ``<labdir>/neutron``:

* MariaDB on a unix socket only (``--skip-networking``); SQLite cannot run Neutron's
  migrations nor its multi-process server.
* RabbitMQ (and its epmd) on 127.0.0.1 only; agents inside node namespaces reach it
  through socat relays (node 127.0.0.1:PORT -> unix socket -> root 127.0.0.1:PORT).
* neutron-server (ML2/openvswitch, noauth, type drivers flat, vlan, vxlan) on 127.0.0.1.
* On every node: its own ovsdb-server (socket ``<labdir>/<node>/db.sock``, the one the
  node's steth-agent already uses) and a userspace ovs-vswitchd inside the node's
  namespace (OVS_RUNDIR ``<labdir>/<node>``), bridges br-int, br-tun and br-tenant
  (provider bridge on eth1, ``physnet1:br-tenant``; the VXLAN endpoint is an address
  on br-tenant, because the netdev datapath tunnels in userspace), and a
  neutron-openvswitch-agent; on the network node a neutron-dhcp-agent and a
  neutron-l3-agent (legacy mode, no metadata proxy), and a bridge br-ex (``extnet:br-ex``).
* An "internet": a namespace ``<prefix>-inet`` on a veth to br-ex (198.51.100.1, the
  external network's gateway) holding the internet host 203.0.113.10 (busybox httpd on
  TCP 80) and a resolver 203.0.113.53 (dnsmasq, DNS only); it has no link to the host.
* A flat external network on extnet (198.51.100.0/24, no DHCP), a router with its gateway
  there (SNAT) and interfaces on both tenant subnets, a security group for the VMs (ICMP
  and TCP 22 in) and a floating IP on vm1; ``up`` ends by proving SNAT and DNAT with pings.
* A VLAN and a VXLAN network with DHCP subnets, and "VMs": namespaces plugged as
  nova/os-vif does, hybrid (tap -> qbr -> qvb/qvo -> br-int) or directly on br-int,
  each leased its address by Neutron's dnsmasq (busybox udhcpc; the address is set
  by this module with netlink, the host's resolv.conf is never touched).

Every process is recorded (PID and start time) in the lab state before anything
else is done, so `steth lab down` stops exactly those, even after a failed `up`.
Agents are started with ``nsenter --net`` (not ``ip netns exec``): the DHCP and L3 agents
create ``qdhcp-*`` and ``qrouter-*`` namespaces, which must be visible outside their mount
namespace.
"""

from __future__ import annotations

import concurrent.futures
import ipaddress
import os
import re
import shutil
import signal
import socket
import time
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import LabError
from ..host import netlink, proc
from .state import LabState
from .topology import Node, Topology

Progress = Callable[[str], None]

PHYSNET = "physnet1"
PROVIDER_BRIDGE = "br-tenant"
VLAN_RANGE = (100, 199)
VNI_RANGE = (1000, 1999)
VLAN_ID = 101
VNI = 1001
PORT_SLOTS = 50
# the external network and the "internet" behind it (documentation ranges, never routed)
EXT_PHYSNET = "extnet"
EXT_BRIDGE = "br-ex"
EXT_CIDR = "198.51.100.0/24"
EXT_GATEWAY = "198.51.100.1"
EXT_POOL = ("198.51.100.10", "198.51.100.99")
EXT_VETH = "ext0"  # the network node's end of the veth to the internet namespace (on br-ex)
INTERNET_HOST = "203.0.113.10"
INTERNET_DNS = "203.0.113.53"
INTERNET_TCP_PORT = 80
INTERNET_NAME = "internet.steth"
TENANT_SUBNETS = {"vlan": "192.168.101.0/24", "vxlan": "192.168.201.0/24"}
L3_TIMEOUT = 60.0
NEUTRON_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
BINARIES = (
    "neutron-server",
    "neutron-db-manage",
    "neutron-openvswitch-agent",
    "neutron-dhcp-agent",
    "neutron-l3-agent",
    "conntrack",
    "dnsmasq",
    "mariadbd",
    "mariadb-install-db",
    "epmd",
    "socat",
    "busybox",
    "ovsdb-server",
    "ovs-vswitchd",
    "ovsdb-tool",
    "ovs-vsctl",
    "nsenter",
    "ping",
)
RABBIT_SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"
OVS_SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"


# neutron-l3-agent as /usr/bin/neutron-l3-agent runs it, except for one thing: at its first full sync
# the agent deletes every qrouter-*/snat-*/fip-* namespace of the host whose router it does not know,
# which on a machine with several labs (or a real cloud's agent) removes the others' routers. The lab's
# agent keeps cleaning up the routers it knows (ensure_router_cleanup); `lab down` removes the rest.
L3_LAUNCHER = """\
import sys

from neutron.cmd.eventlet.agents.l3 import main  # eventlet monkey-patching first, as upstream
from neutron.agent.l3 import namespace_manager

_init = namespace_manager.NamespaceManager.__init__


def _no_stale_cleanup(self, *args, **kwargs):
    _init(self, *args, **kwargs)
    self._clean_stale = False  # never list (and delete) namespaces of routers of other Neutrons


namespace_manager.NamespaceManager.__init__ = _no_stale_cleanup
sys.exit(main())
"""


def _quiet(_: str) -> None:
    pass


@dataclass(frozen=True)
class Ports:
    """Loopback TCP ports of one lab's Neutron (chosen by the lab name, checked free at `up`)."""

    api: int
    amqp: int
    dist: int
    epmd: int


def ports_for(lab: str) -> Ports:
    k = zlib.crc32(lab.encode()) % PORT_SLOTS
    return Ports(api=19696 + k, amqp=15699 + k, dist=25699 + k, epmd=14399 + k)


def neutron_dir(state: LabState) -> str:
    return os.path.join(state.directory, "neutron")


def clouds_path(state: LabState) -> str:
    return os.path.join(state.directory, "clouds.yaml")


def cloud_name(state: LabState) -> str:
    return f"steth-{state.lab}"


def ovs_rundir(state: LabState, node: str) -> str:
    """OVS run directory of a node: where its db.sock (the steth-agent's ovsdb connection) lives."""
    return os.path.join(state.directory, node)


def tunnel_ip(topo: Topology, node: Node) -> ipaddress.IPv4Address:
    """VXLAN endpoint of a node: x.y.99.(10+i) inside the tenant /16 (eth1 keeps its own address)."""
    tenant = topo.networks[1].cidr
    return tenant.network_address + 99 * 256 + 10 + node.index


def tunnel_prefix() -> int:
    return 24


def bridge_mappings(node: Node) -> str:
    """Only the network node reaches the external network (br-ex); computes keep the tenant trunk."""
    tenant = f"{PHYSNET}:{PROVIDER_BRIDGE}"
    return f"{tenant},{EXT_PHYSNET}:{EXT_BRIDGE}" if node.role == "network" else tenant


def inet_ns(topo: Topology) -> str:
    return f"{topo.prefix}-inet"


UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def router_ids_in(state_path: str) -> set[str]:
    """Router ids the L3 agent left files for under its state path (ha_confs/<id>, external/pids/<id>.pid.*)."""
    found: set[str] = set()
    for sub in ("ha_confs", os.path.join("external", "pids")):
        try:
            names = os.listdir(os.path.join(state_path, sub))
        except OSError:
            continue
        for name in names:
            m = UUID_RE.match(name)
            if m:
                found.add(m.group(0))
    return found


def parse_lease(line: str) -> dict[str, str] | None:
    """The udhcpc report line ``LEASE ip=.. mask=.. serverid=.. router=.. dns=..`` as a dict.

    udhcpc passes lists (several routers or DNS servers) space-separated; only the first of each is kept.
    """
    if not line.startswith("LEASE "):
        return None
    out: dict[str, str] = {}
    key = ""
    for item in line.split()[1:]:
        if "=" in item:
            key, value = item.split("=", 1)
            out[key] = value
        elif key and not out[key]:
            out[key] = item
    return out


def _env(home: str, **extra: str) -> dict[str, str]:
    """A clean environment: Debian's neutron must run on /usr/bin/python3, not a venv/pyenv python."""
    return {"PATH": NEUTRON_PATH, "HOME": home, "LANG": "C.UTF-8", **extra}


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT of a previous lab is not "in use"
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _wait(
    what: str, check: Callable[[], bool], timeout: float, *, alive: Callable[[], str] | None = None, log: str = ""
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # a probe that raises is just "not yet"
            pass
        if alive is not None:
            problem = alive()
            if problem:
                raise LabError(f"{what}: {problem}", f"see {log}" if log else None)
        time.sleep(0.25)
    raise LabError(f"{what}: not ready after {timeout:g} s", f"see {log}" if log else None)


def _amqp_ready(port: int) -> bool:
    """RabbitMQ answers an AMQP 0-9-1 protocol header with Connection.Start (a method frame)."""
    with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
        s.sendall(b"AMQP\x00\x00\x09\x01")
        s.settimeout(2)
        return s.recv(1)[:1] == b"\x01"


def _unix_ready(path: str) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(1)
        s.connect(path)
    return True


def _ini(sections: dict[str, dict[str, Any]]) -> str:
    out = []
    for name, values in sections.items():
        out.append(f"[{name}]")
        out += [f"{k} = {v}" for k, v in values.items()]
        out.append("")
    return "\n".join(out)


class NeutronBuilder:
    """Brings up (and records) the Neutron control plane, per-node OVS and agents, networks and VMs."""

    def __init__(self, state: LabState, topo: Topology, progress: Progress = _quiet) -> None:
        self.state = state
        self.topo = topo
        self.progress = progress
        self.dir = neutron_dir(state)
        self.ports = ports_for(state.lab)
        self.rec: dict[str, Any] = state.extra.setdefault("neutron", {})
        self.rec.setdefault("procs", {})
        self.rec.setdefault("vms", [])
        self.rec.setdefault("networks", {})
        self.rec["ports"] = self.ports.__dict__
        self.rec["dir"] = self.dir

    # --- paths ---
    def path(self, *parts: str) -> str:
        return os.path.join(self.dir, *parts)

    @property
    def logs(self) -> str:
        return self.path("logs")

    def conf(self, name: str) -> str:
        return self.path("etc", name)

    # --- processes ---
    def spawn(
        self,
        name: str,
        argv: list[str],
        *,
        netns: str | None = None,
        env: dict[str, str] | None = None,
        cwd_home: str | None = None,
    ) -> proc.ProcRecord:
        """Start a long-running process and record it before doing anything else."""
        if netns:  # nsenter: a new network namespace only (ip netns exec would also unshare mounts)
            argv = ["nsenter", f"--net=/run/netns/{netns}", *argv]
        rec = proc.spawn(argv, log_path=os.path.join(self.logs, f"{name}.out"), env=env or _env(cwd_home or self.dir))
        self.rec["procs"][name] = rec.to_json()
        self.state.save()
        return rec

    def _exited(self, name: str) -> Callable[[], str]:
        def check() -> str:
            rec = proc.ProcRecord.from_json(self.rec["procs"][name])
            return "" if proc.is_running(rec) else f"{name} exited"

        return check

    def run(
        self,
        argv: list[str],
        *,
        netns: str | None = None,
        timeout: float = 60,
        what: str = "",
        env: dict[str, str] | None = None,
    ) -> str:
        import subprocess

        if netns:
            argv = ["nsenter", f"--net=/run/netns/{netns}", *argv]
        done = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env or _env(self.dir),
            check=False,
        )
        if done.returncode != 0:
            raise LabError(
                f"{what or argv[0]} failed (exit {done.returncode}): {(done.stderr or done.stdout).strip()[-400:]}"
            )
        return done.stdout

    # --- checks ---
    def preflight(self) -> None:
        missing = [b for b in BINARIES if not shutil.which(b, path=NEUTRON_PATH)]
        if not os.path.exists(RABBIT_SERVER):
            missing.append("rabbitmq-server")
        if missing:
            raise LabError(
                f"the Neutron lab needs {', '.join(missing)}, not installed",
                "run `bash scripts/setup.sh` as root (installs Debian's neutron, mariadb, rabbitmq, socat, busybox)",
            )
        busy = [f"127.0.0.1:{p}" for p in self.ports.__dict__.values() if not _port_free(p)]
        if busy:
            raise LabError(
                f"ports {', '.join(busy)} for lab {self.state.lab}'s Neutron are in use",
                "another Neutron lab with a name in the same port slot may be up; use another --name",
            )

    # --- MariaDB ---
    def mariadb(self) -> None:
        d = self.path("mysql")
        # its own tmpdir: a starting mariadbd deletes every "#sql*" file in its tmpdir, which breaks
        # another lab's MariaDB bootstrapping at the same moment in a shared /tmp
        tmp = os.path.join(d, "tmp")
        os.makedirs(tmp, exist_ok=True)
        self.run(
            [
                "mariadb-install-db",
                "--no-defaults",
                f"--datadir={d}/data",
                "--user=root",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                f"--tmpdir={tmp}",
            ],
            what="mariadb-install-db",
        )
        self.spawn(
            "mariadbd",
            [
                "mariadbd",
                "--no-defaults",
                f"--datadir={d}/data",
                f"--socket={d}/mysqld.sock",
                f"--tmpdir={tmp}",
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
        sock = f"{d}/mysqld.sock"
        _wait("MariaDB", lambda: _unix_ready(sock), 60, alive=self._exited("mariadbd"), log=f"{d}/error.log")
        self.run(
            [
                "mariadb",
                "--no-defaults",
                "-S",
                sock,
                "-uroot",
                "-e",
                "CREATE DATABASE IF NOT EXISTS neutron CHARACTER SET utf8mb4",
            ],
            what="create database",
        )

    def db_url(self) -> str:
        return f"mysql+pymysql://root@localhost/neutron?unix_socket={self.path('mysql', 'mysqld.sock')}&charset=utf8mb4"

    # --- RabbitMQ ---
    def rabbit_env(self) -> dict[str, str]:
        r = self.path("rabbit")
        return _env(
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

    def rabbit_start(self) -> None:
        r = self.path("rabbit")
        for sub in ("mnesia", "log"):
            os.makedirs(os.path.join(r, sub), exist_ok=True)
        with open(f"{r}/enabled_plugins", "w") as fh:
            fh.write("[].\n")
        open(f"{r}/rabbitmq-env.conf", "w").close()
        with open(f"{r}/rabbitmq.conf", "w") as fh:
            fh.write(f"listeners.tcp.default = 127.0.0.1:{self.ports.amqp}\nloopback_users = none\n")
        env = self.rabbit_env()
        self.spawn("epmd", ["epmd", "-address", "127.0.0.1", "-port", str(self.ports.epmd)], env=env)
        self.spawn("rabbitmq", [RABBIT_SERVER], env=env)

    def rabbit_wait(self) -> None:
        _wait(
            "RabbitMQ",
            lambda: _amqp_ready(self.ports.amqp),
            90,
            alive=self._exited("rabbitmq"),
            log=self.path("rabbit", "log"),
        )
        self._record_pidfile("rabbit-beam", self.path("rabbit", "rabbit.pid"))
        # agents in node namespaces reach RabbitMQ through this unix socket
        self.spawn(
            "socat-root",
            ["socat", f"UNIX-LISTEN:{self.path('rabbit.sock')},fork,unlink-early", f"TCP:127.0.0.1:{self.ports.amqp}"],
        )

    def _record_pidfile(self, name: str, path: str) -> None:
        try:
            with open(path) as fh:
                pid = int(fh.read().split()[0])
        except (OSError, ValueError, IndexError):
            return
        rec = proc.record_of(pid, ("pidfile", path))
        if rec:
            self.rec["procs"][name] = rec.to_json()
            self.state.save()

    # --- config files ---
    def write_configs(self) -> None:
        os.makedirs(self.path("etc"), exist_ok=True)
        amqp = f"rabbit://guest:guest@127.0.0.1:{self.ports.amqp}/"
        server = {
            "DEFAULT": {
                "core_plugin": "ml2",
                "service_plugins": "router",
                "auth_strategy": "noauth",
                "bind_host": "127.0.0.1",
                "bind_port": self.ports.api,
                "api_workers": 0,
                "rpc_workers": 0,
                "rpc_state_report_workers": 0,
                "state_path": self.path("state"),
                # agents report every 5 s; a stopped one shows dead after 11 s, not 75 s
                "agent_down_time": 11,
                "transport_url": amqp,
                "notify_nova_on_port_status_changes": "false",
                "notify_nova_on_port_data_changes": "false",
                "debug": "false",
            },
            "database": {"connection": self.db_url()},
            "oslo_concurrency": {"lock_path": self.path("state", "lock")},
            "oslo_messaging_rabbit": {"heartbeat_timeout_threshold": 0},
        }
        ml2 = {
            "ml2": {
                "type_drivers": "flat,vlan,vxlan",
                "tenant_network_types": "vxlan",
                "mechanism_drivers": "openvswitch",
                "extension_drivers": "port_security",
            },
            "ml2_type_flat": {"flat_networks": f"{PHYSNET},{EXT_PHYSNET}"},
            "ml2_type_vlan": {"network_vlan_ranges": f"{PHYSNET}:{VLAN_RANGE[0]}:{VLAN_RANGE[1]}"},
            "ml2_type_vxlan": {"vni_ranges": f"{VNI_RANGE[0]}:{VNI_RANGE[1]}"},
        }
        common = {
            "DEFAULT": {"transport_url": amqp, "debug": "false"},
            "oslo_messaging_rabbit": {"heartbeat_timeout_threshold": 0},
            "agent": {"report_interval": 5},
        }
        # dnsmasq would drop to user nobody, which cannot read its host files under a 0700 lab
        # directory ("cannot read .../host: Permission denied" -> "no address available"): keep root.
        with open(self.conf("dnsmasq.conf"), "w") as fh:
            fh.write("user=root\n")
        dhcp = {
            "DEFAULT": {
                "interface_driver": "openvswitch",
                "dhcp_driver": "neutron.agent.linux.dhcp.Dnsmasq",
                "enable_isolated_metadata": "false",
                "force_metadata": "false",
                "resync_interval": 5,
                "dnsmasq_config_file": self.conf("dnsmasq.conf"),
                "dnsmasq_base_log_dir": self.path("logs", "dnsmasq"),
            }
        }
        # legacy routers only (no HA, no DVR) and no metadata proxy (no haproxy per router)
        l3 = {"DEFAULT": {"interface_driver": "openvswitch", "agent_mode": "legacy", "enable_metadata_proxy": "false"}}
        for name, data in (
            ("neutron.conf", server),
            ("ml2_conf.ini", ml2),
            ("agent-common.conf", common),
            ("dhcp_agent.ini", dhcp),
            ("l3_agent.ini", l3),
        ):
            with open(self.conf(name), "w") as fh:
                fh.write(_ini(data))
        with open(self.conf("neutron-l3-agent.py"), "w") as fh:
            fh.write(L3_LAUNCHER)
        for node in self.topo.nodes:
            rundir = ovs_rundir(self.state, node.name)
            host = {
                "DEFAULT": {"host": node.name, "state_path": self.path(f"state-{node.name}")},
                "oslo_concurrency": {"lock_path": self.path(f"state-{node.name}", "lock")},
                # non-empty on purpose: an empty root_helper makes oslo.privsep use sudo, which
                # drops OVS_RUNDIR (then ovs-ofctl cannot find the node's bridges)
                "agent": {"root_helper": f"env OVS_RUNDIR={rundir}", "tunnel_types": "vxlan"},
                "ovs": {
                    "integration_bridge": "br-int",
                    "tunnel_bridge": "br-tun",
                    "bridge_mappings": bridge_mappings(node),
                    "datapath_type": "netdev",
                    "local_ip": str(tunnel_ip(self.topo, node)),
                    "ovsdb_connection": f"unix:{rundir}/db.sock",
                },
                "securitygroup": {"firewall_driver": "openvswitch"},
            }
            with open(self.conf(f"host-{node.name}.conf"), "w") as fh:
                fh.write(_ini(host))
        with open(clouds_path(self.state), "w") as fh:
            fh.write(
                f"clouds:\n  {cloud_name(self.state)}:\n    auth_type: none\n"
                f"    network_endpoint_override: http://127.0.0.1:{self.ports.api}/\n"
                f"    region_name: RegionOne\n    identity_api_version: 3\n"
            )

    # --- neutron-server ---
    def server(self) -> None:
        confs = ["--config-file", self.conf("neutron.conf"), "--config-file", self.conf("ml2_conf.ini")]
        self.run(["neutron-db-manage", *confs, "upgrade", "heads"], timeout=300, what="neutron-db-manage upgrade")
        self.spawn("neutron-server", ["neutron-server", *confs, "--log-file", os.path.join(self.logs, "server.log")])

    def server_wait(self) -> None:
        import urllib.request

        url = f"http://127.0.0.1:{self.ports.api}/v2.0/networks"

        def ok() -> bool:
            with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - our own loopback API
                return resp.status == 200

        _wait(
            "neutron-server API",
            ok,
            120,
            alive=self._exited("neutron-server"),
            log=os.path.join(self.logs, "server.log"),
        )

    # --- per node: OVS ---
    def ovs(self, node: Node) -> None:
        ns = self.topo.node_ns(node)
        rundir = ovs_rundir(self.state, node.name)
        os.makedirs(rundir, exist_ok=True)
        db = os.path.join(rundir, "conf.db")
        sock = os.path.join(rundir, "db.sock")
        env = _env(rundir, OVS_RUNDIR=rundir, OVS_DBDIR=rundir, OVS_LOGDIR=rundir)
        self.run(["ovsdb-tool", "create", db, OVS_SCHEMA], what="ovsdb-tool create", env=env)
        self.spawn(
            f"ovsdb-server-{node.name}",
            [
                "ovsdb-server",
                db,
                f"--remote=punix:{sock}",
                f"--unixctl={rundir}/ovsdb-server.ctl",
                f"--pidfile={rundir}/ovsdb-server.pid",
                f"--log-file={rundir}/ovsdb-server.log",
            ],
            env=env,
        )
        _wait(
            f"ovsdb-server on {node.name}",
            lambda: _unix_ready(sock),
            20,
            alive=self._exited(f"ovsdb-server-{node.name}"),
        )
        vsctl = ["ovs-vsctl", f"--db=unix:{sock}", "--timeout=20"]
        self.run([*vsctl, "--no-wait", "init"], env=env, what="ovs-vsctl init")
        self.spawn(
            f"ovs-vswitchd-{node.name}",
            [
                "ovs-vswitchd",
                f"unix:{sock}",
                f"--pidfile={rundir}/ovs-vswitchd.pid",
                f"--log-file={rundir}/ovs-vswitchd.log",
            ],
            netns=ns,
            env=env,
        )
        # provider bridge on the tenant trunk; the VXLAN endpoint lives on it (userspace tunnelling)
        self.run(
            [
                *vsctl,
                "--",
                "--may-exist",
                "add-br",
                PROVIDER_BRIDGE,
                "--",
                "set",
                "bridge",
                PROVIDER_BRIDGE,
                "datapath_type=netdev",
                "--",
                "--may-exist",
                "add-port",
                PROVIDER_BRIDGE,
                self.topo.networks[1].node_ifname,
            ],
            env=env,
            what=f"{PROVIDER_BRIDGE} on {node.name}",
        )
        if node.role == "network":  # the external network's bridge; the internet's veth joins it later
            self.run(
                [
                    *vsctl,
                    "--",
                    "--may-exist",
                    "add-br",
                    EXT_BRIDGE,
                    "--",
                    "set",
                    "bridge",
                    EXT_BRIDGE,
                    "datapath_type=netdev",
                ],
                env=env,
                what=f"{EXT_BRIDGE} on {node.name}",
            )
        # answer ARP only on the interface that holds the address (eth1 must not answer for br-tenant)
        self.run(["sysctl", "-q", "-w", "net.ipv4.conf.all.arp_ignore=1"], netns=ns, what="arp_ignore")
        with netlink.iproute(ns) as ipr:
            found = ipr.link_lookup(ifname=PROVIDER_BRIDGE)
            if not found:
                raise LabError(
                    f"ovs-vswitchd on {node.name} did not create {PROVIDER_BRIDGE}", f"see {rundir}/ovs-vswitchd.log"
                )
            ipr.addr("add", index=found[0], address=str(tunnel_ip(self.topo, node)), prefixlen=tunnel_prefix())
            ipr.link("set", index=found[0], state="up")

    def socat_node(self, node: Node) -> None:
        self.spawn(
            f"socat-{node.name}",
            [
                "socat",
                f"TCP-LISTEN:{self.ports.amqp},bind=127.0.0.1,fork,reuseaddr",
                f"UNIX-CONNECT:{self.path('rabbit.sock')}",
            ],
            netns=self.topo.node_ns(node),
        )

    def agents(self) -> None:
        common = ["--config-file", self.conf("agent-common.conf")]
        for node in self.topo.nodes:
            rundir = ovs_rundir(self.state, node.name)
            env = _env(self.dir, OVS_RUNDIR=rundir)
            host = ["--config-file", self.conf(f"host-{node.name}.conf")]
            self.spawn(
                f"ovs-agent-{node.name}",
                [
                    "neutron-openvswitch-agent",
                    *common,
                    *host,
                    "--log-file",
                    os.path.join(self.logs, f"ovs-agent-{node.name}.log"),
                ],
                netns=self.topo.node_ns(node),
                env=env,
            )
            if node.role == "network":
                self.spawn(
                    f"dhcp-agent-{node.name}",
                    [
                        "neutron-dhcp-agent",
                        *common,
                        *host,
                        "--config-file",
                        self.conf("dhcp_agent.ini"),
                        "--log-file",
                        os.path.join(self.logs, f"dhcp-agent-{node.name}.log"),
                    ],
                    netns=self.topo.node_ns(node),
                    env=env,
                )
                self.spawn(
                    f"l3-agent-{node.name}",
                    [
                        "/usr/bin/python3",
                        self.conf("neutron-l3-agent.py"),
                        *common,
                        *host,
                        "--config-file",
                        self.conf("l3_agent.ini"),
                        "--log-file",
                        os.path.join(self.logs, f"l3-agent-{node.name}.log"),
                    ],
                    netns=self.topo.node_ns(node),
                    env=env,
                )

    def expected_agents(self) -> int:
        """An OVS agent per node, and the DHCP and L3 agents of the network node."""
        return len(self.topo.nodes) + 2

    def agents_wait(self, conn: Any) -> None:
        want = self.expected_agents()

        def alive() -> bool:
            return sum(1 for a in conn.network.agents() if a.is_alive) >= want

        def exited() -> str:
            dead = [
                n
                for n in self.rec["procs"]
                if "agent" in n and not proc.is_running(proc.ProcRecord.from_json(self.rec["procs"][n]))
            ]
            return f"{', '.join(dead)} exited" if dead else ""

        _wait(f"{want} Neutron agents alive", alive, 120, alive=exited, log=self.logs)

    # --- API objects and VMs ---
    def networks(self, conn: Any) -> dict[str, Any]:
        net = conn.network
        vlan = net.create_network(
            name=f"{self.state.lab}-vlan{VLAN_ID}",
            provider_network_type="vlan",
            provider_physical_network=PHYSNET,
            provider_segmentation_id=VLAN_ID,
        )
        self.rec["networks"]["vlan"] = vlan.id
        self.state.save()
        vx = net.create_network(
            name=f"{self.state.lab}-vxlan{VNI}", provider_network_type="vxlan", provider_segmentation_id=VNI
        )
        self.rec["networks"]["vxlan"] = vx.id
        self.state.save()
        subnets = self.rec.setdefault("subnets", {})
        for kind, network in (("vlan", vlan), ("vxlan", vx)):
            sub = net.create_subnet(
                name=f"{self.state.lab}-{kind}-subnet",
                network_id=network.id,
                ip_version=4,
                cidr=TENANT_SUBNETS[kind],
                enable_dhcp=True,
                dns_nameservers=[INTERNET_DNS],
            )
            subnets[kind] = sub.id
            self.state.save()
        return {"vlan": vlan, "vxlan": vx}

    def external(self, conn: Any) -> None:
        """The flat external network on extnet (no DHCP: only routers and floating IPs live there)."""
        ext = self.rec.setdefault(
            "external",
            {
                "gateway": EXT_GATEWAY,
                "internet_host": INTERNET_HOST,
                "tcp_port": INTERNET_TCP_PORT,
                "dns": INTERNET_DNS,
                "namespace": inet_ns(self.topo),
            },
        )
        net = conn.network.create_network(
            name=f"{self.state.lab}-ext",
            provider_network_type="flat",
            provider_physical_network=EXT_PHYSNET,
            is_router_external=True,
        )
        ext["network_id"] = net.id
        self.state.save()
        sub = conn.network.create_subnet(
            name=f"{self.state.lab}-ext-subnet",
            network_id=net.id,
            ip_version=4,
            cidr=EXT_CIDR,
            gateway_ip=EXT_GATEWAY,
            enable_dhcp=False,
            allocation_pools=[{"start": EXT_POOL[0], "end": EXT_POOL[1]}],
        )
        ext["subnet_id"] = sub.id
        self.state.save()

    def router(self, conn: Any) -> None:
        """A router with its gateway on the external network (SNAT) and an interface on each tenant subnet."""
        r = conn.network.create_router(
            name=f"{self.state.lab}-router", external_gateway_info={"network_id": self.rec["external"]["network_id"]}
        )
        ips = (r.external_gateway_info or {}).get("external_fixed_ips") or [{}]
        self.rec["router"] = {"id": r.id, "name": r.name, "gateway_ip": ips[0].get("ip_address", "")}
        self.state.save()
        for kind in ("vlan", "vxlan"):
            conn.network.add_interface_to_router(r, subnet_id=self.rec["subnets"][kind])

    def security_group(self, conn: Any) -> str:
        """The VMs' group: Neutron's default egress rules, plus ICMP and SSH in from anywhere."""
        sg = conn.network.create_security_group(
            name=f"{self.state.lab}-vm", description="steth lab VMs: ICMP and SSH in"
        )
        self.rec["security_group"] = sg.id
        self.state.save()
        conn.network.create_security_group_rule(
            security_group_id=sg.id,
            direction="ingress",
            ether_type="IPv4",
            protocol="icmp",
            remote_ip_prefix="0.0.0.0/0",
        )
        conn.network.create_security_group_rule(
            security_group_id=sg.id,
            direction="ingress",
            ether_type="IPv4",
            protocol="tcp",
            port_range_min=22,
            port_range_max=22,
            remote_ip_prefix="0.0.0.0/0",
        )
        return sg.id

    def floating_ip(self, conn: Any, vm_name: str = "vm1") -> None:
        vm = next(v for v in self.rec["vms"] if v["name"] == vm_name)
        fip = conn.network.create_ip(floating_network_id=self.rec["external"]["network_id"], port_id=vm["port_id"])
        self.rec.setdefault("floating_ips", {})[vm_name] = {
            "id": fip.id,
            "address": fip.floating_ip_address,
            "port_id": vm["port_id"],
        }
        self.state.save()

    def internet(self) -> None:
        """The far side of the external network: a namespace with the internet host and a resolver.

        Joined to br-ex of the network node by a veth (ext0 there, eth0 here, 198.51.100.1); it has
        no other link, so nothing in it reaches the host's networks.
        """
        from pyroute2 import netns as pnetns

        ns = inet_ns(self.topo)
        node = next(n for n in self.topo.nodes if n.role == "network")
        node_ns = self.topo.node_ns(node)
        if ns in pnetns.listnetns():
            raise LabError(
                f"network namespace {ns} already exists on this host",
                "it is not part of this lab's records: remove it yourself or pick another --name",
            )
        self.state.namespaces.append(ns)
        self.state.save()
        pnetns.create(ns)
        with netlink.iproute(node_ns) as ipr:
            ipr.link("add", ifname=EXT_VETH, kind="veth", peer={"ifname": "eth0", "net_ns_fd": ns})
            ipr.link("set", index=ipr.link_lookup(ifname=EXT_VETH)[0], state="up")
        with netlink.iproute(ns) as ipr:
            lo = ipr.link_lookup(ifname="lo")[0]
            ipr.link("set", index=lo, state="up")
            for addr in (INTERNET_HOST, INTERNET_DNS):
                ipr.addr("add", index=lo, address=addr, prefixlen=32)
            eth0 = ipr.link_lookup(ifname="eth0")[0]
            ipr.addr("add", index=eth0, address=EXT_GATEWAY, prefixlen=ipaddress.ip_network(EXT_CIDR).prefixlen)
            ipr.link("set", index=eth0, state="up")
        netlink.disable_tx_checksum("eth0", ns)  # replies cross br-ex (netdev datapath) to the router
        rundir = ovs_rundir(self.state, node.name)
        self.run(
            [
                "ovs-vsctl",
                f"--db=unix:{rundir}/db.sock",
                "--timeout=20",
                "--",
                "--may-exist",
                "add-port",
                EXT_BRIDGE,
                EXT_VETH,
            ],
            env=_env(rundir, OVS_RUNDIR=rundir),
            what=f"{EXT_VETH} on {EXT_BRIDGE}",
        )
        www = self.path("inet-www")
        os.makedirs(www, exist_ok=True)
        with open(os.path.join(www, "index.html"), "w") as fh:
            fh.write(f"steth lab {self.state.lab}: the internet host {INTERNET_HOST}\n")
        self.spawn(
            "inet-httpd", ["busybox", "httpd", "-f", "-p", f"{INTERNET_HOST}:{INTERNET_TCP_PORT}", "-h", www], netns=ns
        )
        self.spawn(
            "inet-dnsmasq",
            [
                "dnsmasq",
                "--no-daemon",
                "--no-resolv",
                "--no-hosts",
                "--port=53",
                f"--listen-address={INTERNET_DNS}",
                "--bind-interfaces",
                f"--address=/{INTERNET_NAME}/{INTERNET_HOST}",
                "--user=root",
                f"--pid-file={self.path('inet-dnsmasq.pid')}",
            ],
            netns=ns,
        )

    def vm_plan(self) -> list[dict[str, str]]:
        """Two VMs per compute node: one per network, alternating hybrid and direct plugging."""
        plan = []
        n = 0
        for node in self.topo.nodes:
            if node.role != "compute":
                continue
            for j, kind in enumerate(("vlan", "vxlan")):
                n += 1
                plan.append(
                    {
                        "name": f"vm{n}",
                        "node": node.name,
                        "network": kind,
                        "plug": "hybrid" if (node.index + j) % 2 else "direct",
                    }
                )
        return plan

    def create_ports(self, conn: Any) -> None:
        for vm in self.vm_plan():
            port = conn.network.create_port(
                name=f"{self.state.lab}-{vm['name']}",
                network_id=self.rec["networks"][vm["network"]],
                binding_host_id=vm["node"],
                device_owner="compute:nova",
                device_id=str(uuid.uuid4()),
                security_group_ids=[self.rec["security_group"]],
            )
            vm.update(
                port_id=port.id,
                mac=port.mac_address,
                device_id=port.device_id,
                fixed_ip=port.fixed_ips[0]["ip_address"],
                namespace=f"{self.topo.prefix}-{vm['name']}",
            )
            self.rec["vms"].append(vm)
            self.state.save()

    def plug(self, vm: dict[str, str]) -> None:
        """What nova + os-vif do for an OVS VIF (hybrid: through a qbr Linux bridge)."""
        from pyroute2 import netns as pnetns

        node = self.topo.node(vm["node"])
        node_ns = self.topo.node_ns(node)
        vm_ns = vm["namespace"]
        if vm_ns in pnetns.listnetns():
            raise LabError(
                f"network namespace {vm_ns} already exists on this host",
                "it is not part of this lab's records: remove it yourself or pick another --name",
            )
        self.state.namespaces.append(vm_ns)
        self.state.save()
        pnetns.create(vm_ns)
        pid = vm["port_id"][:11]
        tap, qbr, qvb, qvo = f"tap{pid}", f"qbr{pid}", f"qvb{pid}", f"qvo{pid}"
        with netlink.iproute(vm_ns) as ipr:
            ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up")
        with netlink.iproute(node_ns) as ipr:
            # the VM's NIC: eth0 in the VM namespace, tap<port> on the host side
            ipr.link("add", ifname=tap, kind="veth", peer={"ifname": "eth0", "net_ns_fd": vm_ns})
            tap_idx = ipr.link_lookup(ifname=tap)[0]
            if vm["plug"] == "hybrid":
                ipr.link("add", ifname=qbr, kind="bridge", br_stp_state=0, br_forward_delay=0)
                qbr_idx = ipr.link_lookup(ifname=qbr)[0]
                ipr.link("set", index=qbr_idx, state="up")
                ipr.link("add", ifname=qvb, kind="veth", peer={"ifname": qvo})
                ipr.link("set", index=ipr.link_lookup(ifname=qvb)[0], master=qbr_idx, state="up")
                ipr.link("set", index=tap_idx, master=qbr_idx, state="up")
                ipr.link("set", index=ipr.link_lookup(ifname=qvo)[0], state="up")
                ovs_port = qvo
            else:
                ipr.link("set", index=tap_idx, state="up")
                ovs_port = tap
        with netlink.iproute(vm_ns) as ipr:
            idx = ipr.link_lookup(ifname="eth0")[0]
            ipr.link("set", index=idx, address=vm["mac"], state="up")
        netlink.disable_tx_checksum("eth0", vm_ns)  # else the netdev datapath drops its UDP and TCP
        rundir = ovs_rundir(self.state, node.name)
        self.run(
            [
                "ovs-vsctl",
                f"--db=unix:{rundir}/db.sock",
                "--timeout=20",
                "--",
                "--may-exist",
                "add-port",
                "br-int",
                ovs_port,
                "--",
                "set",
                "Interface",
                ovs_port,
                f"external_ids:iface-id={vm['port_id']}",
                f"external_ids:attached-mac={vm['mac']}",
                "external_ids:iface-status=active",
                f"external_ids:vm-uuid={vm['device_id']}",
            ],
            env=_env(rundir, OVS_RUNDIR=rundir),
            what=f"plug {vm['name']}",
        )
        vm["ovs_port"] = ovs_port
        self.state.save()

    def udhcpc_script(self) -> str:
        """busybox udhcpc hook that only reports the lease; this module sets the address itself."""
        path = self.path("udhcpc-report")
        with open(path, "w") as fh:
            fh.write(
                '#!/bin/sh\n[ "$1" = bound ] && echo "LEASE ip=$ip mask=$mask serverid=$serverid router=$router '
                'dns=$dns"\nexit 0\n'
            )
        os.chmod(path, 0o755)
        return path

    def lease(self, vm: dict[str, str], script: str, timeout: float = 40) -> None:
        """DHCP in the VM namespace with busybox udhcpc (retries until ``timeout``)."""
        import subprocess

        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            done = subprocess.run(
                [
                    "ip",
                    "netns",
                    "exec",
                    vm["namespace"],
                    "busybox",
                    "udhcpc",
                    "-i",
                    "eth0",
                    "-n",
                    "-q",
                    "-f",
                    "-t",
                    "5",
                    "-T",
                    "2",
                    "-s",
                    script,
                ],
                capture_output=True,
                text=True,
                timeout=30,
                env=_env(self.dir),
            )
            for line in done.stdout.splitlines():
                kv = parse_lease(line)
                if kv:
                    prefix = ipaddress.ip_network(f"0.0.0.0/{kv.get('mask') or 24}").prefixlen
                    with netlink.iproute(vm["namespace"]) as ipr:
                        idx = ipr.link_lookup(ifname="eth0")[0]
                        ipr.addr("replace", index=idx, address=kv["ip"], prefixlen=prefix)
                        if kv.get("router"):  # the subnet's gateway: the Neutron router's interface
                            ipr.route("replace", dst="0.0.0.0/0", gateway=kv["router"], oif=idx)
                    vm["lease_ip"] = kv["ip"]
                    vm["dhcp_server"] = kv.get("serverid", "")
                    vm["router"] = kv.get("router", "")
                    vm["dns"] = kv.get("dns", "")
                    self.state.save()
                    return
            last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            last = last[0]
        raise LabError(f"{vm['name']} got no DHCP lease on the {vm['network']} network: {last}", f"see {self.logs}")


def ping(netns: str, address: str, timeout: float = 1.0) -> tuple[bool, str]:
    """One ICMP echo from ``netns`` (iputils ping); (answered, its output)."""
    import subprocess

    done = subprocess.run(
        ["nsenter", f"--net=/run/netns/{netns}", "ping", "-n", "-c", "1", "-W", f"{timeout:g}", address],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout + 5,
        env=_env("/"),
        check=False,
    )
    return done.returncode == 0, (done.stdout + done.stderr).strip()


def _until(check: Callable[[], tuple[bool, str]], deadline: float) -> tuple[bool, str]:
    """Poll ``check`` until it succeeds or ``deadline`` (monotonic); the last answer."""
    ok, out = check()
    while not ok and time.monotonic() < deadline:
        time.sleep(0.2)
        ok, out = check()
    return ok, out


def _router_evidence(ns: str) -> str:
    try:
        ifaces = netlink.list_interfaces(ns)
    except Exception as exc:  # the namespace may not exist: that is the evidence
        return f"{ns}: {exc}"
    shown = []
    for i in ifaces:
        if i.name != "lo":
            shown.append(" ".join([i.name, *(f"{a.address}/{a.prefixlen}" for a in i.addresses if a.family == 4)]))
    return f"{ns}: {', '.join(shown) or 'no interfaces'}"


def l3_wait(b: NeutronBuilder, timeout: float = L3_TIMEOUT) -> None:
    """Wait for the router's namespace, then prove SNAT (every VM pings the internet host) and DNAT
    (the internet pings vm1's floating IP); LabError with the evidence otherwise."""
    from pyroute2 import netns as pnetns

    deadline = time.monotonic() + timeout
    qrouter = f"qrouter-{b.rec['router']['id']}"
    _wait(
        f"router namespace {qrouter}",
        lambda: qrouter in pnetns.listnetns(),
        timeout,
        alive=b._exited("l3-agent-network"),
        log=b.logs,
    )
    checks = {f"{vm['name']} -> {INTERNET_HOST} (SNAT)": (vm["namespace"], INTERNET_HOST) for vm in b.rec["vms"]}
    for name, fip in b.rec.get("floating_ips", {}).items():
        checks[f"internet -> {fip['address']} ({name}'s floating IP, DNAT)"] = (inet_ns(b.topo), fip["address"])
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(checks)) as pool:
        futures = {what: pool.submit(_until, lambda a=args: ping(*a), deadline) for what, args in checks.items()}
        failed = {what: f.result()[1] for what, f in futures.items() if not f.result()[0]}
    if failed:
        detail = "; ".join(f"{what}: {out.splitlines()[-1] if out else 'no output'}" for what, out in failed.items())
        raise LabError(
            f"the router does not forward after {timeout:g} s: {detail}; {_router_evidence(qrouter)}",
            f"see {b.logs}/l3-agent-network.log",
        )


def port_active(conn: Any, port_id: str) -> bool:
    return conn.network.get_port(port_id).status == "ACTIVE"


def connection(state: LabState) -> Any:
    import openstack

    port = state.extra["neutron"]["ports"]["api"]
    return openstack.connection.Connection(
        auth_type="none", network_endpoint_override=f"http://127.0.0.1:{port}/", region_name="RegionOne"
    )


def up(state: LabState, topo: Topology, progress: Progress = _quiet) -> None:
    """Build the Neutron part of a lab whose underlay is up; raises LabError (the caller tears down)."""
    t0 = time.monotonic()
    outer = progress

    def progress(msg: str) -> None:  # noqa: F811 - the same callback, with the time since the start
        outer(f"[{time.monotonic() - t0:5.1f} s] {msg}")

    b = NeutronBuilder(state, topo, progress)
    b.preflight()
    os.makedirs(b.logs, exist_ok=True)
    b.write_configs()
    progress("MariaDB and RabbitMQ")
    b.rabbit_start()  # boots in the background (~6-9 s) while MariaDB and the schema are made
    b.mariadb()
    progress("neutron-db-manage upgrade heads")
    b.server()
    progress(f"Open vSwitch on {len(topo.nodes)} nodes")
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        for f in [pool.submit(b.ovs, n) for n in topo.nodes]:
            f.result()
    progress(f"the internet namespace ({INTERNET_HOST}, DNS {INTERNET_DNS})")
    b.internet()
    progress("waiting for RabbitMQ")
    b.rabbit_wait()
    for node in topo.nodes:
        b.socat_node(node)
    progress("waiting for neutron-server")
    b.server_wait()
    progress("Neutron agents")
    b.agents()
    conn = connection(state)
    b.agents_wait(conn)
    progress("networks, subnets, router, security group, ports, floating IP")
    b.networks(conn)
    b.external(conn)
    b.router(conn)  # the L3 agent builds the router while the VMs are plugged and leased
    b.security_group(conn)
    b.create_ports(conn)
    b.floating_ip(conn)
    for vm in b.rec["vms"]:
        b.plug(vm)
    progress("waiting for the VMs' ports to become ACTIVE")
    for vm in b.rec["vms"]:
        _wait(f"port of {vm['name']} ACTIVE", lambda vm=vm: port_active(conn, vm["port_id"]), 90, log=b.logs)
    progress("DHCP leases")
    script = b.udhcpc_script()
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(b.rec["vms"]) or 1) as pool:
        for f in [pool.submit(b.lease, vm, script) for vm in b.rec["vms"]]:
            f.result()
    progress("router: SNAT from every VM, DNAT to the floating IP")
    l3_wait(b)
    b.rec["up_seconds"] = round(time.monotonic() - t0, 1)
    state.save()


def _lab_processes(directory: str, exclude: set[int]) -> list[int]:
    """PIDs whose command line names this lab's directory (privsep helpers, dnsmasq, strays).

    The directory is unique to the lab, so this never selects another lab's or the host's processes.
    """
    needle = directory.encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in exclude:
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                if needle in fh.read():
                    found.append(int(entry))
        except OSError:
            continue
    return found


def _ancestors() -> set[int]:
    """This process and its parents (a shell whose command line names the lab is never a target)."""
    pids, pid = set(), os.getpid()
    while pid > 1 and pid not in pids:
        pids.add(pid)
        try:
            with open(f"/proc/{pid}/stat") as fh:
                data = fh.read()
            pid = int(data[data.rindex(")") + 2 :].split()[1])
        except (OSError, ValueError):
            break
    return pids


def _kill_pids(pids: list[int], timeout: float = 5.0) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(proc.is_alive(p) for p in pids):
        time.sleep(0.1)
    for pid in pids:
        if proc.is_alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def down(state: LabState, progress: Progress = _quiet) -> list[str]:
    """Stop every recorded Neutron process, remove the qdhcp/qrouter namespaces of our networks and routers.

    The internet namespace (and with it the veth to br-ex) is in ``state.namespaces``: the caller removes
    it after this. Returns problems.
    """
    rec = state.extra.get("neutron")
    if not rec:
        return []
    problems: list[str] = []
    procs = {name: proc.ProcRecord.from_json(data) for name, data in rec.get("procs", {}).items()}
    order = [
        [n for n in procs if "agent" in n or n.startswith("inet-")],
        ["neutron-server"],
        [n for n in procs if n.startswith(("ovs-vswitchd", "ovsdb-server", "socat"))],
        ["rabbit-beam", "rabbitmq", "epmd", "mariadbd"],
    ]
    progress(f"stopping {len(procs)} Neutron lab processes")
    for group in order:
        recs = [procs[n] for n in group if n in procs]
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, len(recs))) as pool:
            list(pool.map(lambda r: proc.terminate(r, timeout=10.0), recs))
    directory = rec.get("dir") or neutron_dir(state)
    # privsep helpers and dnsmasq were started by the agents: found by our unique paths
    strays = _lab_processes(directory + os.sep, exclude=_ancestors())
    if strays:
        _kill_pids(strays)
    from pyroute2 import netns as pnetns

    existing = set(pnetns.listnetns())
    net_ids = set(rec.get("networks", {}).values())
    dhcp_dir = os.path.join(directory, "state-network", "dhcp")
    if os.path.isdir(dhcp_dir):
        net_ids |= {d for d in os.listdir(dhcp_dir) if len(d) == 36}
    ext_id = rec.get("external", {}).get("network_id")
    if ext_id:
        net_ids.add(ext_id)
    router_ids = router_ids_in(os.path.join(directory, "state-network"))
    if rec.get("router", {}).get("id"):
        router_ids.add(rec["router"]["id"])
    for ns in [f"qdhcp-{n}" for n in sorted(net_ids)] + [f"qrouter-{r}" for r in sorted(router_ids)]:
        if ns in existing:
            try:
                pnetns.remove(ns)
            except OSError as exc:
                problems.append(f"removing {ns}: {exc}")
    return problems
