"""The Neutron part of the lab state, typed: what `up` made (processes, API objects, VMs), saved as JSON.

Stored in ``LabState.extra["neutron"]`` (the state file's format is unchanged); every reader and writer
goes through :class:`NeutronRecord` (``load``/``save``), never through the raw dict.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ...errors import UsageError
from ...host.proc import ProcRecord
from ..state import LabState

KEY = "neutron"
_lock = threading.Lock()  # the builder records from several threads at once


@dataclass(frozen=True)
class Ports:
    """Loopback TCP ports of one lab's Neutron (chosen by the lab name, checked free at `up`)."""

    api: int
    amqp: int
    dist: int
    epmd: int


@dataclass
class VMRecord:
    """A lab VM: its plan (name, node, network, plugging) and what `up` learnt (port, lease)."""

    name: str
    node: str
    network: str  # key of NeutronRecord.networks: vlan | vxlan
    plug: str  # hybrid | direct
    port_id: str = ""
    mac: str = ""
    device_id: str = ""
    fixed_ip: str = ""
    namespace: str = ""
    ovs_port: str = ""
    lease_ip: str = ""
    dhcp_server: str = ""
    router: str = ""
    dns: str = ""


@dataclass
class ExternalRecord:
    """The external network and the "internet" namespace behind it."""

    gateway: str
    internet_host: str
    tcp_port: int
    dns: str
    namespace: str
    network_id: str = ""
    subnet_id: str = ""


@dataclass
class RouterRecord:
    id: str
    name: str
    gateway_ip: str = ""


@dataclass
class FloatingIPRecord:
    id: str
    address: str
    port_id: str


@dataclass
class NeutronRecord:
    dir: str
    ports: Ports
    procs: dict[str, ProcRecord] = field(default_factory=dict)
    networks: dict[str, str] = field(default_factory=dict)  # vlan | vxlan -> network id
    subnets: dict[str, str] = field(default_factory=dict)  # vlan | vxlan -> subnet id
    external: ExternalRecord | None = None
    router: RouterRecord | None = None
    security_group: str = ""
    vms: list[VMRecord] = field(default_factory=list)
    floating_ips: dict[str, FloatingIPRecord] = field(default_factory=dict)  # VM name -> its floating IP
    up_seconds: float | None = None
    backend: str = "ml2ovs"
    dvr: bool = False  # ml2ovs with distributed routers (`lab up --neutron --dvr`)
    ovn: dict[str, Any] = field(default_factory=dict)  # ml2ovn: NB/SB cluster members, northd (central.py)

    # --- lookups ---
    def vm(self, name: str) -> VMRecord:
        for vm in self.vms:
            if vm.name == name:
                return vm
        raise UsageError(f"the lab has no VM {name!r}", f"VMs: {', '.join(v.name for v in self.vms) or 'none'}")

    def proc(self, name: str) -> ProcRecord | None:
        return self.procs.get(name)

    def record_proc(self, name: str, rec: ProcRecord) -> None:
        """Record a process (thread-safe: the builder starts nodes' processes from several threads)."""
        with _lock:
            self.procs[name] = rec

    # --- JSON ---
    def to_json(self) -> dict[str, Any]:
        with _lock:
            data = {f.name: getattr(self, f.name) for f in fields(self)}
            data["procs"] = {n: r.to_json() for n, r in list(self.procs.items())}
            data["ports"] = asdict(self.ports)
            data["external"] = asdict(self.external) if self.external else None
            data["router"] = asdict(self.router) if self.router else None
            data["vms"] = [asdict(v) for v in list(self.vms)]
            data["floating_ips"] = {n: asdict(f) for n, f in list(self.floating_ips.items())}
            data["networks"] = dict(self.networks)
            data["subnets"] = dict(self.subnets)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NeutronRecord:
        ext, router = data.get("external"), data.get("router")
        return cls(
            dir=data["dir"],
            ports=Ports(**data["ports"]),
            procs={n: ProcRecord.from_json(p) for n, p in data.get("procs", {}).items()},
            networks=dict(data.get("networks", {})),
            subnets=dict(data.get("subnets", {})),
            external=ExternalRecord(**ext) if ext else None,
            router=RouterRecord(**router) if router and router.get("id") else None,
            security_group=data.get("security_group", ""),
            vms=[VMRecord(**v) for v in data.get("vms", [])],
            floating_ips={n: FloatingIPRecord(**f) for n, f in data.get("floating_ips", {}).items()},
            up_seconds=data.get("up_seconds"),
            backend=data.get("backend", "ml2ovs"),
            dvr=bool(data.get("dvr", False)),
            ovn=dict(data.get("ovn", {})),
        )

    # --- the lab state ---
    @classmethod
    def load(cls, state: LabState) -> NeutronRecord | None:
        """The record of a lab built with Neutron, or None."""
        data = state.extra.get(KEY)
        return cls.from_json(data) if data else None

    @classmethod
    def require(cls, state: LabState) -> NeutronRecord:
        rec = cls.load(state)
        if rec is None:
            raise UsageError(f"lab {state.lab} has no Neutron", "build it with `steth lab up --neutron`")
        return rec

    def save(self, state: LabState) -> None:
        """Write this record into the state and the state to disk (before the step it records is made)."""
        state.extra[KEY] = self.to_json()
        state.save()
