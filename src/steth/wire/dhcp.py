"""The DHCP trace's models (/v1/dhcp/trace): where to capture, how the DISCOVER enters, what each hop saw."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, model_validator

from .validators import IfName, NetnsName, OvsName, StrictModel
from .verdict import Verdict


class DhcpCaptureSpec(StrictModel):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:@+-]{1,64}$")]  # hop label, e.g. vm-tap, qdhcp
    interface: IfName
    netns: NetnsName | None = None


class DhcpInjectSpec(StrictModel):
    """Where the DHCPDISCOVER enters: sent on an interface (raw), or as if received on an OVS port."""

    mac: Annotated[str, Field(pattern=r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")]
    interface: IfName | None = None
    netns: NetnsName | None = None
    bridge: OvsName | None = None
    ovs_port: OvsName | None = None

    @model_validator(mode="after")
    def _one_way(self) -> DhcpInjectSpec:
        if bool(self.interface) == bool(self.bridge and self.ovs_port):
            raise ValueError("give either interface (raw send) or bridge and ovs_port (OpenFlow packet-out)")
        return self


class DhcpTraceRequest(StrictModel):
    captures: Annotated[list[DhcpCaptureSpec], Field(min_length=1, max_length=16)]
    inject: DhcpInjectSpec | None = None
    duration: Annotated[float, Field(ge=1, le=30)] = 6.0  # dnsmasq may wait ~3 s before an OFFER
    delay: Annotated[float, Field(ge=0, le=5)] = 1.0  # after the captures start, before injecting
    xid: Annotated[int | None, Field(ge=1, le=0xFFFFFFFF)] = None
    # end early: once every capture here saw an OFFER of the xid, wait this long for a late (rogue) one
    settle: Annotated[float, Field(ge=0.5, le=30)] | None = None


class DhcpMessage(BaseModel):
    message: str
    xid: int
    client_mac: str
    src_mac: str
    src_ip: str
    dst_ip: str
    server_id: str | None = None
    your_ip: str | None = None
    vlan: int | None = None
    vni: int | None = None
    outgoing: bool = False
    time: float = 0.0


class DhcpHop(BaseModel):
    name: str
    interface: str
    netns: str | None = None
    messages: list[DhcpMessage] = []
    error: str | None = None


class DhcpTraceResponse(BaseModel):
    xid: int
    injected: bool
    inject_detail: str = ""
    hops: list[DhcpHop]
    verdict: Verdict
