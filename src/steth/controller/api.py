"""Typed calls to the agent routes, one function per route (the controller's view of /v1)."""

from __future__ import annotations

from urllib.parse import quote

from ..wire.models import (AgentInfo, DhcpTraceRequest, DhcpTraceResponse, Health, Interface, Namespace, OvsCheckPortsRequest,
                           OvsCheckPortsResponse, OvsShowResponse, OvsTraceRequest, OvsTraceResponse,
                           PingRequest, PingResponse)
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


async def namespaces(c: AgentClient, node: NodeConfig) -> list[Namespace]:
    return await c.request(node, "GET", "/v1/netns", result=list[Namespace])


async def ping(c: AgentClient, node: NodeConfig, req: PingRequest) -> PingResponse:
    """The agent needs about count*(interval+timeout) seconds; wait that long on top of the usual timeout."""
    budget = req.count * (req.interval + req.timeout)
    return await c.request(node, "POST", "/v1/ping", body=req, result=PingResponse, extra_timeout=budget)


async def ovs_check_ports(c: AgentClient, node: NodeConfig, req: OvsCheckPortsRequest) -> OvsCheckPortsResponse:
    return await c.request(node, "POST", "/v1/ovs/check-ports", body=req, result=OvsCheckPortsResponse)


async def ovs_show(c: AgentClient, node: NodeConfig, bridge: str | None = None) -> OvsShowResponse:
    path = "/v1/ovs/show" + (f"?bridge={quote(bridge, safe='')}" if bridge else "")
    return await c.request(node, "GET", path, result=OvsShowResponse)


async def ovs_trace(c: AgentClient, node: NodeConfig, req: OvsTraceRequest) -> OvsTraceResponse:
    return await c.request(node, "POST", "/v1/ovs/trace", body=req, result=OvsTraceResponse, extra_timeout=12)


async def dhcp_trace(c: AgentClient, node: NodeConfig, req: "DhcpTraceRequest") -> "DhcpTraceResponse":
    return await c.request(node, "POST", "/v1/dhcp/trace", body=req, result=DhcpTraceResponse,
                           extra_timeout=req.duration + req.delay + 5)
