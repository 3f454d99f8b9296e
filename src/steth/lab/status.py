"""What the lab looks like right now: nodes, namespaces, addresses, agent processes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import HostError, LabError
from ..host import netlink, proc
from .build import topology_of
from .neutron.record import NeutronRecord, VMRecord
from .state import LabState


@dataclass
class NodeStatus:
    node: str
    role: str
    namespace: str
    interfaces: dict[str, list[str]]  # ifname -> ["addr/prefix", ...]
    agent_address: str
    agent_pid: int | None
    agent_state: str  # running | stopped


def require(lab: str) -> LabState:
    state = LabState.load(lab)
    if state is None:
        raise LabError(f"there is no lab called {lab}", f"build it with `steth lab up --name {lab}`")
    return state


def status(lab: str) -> tuple[LabState, list[NodeStatus]]:
    state = require(lab)
    topo = topology_of(state)
    rows = []
    for node in topo.nodes:
        ns = topo.node_ns(node)
        try:
            ifaces = {
                i.name: [f"{a.address}/{a.prefixlen}" for a in i.addresses if a.family == 4]
                for i in netlink.list_interfaces(ns)
                if i.name != "lo"
            }
        except HostError:
            ifaces = {}
        rec = state.agent(node.name)
        running = rec is not None and proc.is_running(rec)
        rows.append(
            NodeStatus(
                node=node.name,
                role=node.role,
                namespace=ns,
                interfaces=ifaces,
                agent_address=f"{topo.address(node, topo.management)}:9698",
                agent_pid=rec.pid if rec else None,
                agent_state="running" if running else "stopped",
            )
        )
    return state, rows


def _router_row(rec: NeutronRecord, ports: dict[str, Any], conn: Any, api_error: str) -> NeutronRow:
    assert rec.router is not None
    r = rec.router
    router = None
    if conn is not None and not api_error:
        try:
            router = conn.network.get_router(r.id)
        except Exception as exc:  # a deleted router is a status too
            api_error = f"router: {type(exc).__name__}"
    interfaces = sorted(
        ip["ip_address"]
        for p in ports.values()
        if p.device_id == r.id and p.device_owner == "network:router_interface"
        for ip in p.fixed_ips
    )
    detail = f"gateway {r.gateway_ip or '-'} interfaces {' '.join(interfaces) or '-'}"
    state = router.status if router is not None else ("unknown" if api_error else "no router")
    facts = {"router_id": r.id, "gateway_ip": r.gateway_ip or "", "interfaces": " ".join(interfaces)}
    return NeutronRow("router", r.name, f"qrouter-{r.id}", detail, None, state, facts)


def l3_rows(rec: NeutronRecord, ports: dict[str, Any], conn: Any, api_error: str) -> list[NeutronRow]:
    """The router (gateway, interfaces), floating IPs (address -> VM) and the internet namespace."""
    rows = []
    if rec.router is not None:
        rows.append(_router_row(rec, ports, conn, api_error))
    vms = {vm.name: vm for vm in rec.vms}
    for vm_name, fip in sorted(rec.floating_ips.items()):
        state = "unknown"
        if conn is not None and not api_error:
            try:
                state = conn.network.get_ip(fip.id).status
            except Exception:
                state = "no floating IP"
        fixed = vms[vm_name].fixed_ip if vm_name in vms else ""
        facts = {"vm": vm_name, "fixed_ip": fixed, "port_id": fip.port_id, "floating_ip_id": fip.id}
        rows.append(
            NeutronRow("floating-ip", fip.address, "", f"-> {vm_name} {fixed} port {fip.port_id}", None, state, facts)
        )
    ext = rec.external
    if ext is not None and ext.namespace:
        procs = [r for n, r in rec.procs.items() if n.startswith("inet-")]
        running = bool(procs) and all(proc.is_running(r) for r in procs)
        detail = f"host {ext.internet_host} tcp {ext.tcp_port} dns {ext.dns} gateway {ext.gateway}"
        rows.append(
            NeutronRow("internet", "internet", ext.namespace, detail, None, "running" if running else "stopped")
        )
    return rows


@dataclass
class NeutronRow:
    kind: str  # network | vm | router | floating-ip | internet | agent | process | api | netns (DVR)
    name: str
    namespace: str
    detail: str
    pid: int | None
    state: str
    fields: dict[str, Any] = field(default_factory=dict)  # the row's facts by name (`lab status --view KIND`)


def _network_row(n: Any, key: str, net_id: str, detail: str) -> NeutronRow:
    facts = {"network_id": net_id}
    if n:
        facts |= {
            "type": n.provider_network_type,
            "physnet": n.provider_physical_network or "",
            "segment": n.provider_segmentation_id,
            "mtu": n.mtu,
        }
    return NeutronRow(
        "network",
        n.name if n else key,
        f"qdhcp-{net_id}" if key != "ext" else "",
        f"{net_id} {detail}",
        None,
        n.status if n else "unknown",
        facts,
    )


def _vm_row(vm: VMRecord, p: Any, api_error: str) -> NeutronRow:
    try:
        addrs = [
            f"{a.address}/{a.prefixlen}"
            for i in netlink.list_interfaces(vm.namespace)
            if i.name == "eth0"
            for a in i.addresses
            if a.family == 4
        ]
    except HostError:
        addrs = []
    detail = (
        f"{vm.node} {vm.plug} {vm.network} port {vm.port_id} mac {vm.mac} fixed {vm.fixed_ip} "
        f"eth0 {' '.join(addrs) or '-'} ovs {vm.ovs_port or '-'}"
    )
    state = p.status if p else ("unknown" if api_error else "no port")
    facts = {
        "node": vm.node,
        "plugging": vm.plug,
        "network": vm.network,
        "port_id": vm.port_id,
        "mac": vm.mac,
        "fixed_ip": vm.fixed_ip,
        "leased": " ".join(addrs),
        "ovs_port": vm.ovs_port or "",
    }
    return NeutronRow("vm", vm.name, vm.namespace, detail, None, state, facts)


def view_rows(state: LabState, rec: NeutronRecord) -> list[NeutronRow]:
    """DVR: each compute node's own view of named namespaces (its qrouter-, fip-), and the network node's."""
    from .neutron.ml2ovs import views

    rows = []
    ours = {i for i in (rec.router.id if rec.router else "", rec.external.network_id if rec.external else "") if i}
    for node in topology_of(state).nodes:
        pid = views.holder_pid(rec, node.name)
        names = [n for n in views.list_netns(rec, node.name) if n.split("-", 1)[-1] in ours]
        where = f"view of {node.name} (holder pid {pid})" if pid else "the host's /run/netns"
        facts = {"node": node.name, "holder_pid": pid, "namespaces": " ".join(names)}
        state_ = "running" if pid or node.role == "network" else "stopped"
        rows.append(NeutronRow("netns", node.name, where, " ".join(names) or "-", pid, state_, facts))
    return rows


def neutron_status(state: LabState) -> list[NeutronRow]:
    """Networks, VMs (with their ports and leases), the router, floating IPs, the internet namespace,
    Neutron agents and lab processes; [] without Neutron."""
    rec = NeutronRecord.load(state)
    if rec is None:
        return []
    from .neutron.api import connection

    rows: list[NeutronRow] = []
    conn = None
    api_error = ""
    try:
        conn = connection(state)
        nets = {n.id: n for n in conn.network.networks()}
        ports = {p.id: p for p in conn.network.ports()}
        agents = list(conn.network.agents())
    except Exception as exc:  # the API down is a status, not a crash
        api_error = f"Neutron API: {type(exc).__name__}: {exc}"[:200]
        nets, ports, agents = {}, {}, []
    for key, net_id in rec.networks.items():
        n = nets.get(net_id)
        detail = (
            f"{n.provider_network_type} {n.provider_physical_network or ''} "
            f"segment {n.provider_segmentation_id} mtu {n.mtu}".replace("  ", " ")
            if n
            else api_error
        )
        rows.append(_network_row(n, key, net_id, detail))
    rows += [_vm_row(vm, ports.get(vm.port_id), api_error) for vm in rec.vms]
    if rec.external is not None and rec.external.network_id:
        net_id = rec.external.network_id
        n = nets.get(net_id)
        detail = f"{n.provider_network_type} {n.provider_physical_network} external" if n else api_error
        rows.append(_network_row(n, "ext", net_id, detail))
    rows += l3_rows(rec, ports, conn, api_error)
    for a in agents:
        alive = "alive" if a.is_alive else "dead"
        facts = {"host": a.host, "binary": a.binary, "agent_id": a.id}
        mode = (a.configuration or {}).get("agent_mode")
        detail = f"host {a.host} binary {a.binary}" + (f" agent_mode {mode}" if mode else "")
        rows.append(NeutronRow("agent", a.agent_type, "", detail, None, alive, facts))
    if rec.dvr:
        rows += view_rows(state, rec)
    for name, r in sorted(rec.procs.items()):
        if name.startswith("l3-agent-") and not proc.is_running(r):  # restarted by a DVR fault's undo
            from .neutron.ml2ovs.agents import l3_process

            r = l3_process(rec, name.removeprefix("l3-agent-")) or r
        running = "running" if proc.is_running(r) else "stopped"
        facts = {"pid": r.pid, "argv": " ".join(r.argv)}
        rows.append(NeutronRow("process", name, "", " ".join(r.argv)[:120], r.pid, running, facts))
    if api_error:
        rows.append(NeutronRow("api", "neutron-server", "", api_error, None, "error"))
    if rec.backend == "ml2ovn":  # OVN serves DHCP and routes in ovn-controller: no qdhcp/qrouter namespaces
        for r in rows:
            if r.namespace.startswith(("qdhcp-", "qrouter-")):
                r.namespace = ""
    return rows
