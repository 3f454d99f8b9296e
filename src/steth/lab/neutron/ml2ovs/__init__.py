"""The ML2/Open vSwitch Neutron lab (`steth lab up --neutron`), on the shared services (../services.py).

On every node: its own OVS (node.py) and a neutron-openvswitch-agent; on the network node a DHCP agent
and a legacy L3 agent (no metadata proxy) and br-ex (``extnet``). Then the overlay (../overlay.py):
networks, router, security group, VM ports, floating IP; VMs plugged as nova/os-vif does (plug.py) and
leased their address by Neutron's dnsmasq; ``up`` ends by proving SNAT and DNAT with pings.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable

from ...state import LabState
from ...topology import Topology
from .. import internet, l3check, resources, vms
from ..api import connection
from ..overlay import build as build_overlay
from ..record import NeutronRecord
from ..services import Services, neutron_dir, ports_for
from . import agents, config, dvr, node, plug, views

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def up(state: LabState, topo: Topology, progress: Progress = _quiet, distributed: bool = False) -> NeutronRecord:
    """Build the Neutron part of a lab whose underlay is up; raises LabError (the caller tears down).

    ``distributed``: DVR (dvr.py, views.py): L3 agents on the compute nodes, routers distributed."""
    t0 = time.monotonic()

    def step(msg: str) -> None:
        progress(f"[{time.monotonic() - t0:5.1f} s] {msg}")

    overlay = build_overlay(topo)
    rec = NeutronRecord(dir=neutron_dir(state), ports=ports_for(state.lab), backend="ml2ovs", dvr=distributed)
    rec.save(state)
    svc = Services(state, rec)
    svc.preflight(config.BINARIES)
    svc.write_server_config(config.ml2_section(distributed), defaults=config.server_defaults(distributed))
    config.write_agent_configs(svc, topo, distributed)
    step("MariaDB and RabbitMQ")
    svc.start_rabbit()  # boots in the background (~6-9 s) while MariaDB and the schema are made
    svc.start_mariadb()
    step("neutron-db-manage upgrade heads")
    svc.start_server()
    step(f"Open vSwitch on {len(topo.nodes)} nodes")
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        for f in [pool.submit(node.start, svc, topo, n, distributed) for n in topo.nodes]:
            f.result()
    step(f"the internet namespace ({overlay.internet.host}, DNS {overlay.internet.dns})")
    net_node = next(n for n in topo.nodes if n.role == "network")
    internet.build(svc, topo, overlay, lambda port: node.add_port(svc, net_node.name, config.EXT_BRIDGE, port))
    if distributed:
        step("DVR: the external network on every compute node, each compute node's namespace view")
        dvr.wire_external(svc, topo, overlay)
        for n in topo.nodes:
            if n.role == "compute":
                views.move_agent(state, topo, n, views.start(svc, topo, n))
    step("waiting for RabbitMQ")
    svc.wait_rabbit()
    for n in topo.nodes:
        svc.relay_rabbit(topo.node_ns(n), n.name)
    step("waiting for neutron-server")
    svc.wait_api()
    step("Neutron agents")
    agents.start(svc, topo, distributed)
    conn = connection(state)
    svc.wait_agents(conn, agents.expected(topo, distributed))
    step("networks, subnets, router, security group, ports, floating IP")
    resources.tenant_networks(svc, conn, overlay)
    resources.external(svc, conn, overlay)
    resources.router(svc, conn, overlay)  # the L3 agent builds the router while the VMs are plugged and leased
    resources.security_group(svc, conn, overlay)
    vms.create_ports(svc, conn, overlay)
    resources.floating_ips(svc, conn, overlay)
    vms.plug_and_lease(svc, conn, lambda vm: plug.plug(svc, topo, vm), step)
    step("router: SNAT from every VM, DNAT to the floating IP")
    l3check.l3_wait(rec, svc.exited("l3-agent-network"), svc.logs)
    rec.up_seconds = round(time.monotonic() - t0, 1)
    svc.save()
    return rec
