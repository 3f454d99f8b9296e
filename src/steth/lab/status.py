"""What the lab looks like right now: nodes, namespaces, addresses, agent processes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import HostError, LabError
from ..host import netlink, proc
from .build import topology_of
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


def _router_row(rec: dict[str, Any], ports: dict[str, Any], conn: Any, api_error: str) -> NeutronRow:
    r = rec["router"]
    router = None
    if conn is not None and not api_error:
        try:
            router = conn.network.get_router(r["id"])
        except Exception as exc:  # a deleted router is a status too
            api_error = f"router: {type(exc).__name__}"
    interfaces = sorted(
        ip["ip_address"]
        for p in ports.values()
        if p.device_id == r["id"] and p.device_owner == "network:router_interface"
        for ip in p.fixed_ips
    )
    detail = f"gateway {r.get('gateway_ip') or '-'} interfaces {' '.join(interfaces) or '-'}"
    state = router.status if router is not None else ("unknown" if api_error else "no router")
    return NeutronRow("router", r.get("name", ""), f"qrouter-{r['id']}", detail, None, state)


def l3_rows(rec: dict[str, Any], ports: dict[str, Any], conn: Any, api_error: str) -> list[NeutronRow]:
    """The router (gateway, interfaces), floating IPs (address -> VM) and the internet namespace."""
    rows = []
    if rec.get("router", {}).get("id"):
        rows.append(_router_row(rec, ports, conn, api_error))
    vms = {vm["name"]: vm for vm in rec.get("vms", [])}
    for vm_name, fip in sorted(rec.get("floating_ips", {}).items()):
        state = "unknown"
        if conn is not None and not api_error:
            try:
                state = conn.network.get_ip(fip["id"]).status
            except Exception:
                state = "no floating IP"
        fixed = vms.get(vm_name, {}).get("fixed_ip", "")
        rows.append(
            NeutronRow("floating-ip", fip["address"], "", f"-> {vm_name} {fixed} port {fip['port_id']}", None, state)
        )
    ext = rec.get("external", {})
    if ext.get("namespace"):
        procs = {n: proc.ProcRecord.from_json(d) for n, d in rec.get("procs", {}).items() if n.startswith("inet-")}
        running = all(proc.is_running(r) for r in procs.values()) and bool(procs)
        detail = (
            f"host {ext.get('internet_host')} tcp {ext.get('tcp_port')} dns {ext.get('dns')} "
            f"gateway {ext.get('gateway')}"
        )
        rows.append(
            NeutronRow("internet", "internet", ext["namespace"], detail, None, "running" if running else "stopped")
        )
    return rows


@dataclass
class NeutronRow:
    kind: str  # network | vm | router | floating-ip | internet | agent | process | api
    name: str
    namespace: str
    detail: str
    pid: int | None
    state: str


def neutron_status(state: LabState) -> list[NeutronRow]:
    """Networks, VMs (with their ports and leases), the router, floating IPs, the internet namespace,
    Neutron agents and lab processes; [] without Neutron."""
    rec = state.extra.get("neutron")
    if not rec:
        return []
    from . import neutron

    rows: list[NeutronRow] = []
    conn = None
    api_error = ""
    try:
        conn = neutron.connection(state)
        nets = {n.id: n for n in conn.network.networks()}
        ports = {p.id: p for p in conn.network.ports()}
        agents = list(conn.network.agents())
    except Exception as exc:  # the API down is a status, not a crash
        api_error = f"Neutron API: {type(exc).__name__}: {exc}"[:200]
        nets, ports, agents = {}, {}, []
    ext = rec.get("external", {})
    for kind, net_id in rec.get("networks", {}).items():
        n = nets.get(net_id)
        detail = (
            f"{n.provider_network_type} {n.provider_physical_network or ''} "
            f"segment {n.provider_segmentation_id} mtu {n.mtu}".replace("  ", " ")
            if n
            else api_error
        )
        rows.append(
            NeutronRow(
                "network",
                n.name if n else kind,
                f"qdhcp-{net_id}",
                f"{net_id} {detail}",
                None,
                n.status if n else "unknown",
            )
        )
    for vm in rec.get("vms", []):
        p = ports.get(vm.get("port_id", ""))
        try:
            addrs = [
                f"{a.address}/{a.prefixlen}"
                for i in netlink.list_interfaces(vm["namespace"])
                if i.name == "eth0"
                for a in i.addresses
                if a.family == 4
            ]
        except (HostError, KeyError):
            addrs = []
        detail = (
            f"{vm['node']} {vm['plug']} {vm['network']} port {vm.get('port_id', '')} "
            f"mac {vm.get('mac', '')} fixed {vm.get('fixed_ip', '')} eth0 {' '.join(addrs) or '-'} "
            f"ovs {vm.get('ovs_port', '-')}"
        )
        rows.append(
            NeutronRow(
                "vm",
                vm["name"],
                vm.get("namespace", ""),
                detail,
                None,
                p.status if p else ("unknown" if api_error else "no port"),
            )
        )
    if ext.get("network_id"):
        n = nets.get(ext["network_id"])
        detail = f"{n.provider_network_type} {n.provider_physical_network} external" if n else api_error
        rows.append(
            NeutronRow(
                "network",
                n.name if n else "ext",
                "",
                f"{ext['network_id']} {detail}",
                None,
                n.status if n else "unknown",
            )
        )
    rows += l3_rows(rec, ports, conn, api_error)
    for a in agents:
        rows.append(
            NeutronRow(
                "agent", a.agent_type, "", f"host {a.host} binary {a.binary}", None, "alive" if a.is_alive else "dead"
            )
        )
    for name, data in sorted(rec.get("procs", {}).items()):
        r = proc.ProcRecord.from_json(data)
        rows.append(
            NeutronRow(
                "process", name, "", " ".join(r.argv)[:120], r.pid, "running" if proc.is_running(r) else "stopped"
            )
        )
    if api_error:
        rows.append(NeutronRow("api", "neutron-server", "", api_error, None, "error"))
    return rows
