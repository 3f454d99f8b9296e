"""Wire models of the VM's own packet (/v1/inject/vm) and of a router namespace's forwarding state
(/v1/netns/{name}/router-state).

The VM probe is a couple of ICMP echo requests (or TCP SYNs) built by the agent from typed fields and
injected as if the VM had sent them: raw on the hybrid plug's qvb, or an OpenFlow packet-out with
in_port the VM's port on br-int (the DHCP trace's injection, ``DhcpInjectSpec``). Nothing is changed
on the VM or its port. The payload of an echo carries ``token``, so captures on every hop know it.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .validators import IfName, IpAddress, OvsName
from .verdict import Verdict

MAC_PATTERN = r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$"
TOKEN_RE = re.compile(r"^[0-9a-f]{16}$")
MARKER = b"steth-vm-probe:"  # the echo payload: MARKER + token (ASCII)


class VmProbeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mac: Annotated[str, Field(pattern=MAC_PATTERN)]  # the VM's MAC (source)
    src_ip: IpAddress  # the VM's fixed IP
    gateway_mac: Annotated[str, Field(pattern=MAC_PATTERN)]  # the next hop's MAC (the router's qr- port)
    dst_ip: IpAddress
    protocol: Literal["icmp", "tcp"] = "icmp"
    port: Annotated[int, Field(ge=1, le=65535)] | None = None  # TCP destination port
    ident: Annotated[int, Field(ge=1, le=0xFFFF)]  # ICMP echo id, or the TCP source port
    token: str  # 16 hex digits: in the echo payload; the TCP SYN's sequence number is its first 8
    count: Annotated[int, Field(ge=1, le=3)] = 2
    interval: Annotated[float, Field(ge=0.0, le=0.5)] = 0.1
    # where it enters (as the DHCP trace injects): interface (raw send) or bridge + ovs_port (packet-out)
    interface: IfName | None = None
    bridge: OvsName | None = None
    ovs_port: OvsName | None = None

    @model_validator(mode="after")
    def _one_way(self) -> VmProbeRequest:
        if bool(self.interface) == bool(self.bridge and self.ovs_port):
            raise ValueError("give either interface (raw send) or bridge and ovs_port (OpenFlow packet-out)")
        if (self.protocol == "tcp") != (self.port is not None):
            raise ValueError("a TCP probe needs port; an ICMP probe takes none")
        return self

    @field_validator("token")
    @classmethod
    def _token(cls, v: str) -> str:
        if not TOKEN_RE.match(v):
            raise ValueError("token must be 16 lowercase hex digits")
        return v

    @field_validator("src_ip", "dst_ip")
    @classmethod
    def _ipv4(cls, v: str) -> str:
        if ":" in v:
            raise ValueError("the VM probe is IPv4 only")
        return v

    def tcp_seq(self) -> int:
        return int(self.token[:8], 16)


class VmProbeResponse(BaseModel):
    injected: int  # frames injected
    detail: str = ""
    verdict: Verdict


class RouterState(BaseModel):
    """A namespace's forwarding state: the sysctl, its routes, its links (read only)."""

    netns: str
    exists: bool = True
    ip_forward: bool | None = None
    routes: list[str] = []  # "default via 203.0.113.1 dev qg-...", "10.0.0.0/24 dev qr-..."
    links: dict[str, bool] = {}  # interface -> up (IFF_UP and carrier)
    verdict: Verdict = Verdict.OK
    detail: str = ""


__all__ = ["MARKER", "RouterState", "VmProbeRequest", "VmProbeResponse"]
