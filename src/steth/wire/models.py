"""Typed request/result models of the agent API, version 1.

The agent validates requests with these models and the controller parses
responses with the same ones, so both sides agree on one contract.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, model_validator

from .dhcp import DhcpCaptureSpec as DhcpCaptureSpec  # re-exported: the DHCP trace's models live in dhcp.py
from .dhcp import DhcpHop as DhcpHop
from .dhcp import DhcpInjectSpec as DhcpInjectSpec
from .dhcp import DhcpMessage as DhcpMessage
from .dhcp import DhcpTraceRequest as DhcpTraceRequest
from .dhcp import DhcpTraceResponse as DhcpTraceResponse
from .encap import TUNNEL_TYPES
from .health import Health as Health  # its own module: /v1/health loads nothing else
from .validators import Count, IfName, IpAddress, NetnsName, OvsName, Seconds, StrictModel
from .verdict import Verdict, worst

API_VERSION = "v1"
MAX_PING_TARGETS = 1024
MAX_PORTS = 256


# ---- interfaces -----------------------------------------------------------


class Address(BaseModel):
    family: int  # 4 or 6
    address: str
    prefixlen: int
    broadcast: str | None = None
    scope: str = "global"


class LinkStats(BaseModel):
    rx_packets: int = 0
    tx_packets: int = 0
    rx_bytes: int = 0
    tx_bytes: int = 0
    rx_errors: int = 0
    tx_errors: int = 0
    rx_dropped: int = 0
    tx_dropped: int = 0


class Interface(BaseModel):
    name: str
    index: int
    kind: str  # veth, bridge, vxlan, tun, loopback, device, ...
    state: str  # up, down, unknown, ... (operstate)
    admin_up: bool
    mtu: int
    mac: str | None = None
    master: str | None = None
    addresses: list[Address] = []
    stats: LinkStats = LinkStats()


class Capabilities(BaseModel):
    openvswitch: bool
    openvswitch_detail: str = ""
    vlan_8021q: bool
    vlan_8021q_detail: str = ""
    iperf3: bool
    raw_sockets: bool


class AgentInfo(BaseModel):
    hostname: str
    version: str
    api_version: str = API_VERSION
    interfaces: list[Interface]
    capabilities: Capabilities


class Namespace(BaseModel):
    name: str
    interfaces: list[Interface] = []
    error: str | None = None


# ---- ping -----------------------------------------------------------------


class PingRequest(StrictModel):
    targets: Annotated[list[IpAddress], Field(min_length=1, max_length=MAX_PING_TARGETS)]
    count: Annotated[int, Field(ge=1, le=100)] = 3
    interval: Annotated[float, Field(ge=0.01, le=10)] = 0.2
    timeout: Seconds = 1.0
    size: Annotated[int, Field(ge=0, le=65000)] = 56
    dont_fragment: bool = False
    interface: IfName | None = None
    source: IpAddress | None = None
    netns: NetnsName | None = None  # probe from inside a named namespace (qdhcp-..., qrouter-...)

    @model_validator(mode="after")
    def _bounded_duration(self) -> PingRequest:
        if self.count * (self.interval + self.timeout) > 120:
            raise ValueError("count * (interval + timeout) must not exceed 120 seconds")
        return self


class PingResult(BaseModel):
    target: str
    sent: int
    received: int
    loss_pct: float
    rtt_min_ms: float | None = None
    rtt_avg_ms: float | None = None
    rtt_max_ms: float | None = None
    rtt_mdev_ms: float | None = None
    verdict: Verdict
    error: str | None = None


class PingResponse(BaseModel):
    results: list[PingResult]


# ---- Open vSwitch ---------------------------------------------------------


class OvsCheckPortsRequest(StrictModel):
    bridge: OvsName
    ports: Annotated[list[OvsName], Field(min_length=1, max_length=MAX_PORTS)]


class OvsPortPresence(BaseModel):
    port: str
    present: bool
    verdict: Verdict


class OvsCheckPortsResponse(BaseModel):
    bridge: str
    bridge_exists: bool
    ovs_available: bool
    detail: str = ""
    verdict: Verdict
    ports: list[OvsPortPresence] = []


class OvsInterfaceInfo(BaseModel):
    name: str
    type: str = ""  # "" (system), internal, patch, vxlan, tap, ...
    ofport: int | None = None  # -1: OVS could not add it (see error)
    error: str | None = None
    mac_in_use: str | None = None
    admin_state: str | None = None
    link_state: str | None = None
    external_ids: dict[str, str] = {}
    options: dict[str, str] = {}  # peer= for patch ports, remote_ip=/local_ip=/key= for tunnels
    peer: str | None = None  # patch peer (options:peer)
    bfd: dict[str, str] = {}  # BFD configuration (enable=true: ovn-controller turns it on toward gateway chassis)
    bfd_status: dict[str, str] = {}  # state (up, down, init, admin_down), diagnostic, remote_state, ...


class OvsPortInfo(BaseModel):
    name: str
    tag: int | None = None  # access VLAN (Neutron's local VLAN; 4095 = dead VLAN)
    trunks: list[int] = []
    vlan_mode: str | None = None
    other_config: dict[str, str] = {}
    interfaces: list[OvsInterfaceInfo] = []


NIC_TYPES = frozenset({"", "system", "dpdk", "afxdp"})  # OVS interface types that are a host's NIC


class OvsBridgeInfo(BaseModel):
    name: str
    datapath_type: str = ""
    fail_mode: str | None = None
    external_ids: dict[str, str] = {}
    ports: list[OvsPortInfo] = []

    def nics(self) -> tuple[list[str], list[str]]:
        """(usable NICs, NICs OVS could not add, with the reason) among the bridge's ports:
        interfaces that are neither patch, internal nor tunnel ports."""
        good, broken = [], []
        for port in self.ports:
            for iface in port.interfaces:
                if iface.type not in NIC_TYPES or iface.name == self.name:
                    continue
                if iface.error or iface.ofport == -1:
                    broken.append(f"{iface.name} ({iface.error or 'ofport -1'})")
                else:
                    good.append(iface.name)
        return good, broken


class OvsShowResponse(BaseModel):
    ovs_available: bool
    detail: str = ""
    verdict: Verdict
    bridges: list[OvsBridgeInfo] = []
    problems: list[str] = []  # ofport errors, dead-VLAN tags, patch ports without a peer
    system_ids: dict[str, str] = {}  # Open_vSwitch external_ids: system-id, hostname, ovn-remote, ovn-encap-ip...

    def bridge(self, name: str) -> OvsBridgeInfo | None:
        return next((b for b in self.bridges if b.name == name), None)

    def with_iface_id(self, iface_id: str) -> tuple[OvsBridgeInfo, OvsPortInfo, OvsInterfaceInfo] | None:
        """The (bridge, port, interface) whose external_ids:iface-id is a Neutron port ID (a VM's VIF)."""
        for b in self.bridges:
            for pt in b.ports:
                for i in pt.interfaces:
                    if i.external_ids.get("iface-id") == iface_id:
                        return b, pt, i
        return None

    def tunnel_ofports(self) -> dict[str, int]:
        """remote_ip -> ofport of every tunnel port (br-tun's ports toward the other nodes)."""
        return {
            i.options["remote_ip"]: i.ofport
            for b in self.bridges
            for pt in b.ports
            for i in pt.interfaces
            if i.type in TUNNEL_TYPES and i.options.get("remote_ip") and i.ofport
        }

    def tunnel_interfaces(self) -> dict[str, OvsInterfaceInfo]:
        """remote_ip -> the tunnel interface toward it."""
        return {
            i.options["remote_ip"]: i
            for b in self.bridges
            for pt in b.ports
            for i in pt.interfaces
            if i.type in TUNNEL_TYPES and i.options.get("remote_ip")
        }


_MAC_PATTERN = r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$"


class OvsTraceRequest(StrictModel):
    """Fields of a flow for `ovs-appctl ofproto/trace`; the agent builds the flow string itself."""

    bridge: OvsName
    in_port: OvsName
    dl_src: Annotated[str | None, Field(pattern=_MAC_PATTERN)] = None
    dl_dst: Annotated[str | None, Field(pattern=_MAC_PATTERN)] = None
    dl_vlan: Annotated[int | None, Field(ge=0, le=4095)] = None
    proto: Annotated[str | None, Field(pattern=r"^(ip|icmp|tcp|udp|arp)$")] = None
    nw_src: IpAddress | None = None
    nw_dst: IpAddress | None = None
    tp_src: Annotated[int | None, Field(ge=0, le=65535)] = None
    tp_dst: Annotated[int | None, Field(ge=0, le=65535)] = None

    @model_validator(mode="after")
    def _consistent(self) -> OvsTraceRequest:
        if (self.tp_src is not None or self.tp_dst is not None) and self.proto not in ("tcp", "udp"):
            raise ValueError("tp_src/tp_dst need proto tcp or udp")
        for a in (self.nw_src, self.nw_dst):
            if a is not None and ":" in a:
                raise ValueError("nw_src/nw_dst must be IPv4 addresses")
        return self

    def flow(self) -> str:
        """The flow in ovs-ofctl syntax, from validated fields only."""
        parts = [f"in_port={self.in_port}"]
        proto = self.proto or ("ip" if self.nw_src or self.nw_dst else None)
        if proto:
            parts.append(proto)
        for name in ("dl_src", "dl_dst", "dl_vlan"):
            value = getattr(self, name)
            if value is not None:
                parts.append(f"{name}={value}")
        if proto == "arp":
            if self.nw_src:
                parts.append(f"arp_spa={self.nw_src}")
            if self.nw_dst:
                parts.append(f"arp_tpa={self.nw_dst}")
        else:
            for name in ("nw_src", "nw_dst"):
                value = getattr(self, name)
                if value is not None:
                    parts.append(f"{name}={value}")
            for name, field_ in (("tp_src", "src"), ("tp_dst", "dst")):  # ofproto/trace wants udp_src=, tcp_dst=
                value = getattr(self, name)
                if value is not None:
                    parts.append(f"{proto}_{field_}={value}")
        return ",".join(parts)


class OvsTraceResponse(BaseModel):
    bridge: str
    flow: str
    verdict: Verdict
    detail: str = ""
    datapath_actions: str | None = None  # the trace's last "Datapath actions:" line
    dropped: bool = False
    output: str = ""  # ofproto/trace's text, for the operator


class IptablesResponse(BaseModel):
    """`iptables-save -t TABLE` of a namespace (read only): rules as lines, chains by name."""

    netns: str | None = None
    table: str
    rules: list[str] = []
    verdict: Verdict = Verdict.OK
    detail: str = ""


class TcpConnectRequest(StrictModel):
    address: IpAddress
    port: Annotated[int, Field(ge=1, le=65535)]
    netns: NetnsName | None = None
    timeout: Seconds = 2.0


class TcpConnectResult(BaseModel):
    address: str
    port: int
    netns: str | None = None
    connected: bool
    seconds: float | None = None
    error: str | None = None
    verdict: Verdict


class OvsFlowsResponse(BaseModel):
    """`ovs-ofctl dump-flows BRIDGE [table=N]` as lines (without the reply header)."""

    bridge: str
    table: int | None = None
    flows: list[str] = []
    verdict: Verdict = Verdict.OK
    detail: str = ""


class ErrorBody(BaseModel):
    detail: str


__all__ = [
    "API_VERSION",
    "Address",
    "AgentInfo",
    "Capabilities",
    "ErrorBody",
    "Health",
    "Interface",
    "IptablesResponse",
    "LinkStats",
    "Namespace",
    "OvsFlowsResponse",
    "TcpConnectRequest",
    "TcpConnectResult",
    "NetnsName",
    "OvsCheckPortsRequest",
    "OvsCheckPortsResponse",
    "OvsPortPresence",
    "PingRequest",
    "PingResponse",
    "PingResult",
    "Verdict",
    "Count",
    "worst",
]
