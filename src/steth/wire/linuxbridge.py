"""What a node's Linux bridges look like to the linuxbridge agent's eyes (GET /v1/linuxbridge/show).

Read-only, from iproute2's JSON (``ip -d -j link``, ``bridge -j fdb``, ``ip -j neigh``) and
``iptables-save -t filter``: bridges and their ports, VXLAN devices, the FDB and ARP responder entries
l2population writes on them, and the security-group rules of the firewall.
"""

from __future__ import annotations

from pydantic import BaseModel

from .verdict import Verdict


class LbLink(BaseModel):
    """One interface of the node: its kind (bridge, vxlan, veth, ...), its bridge, whether it is up."""

    name: str
    kind: str = ""
    master: str | None = None
    up: bool = False
    mtu: int | None = None
    mac: str = ""


class LbVxlan(BaseModel):
    """A kernel VXLAN device (``vxlan-<vni>`` made by the agent)."""

    name: str
    vni: int
    local: str | None = None
    group: str | None = None
    dev: str | None = None
    port: int | None = None
    proxy: bool = False  # ARP responder (l2population's arp_responder)
    learning: bool = True
    up: bool = False


class LbFdb(BaseModel):
    """One forwarding entry of a VXLAN device: the all-zero MAC with ``dst`` floods to a remote VTEP."""

    mac: str
    dev: str
    dst: str | None = None
    permanent: bool = False


class LbNeigh(BaseModel):
    """An ARP responder entry (``ip neigh`` on a VXLAN device, written by l2population)."""

    ip: str
    mac: str = ""
    dev: str
    state: str = ""


class LinuxBridgeShow(BaseModel):
    links: list[LbLink] = []
    vxlans: list[LbVxlan] = []
    fdb: list[LbFdb] = []
    neighbours: list[LbNeigh] = []
    filter_rules: list[str] = []  # iptables-save -t filter: the security groups' chains
    verdict: Verdict = Verdict.OK
    detail: str = ""

    def link(self, name: str) -> LbLink | None:
        return next((x for x in self.links if x.name == name), None)

    def ports_of(self, bridge: str) -> list[str]:
        return [x.name for x in self.links if x.master == bridge]

    def vxlan(self, vni: int) -> LbVxlan | None:
        return next((v for v in self.vxlans if v.vni == vni), None)

    def flood_vteps(self, dev: str) -> list[str]:
        """Remote VTEPs a VXLAN device floods to (l2population's ``00:00:00:00:00:00 dst <ip>``)."""
        return sorted({e.dst for e in self.fdb if e.dev == dev and e.dst and e.mac == "00:00:00:00:00:00"})

    def fdb_dst(self, dev: str, mac: str) -> str | None:
        return next((e.dst for e in self.fdb if e.dev == dev and e.mac == mac.lower() and e.dst), None)

    def arp_entries(self, dev: str) -> dict[str, str]:
        return {n.ip: n.mac for n in self.neighbours if n.dev == dev and n.mac}
