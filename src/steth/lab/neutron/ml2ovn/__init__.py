"""The ML2/OVN Neutron lab (`steth lab up --neutron --backend ovn`), on the shared services (../services.py).

The recipe of shared/reference/ovn-linuxbridge-lab in the lab's structure: no RabbitMQ and no Neutron
agents; OVN central (NB and SB as 3-member Raft clusters, ovn-northd: central.py); neutron-server with
``mechanism_drivers = ovn`` and ``service_plugins = ovn-router``; on every node its own OVS and an
ovn-controller (chassis.py; the network node is the gateway chassis). Then the overlay (config.py): a
VLAN and a Geneve network with OVN's native DHCP, the external network with the internet namespace, a
router with SNAT, a security group, VMs plugged on br-int with their iface-id, a floating IP on vm1; the
metadata path (metadata.py: neutron-ovn-metadata-agent per compute node, a stand-in for Nova's metadata API);
``up`` ends by proving DHCP leases, SNAT and DNAT, and metadata from 169.254.169.254.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable

from ....errors import LabError
from ...state import LabState
from ...topology import Topology
from .. import internet, resources, vms
from ..api import connection
from ..l3check import ping, until
from ..ml2ovs import node as ovs_node
from ..ml2ovs import plug
from ..ml2ovs.config import EXT_BRIDGE
from ..record import NeutronRecord
from ..services import Services, neutron_dir, port_free, ports_for, wait
from . import chassis, config, metadata
from .central import Central

Progress = Callable[[str], None]
NORTH_SOUTH_TIMEOUT = 60.0


def _quiet(_: str) -> None:
    pass


def north_south(rec: NeutronRecord, logs: str, timeout: float = NORTH_SOUTH_TIMEOUT) -> None:
    """Prove SNAT (every VM pings the internet host) and DNAT (the internet pings each floating IP)."""
    assert rec.external is not None
    deadline = time.monotonic() + timeout
    host, inet_ns = rec.external.internet_host, rec.external.namespace
    checks = {f"{vm.name} -> {host} (SNAT)": (vm.namespace, host) for vm in rec.vms}
    for name, fip in rec.floating_ips.items():
        checks[f"internet -> {fip.address} ({name}'s floating IP, DNAT)"] = (inet_ns, fip.address)
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(checks)) as pool:
        futures = {what: pool.submit(until, lambda a=args: ping(*a), deadline) for what, args in checks.items()}
        failed = {what: f.result()[1] for what, f in futures.items() if not f.result()[0]}
    if failed:
        detail = "; ".join(f"{what}: {out.splitlines()[-1] if out else 'no output'}" for what, out in failed.items())
        raise LabError(f"the OVN router does not forward after {timeout:g} s: {detail}", f"see {logs}")


def up(state: LabState, topo: Topology, progress: Progress = _quiet) -> NeutronRecord:
    """Build the ML2/OVN part of a lab whose underlay is up; raises LabError (the caller tears down)."""
    t0 = time.monotonic()

    phases: list[list] = []  # [seconds since the start, what began]: benchmarks/ovn_lab.py prints them

    def step(msg: str) -> None:
        phases.append([round(time.monotonic() - t0, 1), msg])
        progress(f"[{time.monotonic() - t0:5.1f} s] {msg}")

    overlay = config.overlay(topo)
    rec = NeutronRecord(dir=neutron_dir(state), ports=ports_for(state.lab), backend=config.BACKEND)
    rec.save(state)
    svc = Services(state, rec)
    central = Central(svc)
    rec.ovn = central.record()
    svc.save()
    svc.preflight(config.BINARIES)
    busy = [f"127.0.0.1:{p}" for p in central.ports.all() if not port_free(p)]
    if busy:
        raise LabError(
            f"ports {', '.join(busy)} for lab {state.lab}'s OVN central are in use",
            "another ML2/OVN lab with a name in the same port slot may be up; use another --name",
        )
    svc.write_server_config(
        config.ml2_section(central, overlay.internet.dns), service_plugins="ovn-router", defaults=config.SERVER_DEFAULTS
    )
    step("OVN central: NB and SB as 3-member Raft clusters")
    central.start()
    net_node = next(n for n in topo.nodes if n.role == "network")

    def neutron_side() -> None:
        step("MariaDB, then neutron-db-manage upgrade heads, then neutron-server")
        svc.start_mariadb()
        svc.start_server()
        step("neutron-server started (the schema made)")

    def chassis_side() -> None:
        """OVN's side needs neither MariaDB nor Neutron: it comes up while the schema is made."""
        central.wait()
        central.northd()
        step(f"Open vSwitch and ovn-controller on {len(topo.nodes)} nodes")
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            for f in [pool.submit(chassis.start, svc, topo, central, n) for n in topo.nodes]:
                f.result()
        step(f"the internet namespace ({overlay.internet.host}, DNS {overlay.internet.dns})")
        internet.build(svc, topo, overlay, lambda port: ovs_node.add_port(svc, net_node.name, EXT_BRIDGE, port))
        chassis.registered(svc, topo, central)
        step(f"neutron-ovn-metadata-agent on {len(metadata.hosts(topo))} compute nodes, the Nova metadata stand-in")
        metadata.start(svc, topo, central)

    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        sides = [pool.submit(neutron_side), pool.submit(chassis_side)]
        for f in sides:
            f.result()
    step("waiting for neutron-server")
    svc.wait_api()
    what = "neutron_pg_drop Port_Group in NB (neutron-server's OVN start-up)"
    wait(what, lambda: chassis.pg_drop_ready(svc, central), 30, alive=svc.exited("neutron-server"), log=svc.logs)
    conn = connection(state)
    # one OVN Controller (Gateway) agent per chassis, one OVN Metadata agent per compute chassis
    svc.wait_agents(conn, len(topo.nodes) + len(metadata.hosts(topo)))
    step("networks, subnets, router, security group, ports, floating IP")
    resources.tenant_networks(svc, conn, overlay)
    resources.external(svc, conn, overlay)
    resources.router(svc, conn, overlay)
    resources.security_group(svc, conn, overlay)
    vms.create_ports(svc, conn, overlay)
    metadata.write_instances(svc)  # the stand-in learns the VMs' instance ids
    resources.floating_ips(svc, conn, overlay)
    vms.plug_and_lease(svc, conn, lambda vm: plug.plug(svc, topo, vm), step, "DHCP leases from OVN")
    step("router: SNAT from every VM, DNAT to the floating IP; metadata from 169.254.169.254")
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        proofs = [pool.submit(north_south, rec, svc.logs), pool.submit(metadata.prove, svc, topo)]
        for f in proofs:
            f.result()
    rec.up_seconds = round(time.monotonic() - t0, 1)
    rec.ovn["phases"] = [*phases, [rec.up_seconds, "done"]]
    svc.save()
    return rec
