"""The ML2/Linux bridge Neutron lab (`steth lab up --neutron --backend linuxbridge`), on the shared services.

The recipe of shared/reference/ovn-linuxbridge-lab (pitfalls L1-L6) in the lab's structure: MariaDB,
RabbitMQ and neutron-server with ``mechanism_drivers = linuxbridge,l2population``; on every node a
neutron-linuxbridge-agent (VXLAN with the kernel's vxlan device in unicast mode, l2population FDB and ARP
responder entries; iptables security groups), on the network node the DHCP and L3 agents with
``interface_driver = linuxbridge``. The overlay (config.py): two VXLAN networks, the flat external network
(the internet veth is the external physnet's interface), a router with SNAT, a floating IP on vm1, VMs
plugged as os-vif does (plug.py) and leased by dnsmasq. Everything the agents make (brq/vxlan devices,
iptables and ebtables chains) lives in the node namespaces and goes with them at `lab down`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ...state import LabState
from ...topology import Topology
from .. import internet, l3check, resources, vms
from ..api import connection
from ..record import NeutronRecord
from ..services import Services, neutron_dir, ports_for
from . import agents, config, plug

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def _attached_by_agent(_port: str) -> None:
    """The internet veth is the external physnet's interface: the linuxbridge agent bridges it itself."""


def up(state: LabState, topo: Topology, progress: Progress = _quiet) -> NeutronRecord:
    """Build the ML2/Linux bridge part of a lab whose underlay is up; raises LabError (the caller tears down)."""
    t0 = time.monotonic()

    def step(msg: str) -> None:
        progress(f"[{time.monotonic() - t0:5.1f} s] {msg}")

    overlay = config.overlay(topo)
    config.refuse_vlan(overlay, config.vlan_supported())
    rec = NeutronRecord(dir=neutron_dir(state), ports=ports_for(state.lab), backend=config.BACKEND)
    rec.save(state)
    svc = Services(state, rec)
    svc.preflight(config.BINARIES)
    svc.write_server_config(config.ml2_section())
    config.write_agent_configs(svc, topo, internet.EXT_VETH)
    step("MariaDB and RabbitMQ")
    svc.start_rabbit()
    svc.start_mariadb()
    step("neutron-db-manage upgrade heads")
    svc.start_server()
    step(f"the internet namespace ({overlay.internet.host}, DNS {overlay.internet.dns})")
    internet.build(svc, topo, overlay, _attached_by_agent)  # before the agents: ext0 must exist at their start
    step("waiting for RabbitMQ")
    svc.wait_rabbit()
    for n in topo.nodes:
        svc.relay_rabbit(topo.node_ns(n), n.name)
    step("waiting for neutron-server")
    svc.wait_api()
    step("Neutron agents (linuxbridge on every node, DHCP and L3 on the network node)")
    agents.start(svc, topo)
    conn = connection(state)
    svc.wait_agents(conn, agents.expected(topo))
    step("networks, subnets, router, security group, ports, floating IP")
    resources.tenant_networks(svc, conn, overlay)
    resources.external(svc, conn, overlay)
    resources.router(svc, conn, overlay)
    resources.security_group(svc, conn, overlay)
    vms.create_ports(svc, conn, overlay)
    resources.floating_ips(svc, conn, overlay)
    vms.plug_and_lease(svc, conn, lambda vm: plug.plug(topo, vm, rec.networks[vm.network]), step)
    step("router: SNAT from every VM, DNAT to the floating IP")
    l3check.l3_wait(rec, svc.exited("l3-agent-network"), svc.logs)
    rec.up_seconds = round(time.monotonic() - t0, 1)
    svc.save()
    return rec
