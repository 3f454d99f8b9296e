"""Typed calls to the agent routes, one function per route (the controller's view of /v1)."""

from __future__ import annotations

from urllib.parse import quote

from ..wire.capture import CaptureInfo, CaptureRequest
from ..wire.iperf import (
    IperfClientRequest,
    IperfClientResult,
    IperfServer,
    IperfServerList,
    IperfServerRequest,
    IperfServerStop,
)
from ..wire.linuxbridge import LinuxBridgeShow
from ..wire.listeners import NetnsListeners
from ..wire.models import (
    AgentInfo,
    DhcpTraceRequest,
    DhcpTraceResponse,
    Health,
    Interface,
    IptablesResponse,
    Namespace,
    OvsCheckPortsRequest,
    OvsCheckPortsResponse,
    OvsFlowsResponse,
    OvsShowResponse,
    OvsTraceRequest,
    OvsTraceResponse,
    PingRequest,
    PingResponse,
    TcpConnectRequest,
    TcpConnectResult,
)
from ..wire.vlan import (
    LinkChange,
    LinkSetupRequest,
    LinkTeardownRequest,
    VlanCaptureResult,
    VlanCollectRequest,
    VlanInterfaceRequest,
    VlanListenRequest,
    VlanListenStarted,
    VlanSendRequest,
    VlanSendResult,
)
from ..wire.vmprobe import RouterState, VmProbeRequest, VmProbeResponse
from .client import AgentClient
from .config import NodeConfig


async def health(c: AgentClient, node: NodeConfig) -> Health:
    return await c.request(node, "GET", "/v1/health", result=Health)


async def info(c: AgentClient, node: NodeConfig) -> AgentInfo:
    return await c.request(node, "GET", "/v1/info", result=AgentInfo)


async def interfaces(c: AgentClient, node: NodeConfig) -> list[Interface]:
    return await c.request(node, "GET", "/v1/interfaces", result=list[Interface])


async def interface(c: AgentClient, node: NodeConfig, name: str) -> Interface:
    return await c.request(node, "GET", f"/v1/interfaces/{name}", result=Interface)


async def namespaces(c: AgentClient, node: NodeConfig, names: list[str] | None = None) -> list[Namespace]:
    """The node's named namespaces, or only ``names`` (the agent reads each one's interfaces: slow on a node
    with many of them)."""
    query = "?" + "&".join(f"name={quote(n, safe='')}" for n in names) if names else ""
    return await c.request(node, "GET", f"/v1/netns{query}", result=list[Namespace])


async def ping(c: AgentClient, node: NodeConfig, req: PingRequest) -> PingResponse:
    """The agent needs about count*(interval+timeout) seconds; wait that long on top of the usual timeout."""
    budget = req.count * (req.interval + req.timeout)
    return await c.request(node, "POST", "/v1/ping", body=req, result=PingResponse, extra_timeout=budget)


async def ovs_check_ports(c: AgentClient, node: NodeConfig, req: OvsCheckPortsRequest) -> OvsCheckPortsResponse:
    return await c.request(node, "POST", "/v1/ovs/check-ports", body=req, result=OvsCheckPortsResponse)


async def vlan_listen(c: AgentClient, node: NodeConfig, req: VlanListenRequest) -> VlanListenStarted:
    """Answers once the agent's capture socket is bound and filtered."""
    return await c.request(node, "POST", "/v1/vlan/listen", body=req, result=VlanListenStarted)


async def vlan_send(c: AgentClient, node: NodeConfig, req: VlanSendRequest) -> VlanSendResult:
    budget = len(req.vlans) * req.repeat / req.rate if req.rate else 0.0
    return await c.request(node, "POST", "/v1/vlan/send", body=req, result=VlanSendResult, extra_timeout=budget)


async def vlan_collect(c: AgentClient, node: NodeConfig, capture_id: str, req: VlanCollectRequest) -> VlanCaptureResult:
    return await c.request(
        node,
        "POST",
        f"/v1/vlan/listen/{capture_id}/collect",
        body=req,
        result=VlanCaptureResult,
        extra_timeout=req.grace + 5,
    )


async def link_setup(c: AgentClient, node: NodeConfig, req: LinkSetupRequest) -> LinkChange:
    return await c.request(node, "POST", "/v1/links/setup", body=req, result=LinkChange)


async def link_add_vlan(c: AgentClient, node: NodeConfig, req: VlanInterfaceRequest) -> LinkChange:
    return await c.request(node, "POST", "/v1/links/vlan", body=req, result=LinkChange)


async def link_teardown(c: AgentClient, node: NodeConfig, req: LinkTeardownRequest) -> LinkChange:
    return await c.request(node, "POST", "/v1/links/teardown", body=req, result=LinkChange)


async def iperf_server_start(c: AgentClient, node: NodeConfig, req: IperfServerRequest) -> IperfServer:
    """Answers once the server listens (the agent waits up to a few seconds for it)."""
    return await c.request(node, "POST", "/v1/iperf/servers", body=req, result=IperfServer, extra_timeout=5)


async def iperf_servers(c: AgentClient, node: NodeConfig) -> IperfServerList:
    return await c.request(node, "GET", "/v1/iperf/servers", result=IperfServerList)


async def iperf_server_stop(c: AgentClient, node: NodeConfig, lease_id: str) -> IperfServerStop:
    return await c.request(node, "DELETE", f"/v1/iperf/servers/{lease_id}", result=IperfServerStop, extra_timeout=3)


async def iperf_client(c: AgentClient, node: NodeConfig, req: IperfClientRequest) -> IperfClientResult:
    """The agent needs the test's duration plus its connect timeout; wait that long (and a margin) on top."""
    budget = req.duration + req.connect_timeout + 5
    return await c.request(node, "POST", "/v1/iperf/client", body=req, result=IperfClientResult, extra_timeout=budget)


# ---- capture ----------------------------------------------------------------------


async def capture_start(c: AgentClient, node: NodeConfig, req: CaptureRequest) -> CaptureInfo:
    """Answers once tcpdump listens on the node (a filter is compiled first: allow a few seconds)."""
    return await c.request(node, "POST", "/v1/captures", body=req, result=CaptureInfo, extra_timeout=15)


async def capture_info(c: AgentClient, node: NodeConfig, capture_id: str) -> CaptureInfo:
    return await c.request(node, "GET", f"/v1/captures/{capture_id}", result=CaptureInfo)


async def capture_stop(c: AgentClient, node: NodeConfig, capture_id: str) -> CaptureInfo:
    return await c.request(node, "POST", f"/v1/captures/{capture_id}/stop", result=CaptureInfo, extra_timeout=5)


async def capture_delete(c: AgentClient, node: NodeConfig, capture_id: str) -> CaptureInfo:
    return await c.request(node, "DELETE", f"/v1/captures/{capture_id}", result=CaptureInfo, extra_timeout=5)


def capture_pcap(c: AgentClient, node: NodeConfig, info: CaptureInfo):
    """``async with capture_pcap(...) as body: async for chunk in body`` - the pcap while it grows."""
    return c.stream(node, "GET", f"/v1/captures/{info.id}/pcap", duration=info.duration + 30)


async def ovs_show(c: AgentClient, node: NodeConfig, bridge: str | None = None) -> OvsShowResponse:
    path = "/v1/ovs/show" + (f"?bridge={quote(bridge, safe='')}" if bridge else "")
    return await c.request(node, "GET", path, result=OvsShowResponse)


async def ovs_trace(c: AgentClient, node: NodeConfig, req: OvsTraceRequest) -> OvsTraceResponse:
    return await c.request(node, "POST", "/v1/ovs/trace", body=req, result=OvsTraceResponse, extra_timeout=12)


async def dhcp_trace(c: AgentClient, node: NodeConfig, req: DhcpTraceRequest) -> DhcpTraceResponse:
    return await c.request(
        node, "POST", "/v1/dhcp/trace", body=req, result=DhcpTraceResponse, extra_timeout=req.duration + req.delay + 5
    )


async def ovs_flows(c: AgentClient, node: NodeConfig, bridge: str, table: int | None = None) -> OvsFlowsResponse:
    path = f"/v1/ovs/flows?bridge={quote(bridge, safe='')}" + (f"&table={table}" if table is not None else "")
    return await c.request(node, "GET", path, result=OvsFlowsResponse, extra_timeout=12)


async def iptables(c: AgentClient, node: NodeConfig, netns: str, table: str = "nat") -> IptablesResponse:
    return await c.request(
        node,
        "GET",
        f"/v1/netns/{quote(netns, safe='')}/iptables?table={table}",
        result=IptablesResponse,
        extra_timeout=15,
    )


async def linuxbridge_show(c: AgentClient, node: NodeConfig) -> LinuxBridgeShow:
    return await c.request(node, "GET", "/v1/linuxbridge/show", result=LinuxBridgeShow, extra_timeout=15)


async def tcp_connect(c: AgentClient, node: NodeConfig, req: TcpConnectRequest) -> TcpConnectResult:
    return await c.request(
        node, "POST", "/v1/tcp-connect", body=req, result=TcpConnectResult, extra_timeout=req.timeout
    )


async def router_state(c: AgentClient, node: NodeConfig, netns: str) -> RouterState:
    return await c.request(node, "GET", f"/v1/netns/{quote(netns, safe='')}/router-state", result=RouterState)


async def netns_listeners(c: AgentClient, node: NodeConfig, netns: str) -> NetnsListeners:
    return await c.request(node, "GET", f"/v1/netns/{quote(netns, safe='')}/listeners", result=NetnsListeners)


async def inject_vm(c: AgentClient, node: NodeConfig, req: VmProbeRequest) -> VmProbeResponse:
    return await c.request(node, "POST", "/v1/inject/vm", body=req, result=VmProbeResponse, extra_timeout=12)
