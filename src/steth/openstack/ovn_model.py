"""Typed, read-only records of what steth needs from OVN's Northbound and Southbound databases.

Built from ovsdbapp rows by openstack/ovn.py; plain data, so checks are tested on recorded snapshots.
Neutron's ids live in external_ids (``neutron:*``); logical names carry them too (``neutron-<net id>``).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class OvnConfig:
    """The [ovn] section of steth.conf: the same values as Neutron's [ovn] ovn_nb_connection etc."""

    nb_connection: str  # comma-separated remotes, one per cluster member: tcp:IP:6641,ssl:...
    sb_connection: str
    nb_private_key: str | None = None
    nb_certificate: str | None = None
    nb_ca_cert: str | None = None
    sb_private_key: str | None = None
    sb_certificate: str | None = None
    sb_ca_cert: str | None = None
    timeout: float = 10.0

    def remotes(self, db: str) -> list[str]:
        text = self.nb_connection if db == "nb" else self.sb_connection
        return [r.strip() for r in text.split(",") if r.strip()]


@dataclass(frozen=True)
class ClusterMember:
    """One member of a clustered database as its own ``_Server`` database reports it."""

    remote: str
    reachable: bool
    error: str = ""
    model: str = ""  # clustered | standalone
    connected: bool = False  # part of a cluster with a quorum (as far as it knows)
    leader: bool = False
    index: int | None = None  # last log index it has applied
    sid: str = ""  # server id
    cid: str = ""  # cluster id


@dataclass(frozen=True)
class LogicalSwitchPort:
    name: str  # the Neutron port id for Neutron's ports
    switch: str  # Logical_Switch name (neutron-<network id>)
    type: str = ""  # "" (VIF), router, localnet, localport, external, virtual
    addresses: tuple[str, ...] = ()
    port_security: tuple[str, ...] = ()
    up: bool | None = None
    enabled: bool | None = None
    options: dict[str, str] = field(default_factory=dict)
    external_ids: dict[str, str] = field(default_factory=dict)
    dhcpv4_options: str = ""  # uuid of its DHCP_Options row, "" when none


@dataclass(frozen=True)
class LogicalSwitch:
    name: str
    uuid: str
    ports: tuple[str, ...] = ()
    other_config: dict[str, str] = field(default_factory=dict)
    external_ids: dict[str, str] = field(default_factory=dict)

    @property
    def network_id(self) -> str:
        return self.name.removeprefix("neutron-")


@dataclass(frozen=True)
class GatewayChassis:
    chassis_name: str
    priority: int


@dataclass(frozen=True)
class LogicalRouterPort:
    name: str  # lrp-<neutron port id>
    router: str
    mac: str = ""
    networks: tuple[str, ...] = ()
    gateway_chassis: tuple[GatewayChassis, ...] = ()
    external_ids: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Nat:
    router: str
    type: str  # snat | dnat | dnat_and_snat
    external_ip: str
    logical_ip: str
    logical_port: str = ""
    external_mac: str = ""
    external_ids: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LogicalRouter:
    name: str  # neutron-<router id>
    ports: tuple[str, ...] = ()
    nat: tuple[Nat, ...] = ()
    options: dict[str, str] = field(default_factory=dict)
    external_ids: dict[str, str] = field(default_factory=dict)

    @property
    def router_id(self) -> str:
        return self.name.removeprefix("neutron-")


@dataclass(frozen=True)
class Acl:
    direction: str  # from-lport | to-lport
    priority: int
    match: str
    action: str
    external_ids: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PortGroup:
    name: str  # pg_<security group id with _>, neutron_pg_drop
    ports: tuple[str, ...] = ()  # LSP names
    acls: tuple[Acl, ...] = ()
    external_ids: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DhcpOptions:
    uuid: str
    cidr: str
    options: dict[str, str] = field(default_factory=dict)
    external_ids: dict[str, str] = field(default_factory=dict)

    @property
    def subnet_id(self) -> str:
        return self.external_ids.get("subnet_id", "")


@dataclass(frozen=True)
class NbGlobal:
    nb_cfg: int = 0  # bumped by the CMS (Neutron's agent liveness check)
    sb_cfg: int = 0  # the nb_cfg northd has written to the SB
    hv_cfg: int = 0  # the lowest nb_cfg every chassis has reached
    nb_cfg_timestamp: int = 0
    hv_cfg_timestamp: int = 0


@dataclass(frozen=True)
class NbSnapshot:
    nb_global: NbGlobal
    switches: dict[str, LogicalSwitch]
    ports: dict[str, LogicalSwitchPort]
    routers: dict[str, LogicalRouter]
    router_ports: dict[str, LogicalRouterPort]
    port_groups: dict[str, PortGroup]
    dhcp_options: dict[str, DhcpOptions]  # by uuid


@dataclass(frozen=True)
class Encap:
    type: str  # geneve | vxlan | stt
    ip: str
    chassis_name: str


@dataclass(frozen=True)
class Chassis:
    name: str  # the node's system-id
    uuid: str
    hostname: str = ""
    encaps: tuple[Encap, ...] = ()
    other_config: dict[str, str] = field(default_factory=dict)
    external_ids: dict[str, str] = field(default_factory=dict)

    def is_gateway(self) -> bool:
        opts = self.other_config.get("ovn-cms-options", "") or self.external_ids.get("ovn-cms-options", "")
        return "enable-chassis-as-gw" in opts.split(",")

    def bridge_mappings(self) -> dict[str, str]:
        text = self.other_config.get("ovn-bridge-mappings", "") or self.external_ids.get("ovn-bridge-mappings", "")
        pairs = (p.split(":", 1) for p in text.split(",") if ":" in p)
        return {k.strip(): v.strip() for k, v in pairs}


@dataclass(frozen=True)
class ChassisPrivate:
    name: str
    chassis: str = ""  # Chassis name it belongs to ("" once the Chassis row is gone)
    nb_cfg: int = 0
    nb_cfg_timestamp: int = 0
    external_ids: dict[str, str] = field(default_factory=dict)  # neutron:ovn-metadata-sb-cfg (metadata agent)


@dataclass(frozen=True)
class PortBinding:
    logical_port: str
    type: str = ""  # "" (VIF), patch, localnet, l3gateway, chassisredirect, external, localport
    chassis: str = ""  # name of the chassis it is bound to, "" when unbound
    up: bool | None = None
    requested_chassis: str = ""
    datapath: str = ""  # the datapath's name (external_ids name: neutron-<id>)
    mac: tuple[str, ...] = ()
    options: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SbSnapshot:
    nb_cfg: int  # SB_Global.nb_cfg, copied by northd
    chassis: dict[str, Chassis]
    chassis_private: dict[str, ChassisPrivate]
    port_bindings: dict[str, PortBinding]
