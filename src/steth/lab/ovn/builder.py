"""The ML2/OVN Neutron lab (`steth lab up --neutron --backend ovn`).

The recipe of shared/reference/ovn-linuxbridge-lab in the lab's own structure. It reuses the ML2/OVS
lab's builder for what both share (MariaDB, neutron-server, per-node OVS with br-tenant on eth1 holding
the tunnel endpoint and br-ex on the network node, the internet namespace, security group, ports, VM
plugging, DHCP leases) and replaces the rest:

* no RabbitMQ (``transport_url = fake:/``, pitfall O2) and no Neutron agents: OVN central (NB and SB as
  3-member Raft clusters, ovn-northd; see central.py) and an ovn-controller per node;
* neutron-server with ``mechanism_drivers = ovn``, ``service_plugins = ovn-router``, ``api_workers = 1``
  (O1: with 0 the hash ring stays empty and no agent is ever listed);
* ovn-controller configured as deployment tools do (system-id, hostname, ovn-remote over unix sockets
  (O7), Geneve encapsulation on the tunnel address, bridge mappings, chassis MACs for the VLAN network
  (O5), the network node as the only gateway chassis); its Chassis' other_config mirrored into
  external_ids, which Debian's neutron 21 reads (O4);
* a Geneve and a VLAN tenant network with OVN's native DHCP, no qdhcp/qrouter namespaces.
"""

from __future__ import annotations

import concurrent.futures
import os
import shutil
import time
import zlib
from typing import Any

from ...errors import LabError
from ..neutron import (
    EXT_BRIDGE,
    EXT_PHYSNET,
    INTERNET_DNS,
    INTERNET_HOST,
    NEUTRON_PATH,
    PHYSNET,
    PROVIDER_BRIDGE,
    TENANT_SUBNETS,
    VLAN_ID,
    VLAN_RANGE,
    NeutronBuilder,
    Progress,
    _env,
    _ini,
    _port_free,
    _quiet,
    _until,
    _wait,
    cloud_name,
    clouds_path,
    connection,
    inet_ns,
    ovs_rundir,
    ping,
    port_active,
    tunnel_ip,
)
from ..state import LabState
from ..topology import Node, Topology
from .central import Central, tcp_remotes

BACKEND = "ovn"
ENCAP = "geneve"
GENEVE_SUBNET = "192.168.202.0/24"
VNI_RANGE = (1, 4095)  # <= 4095: with vxlan chassis neutron refuses bigger ones (O6)
BINARIES = (
    "neutron-server",
    "neutron-db-manage",
    "mariadbd",
    "mariadb-install-db",
    "ovsdb-server",
    "ovsdb-tool",
    "ovsdb-client",
    "ovs-vswitchd",
    "ovs-vsctl",
    "ovn-northd",
    "ovn-controller",
    "ovn-sbctl",
    "ovn-nbctl",
    "busybox",
    "dnsmasq",
    "nsenter",
    "ping",
)
NET_TIMEOUT = 60.0


def chassis_mac(lab: str, node: Node, physnet: str) -> str:
    """A locally administered MAC per lab, node and physnet (OVN's source MAC on VLAN/flat networks)."""
    h = zlib.crc32(f"{lab}/{physnet}".encode())
    return f"0e:{(h >> 16) & 0xFF:02x}:{(h >> 8) & 0xFF:02x}:{h & 0xFF:02x}:00:{node.index + 1:02x}"


def bridge_mappings(node: Node) -> str:
    tenant = f"{PHYSNET}:{PROVIDER_BRIDGE}"
    return f"{tenant},{EXT_PHYSNET}:{EXT_BRIDGE}" if node.role == "network" else tenant


def cms_options(node: Node) -> str:
    """The network node is the only gateway chassis (routers' gateway ports, SNAT, centralised FIPs)."""
    return "enable-chassis-as-gw" if node.role == "network" else ""


class OvnBuilder(NeutronBuilder):
    """Brings up (and records) neutron-server on ML2/OVN, OVN central, ovn-controllers, networks and VMs."""

    def __init__(self, state: LabState, topo: Topology, progress: Progress = _quiet) -> None:
        super().__init__(state, topo, progress)
        self.rec["backend"] = BACKEND
        self.central = Central(self)
        self.rec["ovn"] = self.central.record()
        self.state.save()

    def preflight(self) -> None:
        missing = [b for b in BINARIES if not shutil.which(b, path=NEUTRON_PATH)]
        if missing:
            raise LabError(
                f"the ML2/OVN lab needs {', '.join(missing)}, not installed",
                "run `bash scripts/setup.sh` as root (installs Debian's neutron, ovn-central, ovn-host, mariadb)",
            )
        busy = [f"127.0.0.1:{p}" for p in [self.ports.api, *self.central.ports.all()] if not _port_free(p)]
        if busy:
            raise LabError(
                f"ports {', '.join(busy)} for lab {self.state.lab}'s Neutron and OVN are in use",
                "another lab with a name in the same port slot may be up; use another --name",
            )

    def write_configs(self) -> None:
        os.makedirs(self.path("etc"), exist_ok=True)
        server = {
            "DEFAULT": {
                "core_plugin": "ml2",
                "service_plugins": "ovn-router",
                "auth_strategy": "noauth",
                "bind_host": "127.0.0.1",
                "bind_port": self.ports.api,
                "api_workers": 1,  # O1
                "rpc_workers": 0,
                "rpc_state_report_workers": 0,
                "state_path": self.path("state"),
                "agent_down_time": 11,  # chassis liveness is checked (nb_cfg bumped) every ~5 s
                "transport_url": "fake:/",  # O2: no RPC agents
                "notify_nova_on_port_status_changes": "false",
                "notify_nova_on_port_data_changes": "false",
                "debug": "false",
            },
            "database": {"connection": self.db_url()},
            "oslo_concurrency": {"lock_path": self.path("state", "lock")},
        }
        ml2 = {
            "ml2": {
                "type_drivers": "flat,vlan,geneve",
                "tenant_network_types": "geneve",
                "mechanism_drivers": "ovn",
                "extension_drivers": "port_security",
                "overlay_ip_version": 4,
            },
            "ml2_type_flat": {"flat_networks": f"{PHYSNET},{EXT_PHYSNET}"},
            "ml2_type_vlan": {"network_vlan_ranges": f"{PHYSNET}:{VLAN_RANGE[0]}:{VLAN_RANGE[1]}"},
            "ml2_type_geneve": {"vni_ranges": f"{VNI_RANGE[0]}:{VNI_RANGE[1]}", "max_header_size": 38},
            "securitygroup": {"enable_security_group": "true"},
            "ovn": {
                # one NB member (the leader at creation): with several, neutron 21's start-up creation of
                # the neutron_pg_drop Port_Group fails ("The transaction failed because the IDL has been
                # configured to require a database lock but didn't get it yet") and every port create then
                # fails with 500 "Port group neutron_pg_drop does not exist"
                "ovn_nb_connection": tcp_remotes(self.central.ports.nb[:1]),
                "ovn_sb_connection": tcp_remotes(self.central.ports.sb),
                "ovn_l3_scheduler": "leastloaded",
                "ovn_metadata_enabled": "false",
                "enable_distributed_floating_ip": "false",
                "neutron_sync_mode": "log",
                "dns_servers": INTERNET_DNS,  # O9: else the host's resolver is handed out
            },
        }
        for name, data in (("neutron.conf", server), ("ml2_conf.ini", ml2)):
            with open(self.conf(name), "w") as fh:
                fh.write(_ini(data))
        with open(clouds_path(self.state), "w") as fh:
            fh.write(
                f"clouds:\n  {cloud_name(self.state)}:\n    auth_type: none\n"
                f"    network_endpoint_override: http://127.0.0.1:{self.ports.api}/\n"
                f"    region_name: RegionOne\n    identity_api_version: 3\n"
            )

    # --- per node: OVS (the ML2/OVS lab's bridges) and ovn-controller ---
    def vsctl(self, node: Node, *args: str, what: str = "") -> str:
        rundir = ovs_rundir(self.state, node.name)
        return self.run(
            ["ovs-vsctl", f"--db=unix:{rundir}/db.sock", "--timeout=20", *args],
            env=_env(rundir, OVS_RUNDIR=rundir),
            what=what or f"ovs-vsctl on {node.name}",
        )

    def chassis(self, node: Node) -> None:
        self.ovs(node)
        macs = [f"{PHYSNET}:{chassis_mac(self.state.lab, node, PHYSNET)}"]
        if node.role == "network":
            macs.append(f"{EXT_PHYSNET}:{chassis_mac(self.state.lab, node, EXT_PHYSNET)}")
        ids = {
            "system-id": node.name,
            "hostname": node.name,  # all namespaces share the UTS hostname
            "ovn-remote": self.central.unix_remotes("sb"),
            "ovn-encap-type": ENCAP,
            "ovn-encap-ip": str(tunnel_ip(self.topo, node)),
            "ovn-bridge": "br-int",
            "ovn-bridge-datapath-type": "netdev",
            "ovn-bridge-mappings": bridge_mappings(node),
            "ovn-chassis-mac-mappings": ",".join(macs),
            "ovn-cms-options": f'"{cms_options(node)}"',
        }
        self.vsctl(node, "set", "Open_vSwitch", ".", *(f"external_ids:{k}={v}" for k, v in ids.items()))
        rundir = ovs_rundir(self.state, node.name)
        self.spawn(
            f"ovn-controller-{node.name}",
            [
                "ovn-controller",
                f"unix:{rundir}/db.sock",
                f"--pidfile={rundir}/ovn-controller.pid",
                f"--log-file={rundir}/ovn-controller.log",
            ],
            netns=self.topo.node_ns(node),
            env=_env(rundir, OVS_RUNDIR=rundir, OVN_RUNDIR=rundir),  # O3: its unixctl socket lands there
        )

    def sbctl(self, *args: str, what: str = "ovn-sbctl") -> str:
        return self.run(
            ["ovn-sbctl", f"--db={self.central.unix_remotes('sb')}", "--timeout=10", *args],
            env=self.central.env(),
            what=what,
        )

    def chassis_names(self) -> set[str]:
        return set(self.sbctl("--bare", "--columns=name", "list", "Chassis").split())

    def chassis_wait(self) -> None:
        want = {n.name for n in self.topo.nodes}

        def dead() -> str:
            gone = [n for n in want if not self._exited(f"ovn-controller-{n}")() == ""]
            return f"ovn-controller on {', '.join(gone)} exited" if gone else ""

        _wait(f"{len(want)} chassis in the Southbound DB", lambda: want <= self.chassis_names(), 60, alive=dead)
        # O4: neutron 21 reads bridge mappings and cms options from Chassis.external_ids; OVN 23.03 writes
        # them to other_config only. Without the copy VLAN/flat ports fail to bind and every chassis is
        # a gateway candidate.
        for node in self.topo.nodes:
            self.sbctl(
                "set",
                "Chassis",
                node.name,
                f"external_ids:ovn-bridge-mappings={bridge_mappings(node)}",
                f'external_ids:ovn-cms-options="{cms_options(node)}"',
                what=f"Chassis {node.name} external_ids",
            )

    def pg_drop(self) -> bool:
        out = self.run(
            [
                "ovn-nbctl",
                f"--db={self.central.unix_remotes('nb')}",
                "--timeout=10",
                "--bare",
                "--columns=name",
                "find",
                "Port_Group",
                "name=neutron_pg_drop",
            ],
            env=self.central.env(),
            what="ovn-nbctl find Port_Group",
        )
        return "neutron_pg_drop" in out

    def expected_agents(self) -> int:
        """One OVN Controller (Gateway) agent per chassis."""
        return len(self.topo.nodes)

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
        gnv = net.create_network(name=f"{self.state.lab}-geneve", provider_network_type="geneve")
        self.rec["networks"]["geneve"] = gnv.id
        self.state.save()
        subnets = self.rec.setdefault("subnets", {})
        for kind, network, cidr in (("vlan", vlan, TENANT_SUBNETS["vlan"]), ("geneve", gnv, GENEVE_SUBNET)):
            sub = net.create_subnet(
                name=f"{self.state.lab}-{kind}-subnet",
                network_id=network.id,
                ip_version=4,
                cidr=cidr,
                enable_dhcp=True,
                dns_nameservers=[INTERNET_DNS],
            )
            subnets[kind] = sub.id
            self.state.save()
        return {"vlan": vlan, "geneve": gnv}

    def router(self, conn: Any) -> None:
        r = conn.network.create_router(
            name=f"{self.state.lab}-router",
            external_gateway_info={"network_id": self.rec["external"]["network_id"], "enable_snat": True},
        )
        ips = (r.external_gateway_info or {}).get("external_fixed_ips") or [{}]
        self.rec["router"] = {"id": r.id, "name": r.name, "gateway_ip": ips[0].get("ip_address", "")}
        self.state.save()
        for kind in ("vlan", "geneve"):
            conn.network.add_interface_to_router(r, subnet_id=self.rec["subnets"][kind])

    def vm_plan(self) -> list[dict[str, str]]:
        """Two VMs per compute node, one per network, plugged straight on br-int (OVN has no hybrid plug)."""
        plan = []
        n = 0
        for node in self.topo.nodes:
            if node.role != "compute":
                continue
            for kind in ("vlan", "geneve"):
                n += 1
                plan.append({"name": f"vm{n}", "node": node.name, "network": kind, "plug": "direct"})
        return plan


def north_south_wait(b: OvnBuilder, timeout: float = NET_TIMEOUT) -> None:
    """Prove SNAT (every VM pings the internet host) and DNAT (the internet pings the floating IP)."""
    deadline = time.monotonic() + timeout
    checks = {f"{vm['name']} -> {INTERNET_HOST} (SNAT)": (vm["namespace"], INTERNET_HOST) for vm in b.rec["vms"]}
    for name, fip in b.rec.get("floating_ips", {}).items():
        checks[f"internet -> {fip['address']} ({name}'s floating IP, DNAT)"] = (inet_ns(b.topo), fip["address"])
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(checks)) as pool:
        futures = {what: pool.submit(_until, lambda a=args: ping(*a), deadline) for what, args in checks.items()}
        failed = {what: f.result()[1] for what, f in futures.items() if not f.result()[0]}
    if failed:
        detail = "; ".join(f"{what}: {out.splitlines()[-1] if out else 'no output'}" for what, out in failed.items())
        raise LabError(f"the OVN router does not forward after {timeout:g} s: {detail}", f"see {b.logs}")


def up(state: LabState, topo: Topology, progress: Progress = _quiet) -> None:
    """Build the ML2/OVN part of a lab whose underlay is up; raises LabError (the caller tears down)."""
    t0 = time.monotonic()
    outer = progress

    def progress(msg: str) -> None:  # noqa: F811 - the same callback, with the time since the start
        outer(f"[{time.monotonic() - t0:5.1f} s] {msg}")

    b = OvnBuilder(state, topo, progress)
    b.preflight()
    os.makedirs(b.logs, exist_ok=True)
    b.write_configs()
    progress("OVN central: NB and SB as 3-member Raft clusters")
    b.central.start()
    progress("MariaDB")
    b.mariadb()
    progress("neutron-db-manage upgrade heads")
    b.server()  # neutron-server starts while OVN and the chassis come up
    b.central.wait()
    b.central.northd()
    progress(f"Open vSwitch and ovn-controller on {len(topo.nodes)} nodes")
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        for f in [pool.submit(b.chassis, n) for n in topo.nodes]:
            f.result()
    progress(f"the internet namespace ({INTERNET_HOST}, DNS {INTERNET_DNS})")
    b.internet()
    b.chassis_wait()
    progress("waiting for neutron-server")
    b.server_wait()
    _wait("neutron_pg_drop Port_Group in NB (neutron-server's OVN start-up)", b.pg_drop, 30, log=b.logs)
    conn = connection(state)
    b.agents_wait(conn)
    progress("networks, subnets, router, security group, ports, floating IP")
    b.networks(conn)
    b.external(conn)
    b.router(conn)
    b.security_group(conn)
    b.create_ports(conn)
    b.floating_ip(conn)
    for vm in b.rec["vms"]:
        b.plug(vm)
    progress("waiting for the VMs' ports to become ACTIVE")
    for vm in b.rec["vms"]:
        _wait(f"port of {vm['name']} ACTIVE", lambda vm=vm: port_active(conn, vm["port_id"]), 90, log=b.logs)
    progress("DHCP leases from OVN")
    script = b.udhcpc_script()
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(b.rec["vms"]) or 1) as pool:
        for f in [pool.submit(b.lease, vm, script) for vm in b.rec["vms"]]:
            f.result()
    progress("router: SNAT from every VM, DNAT to the floating IP")
    north_south_wait(b)
    b.rec["up_seconds"] = round(time.monotonic() - t0, 1)
    state.save()
