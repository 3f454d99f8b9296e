"""The controller's settings as typed values: nodes, networks, TLS, expectations (read by config.load)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from ..openstack.ovn_model import OvnConfig
from ..tokenfile import read_token
from ..wire.defaults import AGENT_PORT as DEFAULT_PORT


@dataclass(frozen=True)
class NodeConfig:
    name: str
    host: str
    port: int

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class TlsConfig:
    enabled: bool = False
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    verify: bool = True


@dataclass(frozen=True)
class ControllerConfig:
    nodes: dict[str, NodeConfig]
    networks: dict[str, ipaddress.IPv4Network | ipaddress.IPv6Network]
    token_file: str
    request_timeout: float = 5.0
    max_connections: int = 100
    client_processes: int = 0  # processes speaking to the agents; 0: auto (client_workers)
    management_network: str = "management"
    tls: TlsConfig = field(default_factory=TlsConfig)
    source: str = ""
    mtu: dict[str, int] = field(default_factory=dict)  # network -> expected MTU
    tunnels: dict[str, str] = field(default_factory=dict)  # network -> vxlan | geneve
    neutron_mtu: dict[str, int] = field(default_factory=dict)  # global_physnet_mtu, path_mtu
    bandwidth: dict[str, int] = field(default_factory=dict)  # network -> expected bits/s
    vlans: dict[str, list[int]] = field(default_factory=dict)  # network -> VLANs its trunks must carry
    neutron_vlans: dict[str, list[int]] = field(default_factory=dict)  # physnet -> VLANs (network_vlan_ranges)
    physnet_networks: dict[str, str] = field(default_factory=dict)  # physnet -> network whose trunks carry it
    discovery_address: str = "{tunneling_ip}"
    agent_port: int = DEFAULT_PORT
    ovn: OvnConfig | None = None  # [ovn]: the OVN NB/SB databases (ML2/OVN clouds)

    def token(self) -> str:
        return read_token(self.token_file)


def vlans_by_network(config: ControllerConfig) -> dict[str, tuple[list[int], list[str]]]:
    """network -> (VLANs its trunks must carry, where they come from): [vlans] united with Neutron's
    network_vlan_ranges of the physnets mapped to it by physnet_networks."""
    out: dict[str, tuple[set[int], list[str]]] = {}
    for net, vlans in config.vlans.items():
        out[net] = (set(vlans), ["[vlans]"])
    for physnet, vlans in sorted(config.neutron_vlans.items()):
        net = config.physnet_networks.get(physnet)
        if net is None or not vlans:
            continue
        have, sources = out.setdefault(net, (set(), []))
        have.update(vlans)
        sources.append(f"{physnet} (network_vlan_ranges)")
    return {net: (sorted(v), src) for net, (v, src) in out.items()}
