"""The metadata path of the ML2/OVN lab: neutron-ovn-metadata-agent on every compute chassis and the lab's
stand-in for Nova's metadata API (nova_standin.py) behind it.

Each agent runs inside its node's namespace (``nsenter --net``: the ``ovnmeta-<network>`` namespace's veth
must be seen by that node's userspace OVS), with the node's OVS db socket, the SB's unix sockets (O7) and
its own state and lock directories under ``<labdir>/neutron/meta-<node>``. For every network with a VM
bound to its chassis it makes ``ovnmeta-<network id>``: a veth on br-int with the metadata port's iface-id,
169.254.169.254 on its inner end, and haproxy on :80 forwarding to the agent's unix socket. The agent
signs the instance id (HMAC-SHA256, the shared secret) and asks the stand-in on the node's 127.0.0.1.

`up` proves the path once: every VM gets its instance id from http://169.254.169.254 (the route to it is
the DHCP classless static route OVN hands out, via the metadata port's address).
"""

from __future__ import annotations

import concurrent.futures
import http.client
import json
import os
import secrets
import subprocess
import sys
import time

from ....errors import LabError
from ....host import netlink, netns
from ...topology import Node, Topology
from ..ml2ovs.config import ovs_rundir
from ..record import VMRecord
from ..services import Services, env, ini, wait
from .central import Central

METADATA_IP = "169.254.169.254"
NOVA_PORT = 8775  # the stand-in, on 127.0.0.1 inside each compute node's namespace
PROOF_TIMEOUT = 60.0
NS_PREFIX = "ovnmeta-"
STANDIN = "nova-metadata-standin"
MOUNT_AND_EXEC = 'mount -t tmpfs steth-ovnmeta /run/netns && exec "$@"'
PRIVSEP_SECTIONS = ("privsep", "privsep_link", "privsep_namespace", "privsep_dhcp_release", "privsep_conntrack")


def agent_name(node: str) -> str:
    return f"ovn-metadata-agent-{node}"


def hosts(topo: Topology) -> list[Node]:
    """The chassis that host VMs: the compute nodes."""
    return [n for n in topo.nodes if n.role == "compute"]


def _secret(svc: Services) -> str:
    path = svc.conf("metadata_secret")
    if not os.path.exists(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(16))
    with open(path) as fh:
        return fh.read().strip()


def agent_config(svc: Services, central: Central, node: Node, secret: str) -> str:
    """neutron_ovn_metadata_agent.ini of one node; its path."""
    state = svc.path(f"meta-{node.name}")
    os.makedirs(os.path.join(state, "lock"), exist_ok=True)
    rundir = ovs_rundir(svc.state, node.name)
    conf = {
        "DEFAULT": {
            "state_path": state,
            "metadata_proxy_socket": os.path.join(state, "metadata_proxy"),
            "nova_metadata_host": "127.0.0.1",
            "nova_metadata_port": NOVA_PORT,
            "nova_metadata_protocol": "http",
            "metadata_proxy_shared_secret": secret,
            # >= 1: with 0 the in-process server never gets its SB connection (it is made on the worker's
            # AFTER_INIT, published only by forked workers, as neutron-server's api_workers, recipe O1) and
            # every request hangs until haproxy answers the VM "504 Gateway Time-out"
            "metadata_workers": 1,
            "debug": "false",
        },
        # non-empty: else oslo.privsep falls back to `sudo privsep-helper`
        "agent": {"root_helper": f"env OVS_RUNDIR={rundir}", "report_interval": 5},
        "ovs": {"ovsdb_connection": f"unix:{rundir}/db.sock"},
        "ovn": {"ovn_sb_connection": central.unix_remotes("sb")},
        "oslo_concurrency": {"lock_path": os.path.join(state, "lock")},
        **{section: {"thread_pool_size": 1} for section in PRIVSEP_SECTIONS},
    }
    return svc.write(svc.conf(f"ovn_metadata_agent-{node.name}.ini"), ini(conf))


def start(svc: Services, topo: Topology, central: Central) -> None:
    """The stand-in (one process, a socket in every compute namespace), then an agent per compute node."""
    secret = _secret(svc)
    write_instances(svc)
    cfg = {
        "secret_file": svc.conf("metadata_secret"),
        "instances_file": svc.conf("instances.json"),
        "port": NOVA_PORT,
        "netns": [topo.node_ns(n) for n in hosts(topo)],
    }
    cfg_path = svc.write(svc.conf("nova-standin.json"), json.dumps(cfg, indent=1))
    src = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__)))))
    svc.spawn(
        STANDIN,
        [sys.executable, "-m", "steth.lab.neutron.ml2ovn.nova_standin", cfg_path],
        env={**env(svc.dir), "PYTHONPATH": src},
    )
    svc.rec.ovn["metadata"] = {"standin": f"127.0.0.1:{NOVA_PORT}", "secret_file": cfg["secret_file"]}
    for node in hosts(topo):
        conf = agent_config(svc, central, node, secret)
        agent = ["neutron-ovn-metadata-agent", "--config-file", conf]
        agent += ["--log-file", os.path.join(svc.logs, f"{agent_name(node.name)}.log")]
        # its own mount namespace with an empty /run/netns: every compute node makes ovnmeta-<network> for
        # the same networks, and the simulated nodes share this machine's /run/netns
        argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c", MOUNT_AND_EXEC, "sh", *agent]
        rec = svc.spawn(agent_name(node.name), argv, netns=topo.node_ns(node), env=env(svc.dir))
        link = netns_dir(svc, node.name)
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(f"/proc/{rec.pid}/root/run/netns", link)  # the node's steth-agent reads them there


def netns_dir(svc: Services, node: str) -> str:
    """``<labdir>/<node>/netns``: the node's own /run/netns (its steth-agent's ``--netns-dirs``)."""
    return os.path.join(svc.state.directory, node, "netns")


def write_instances(svc: Services) -> None:
    """The stand-in's instances: every lab VM by its port's device_id (the instance id Nova would know)."""
    data = {vm.device_id: {"hostname": vm.name} for vm in svc.rec.vms if vm.device_id}
    tmp = svc.conf("instances.json.tmp")
    svc.write(tmp, json.dumps(data, indent=1))
    os.replace(tmp, svc.conf("instances.json"))


def get(vm: VMRecord, path: str, timeout: float = 5.0) -> tuple[int, str]:
    """GET http://169.254.169.254<path> from inside the VM's namespace: (status, body)."""

    def fetch() -> tuple[int, str]:
        conn = http.client.HTTPConnection(METADATA_IP, 80, timeout=timeout)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, resp.read().decode(errors="replace")
        finally:
            conn.close()

    return netns.call_in(vm.namespace, fetch)


def _ready_namespace(name: str) -> bool:
    """The agent made ``name`` with its tap up: TX checksum offload off on it (the netdev datapath would
    forward haproxy's TCP with the checksum unfilled, and OVN's conntrack drops it)."""
    if not netns.exists(name):
        return False
    with netlink.iproute(name) as ipr:
        taps = [link.get_attr("IFLA_IFNAME") for link in ipr.get_links()]
    taps = [t for t in taps if t and t != "lo"]
    for tap in taps:
        netlink.disable_tx_checksum(tap, name)
    return bool(taps)


def prove(svc: Services, topo: Topology, timeout: float = PROOF_TIMEOUT) -> None:
    """Every VM gets its own instance id from 169.254.169.254 (VM -> localport -> ovnmeta- haproxy -> agent
    -> stand-in); records the haproxy processes the agents started."""
    rec = svc.rec
    deadline = time.monotonic() + timeout
    for node, net in sorted({(vm.node, rec.networks[vm.network]) for vm in rec.vms}):
        path = os.path.join(netns_dir(svc, node), f"{NS_PREFIX}{net}")
        what = f"namespace {NS_PREFIX}{net} from {agent_name(node)}"
        wait(what, lambda p=path: _ready_namespace(p), timeout, alive=svc.exited(agent_name(node)), log=svc.logs)

    def one(vm: VMRecord) -> str:
        last = ""
        while time.monotonic() < deadline:
            try:
                status, body = get(vm, "/latest/meta-data/instance-id", timeout=3)
                if status == 200 and body.strip() == vm.device_id:
                    return ""
                last = f"HTTP {status}: {body.strip()[:120]}"
            except OSError as exc:
                last = str(exc)
            time.sleep(0.5)
        route = subprocess.run(
            ["ip", "-n", vm.namespace, "route", "get", METADATA_IP], capture_output=True, text=True, check=False
        )
        return f"{vm.name}: {last} (route: {(route.stdout or route.stderr).strip()})"

    with concurrent.futures.ThreadPoolExecutor(max_workers=len(rec.vms) or 1) as pool:
        failed = [r for r in pool.map(one, rec.vms) if r]
    if failed:
        raise LabError(
            f"the metadata path does not answer after {timeout:g} s: {'; '.join(failed)}",
            f"see {svc.logs}/ovn-metadata-agent-*.log and {svc.logs}/{STANDIN}.out",
        )
    record_haproxies(svc, topo)


def haproxy_pidfile(svc: Services, node: str, network_id: str) -> str:
    """Where the agent's haproxy for ``network_id`` on ``node`` writes its PID (neutron's external process)."""
    return svc.path(f"meta-{node}", "external", "pids", f"{network_id}.pid.haproxy")


def record_haproxies(svc: Services, topo: Topology) -> None:
    for node in hosts(topo):
        for net in sorted({svc.rec.networks[vm.network] for vm in svc.rec.vms if vm.node == node.name}):
            svc.record_pidfile(f"haproxy-meta-{node.name}-{net[:8]}", haproxy_pidfile(svc, node.name, net))
