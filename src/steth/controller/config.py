"""Controller settings from /etc/steth/steth.conf (oslo.config).

Example::

    [DEFAULT]
    agent_port = 9698
    token_file = /etc/steth/token
    request_timeout = 5
    max_connections = 100
    management_network = management

    [networks]
    management = 10.0.0.0/24
    tenant = 10.1.0.0/24
    storage = 10.2.0.0/24

    [bandwidth]                 # optional: expected bandwidth per network (check bandwidth)
    tenant = 1G
    storage = 10G

    [nodes]
    network-1 = 10.0.0.11
    compute-1 = 10.0.0.21
    compute-2 = 10.0.0.22:9700

    [mtu]                  # expected MTU per network (default: the interfaces' MTU)
    tenant = 9000

    [vlans]                # VLANs each trunk network must carry (Neutron's network_vlan_ranges)
    tenant = 100-199

    [tunnels]              # networks that carry overlay tunnels: vxlan or geneve
    tenant = vxlan

    [neutron]              # Neutron's MTU settings, to warn when instances would get too much
    global_physnet_mtu = 9000
    # Neutron's ml2 network_vlan_ranges, and which network's trunks carry each physnet:
    # the VLANs check all verifies on that network (with those of [vlans])
    network_vlan_ranges = physnet1:100:199,physnet1:1000:1010
    physnet_networks = physnet1:tenant

    [ovn]                  # ML2/OVN: Neutron's [ovn] values (steth ovn status, steth ovn sync-check)
    nb_connection = tcp:10.0.0.5:6641,tcp:10.0.0.6:6641,tcp:10.0.0.7:6641
    sb_connection = tcp:10.0.0.5:6642,tcp:10.0.0.6:6642,tcp:10.0.0.7:6642
    # with ssl: remotes, nb_private_key / nb_certificate / nb_ca_cert (and sb_*)

    [tls]
    enabled = false
    ca_file = /etc/steth/ca.pem
    cert_file = /etc/steth/client.pem
    key_file = /etc/steth/client.key

A node's address on each network is learnt from its agent (/v1/info) and
matched against the network CIDRs; only the agent address is configured.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field

from oslo_config import cfg

from ..errors import ConfigError
from ..openstack.ovn_model import OvnConfig
from ..tokenfile import read_token
from ..wire.defaults import AGENT_PORT as DEFAULT_PORT
from ..wire.iperf import parse_rate

DEFAULT_CONFIG = "/etc/steth/steth.conf"
CONFIG_ENV = "STETH_CONFIG"

_DEFAULT_OPTS = [
    cfg.PortOpt("agent_port", default=DEFAULT_PORT, help="Port the agents listen on."),
    cfg.StrOpt("token_file", default="/etc/steth/token", help="File holding the agents' shared token."),
    cfg.FloatOpt(
        "request_timeout",
        default=5.0,
        min=0.1,
        max=600,
        help="Seconds to wait for one agent's answer (on top of the probe's own duration).",
    ),
    cfg.IntOpt("max_connections", default=100, min=1, max=4096, help="Most agent requests in flight at once."),
    cfg.StrOpt(
        "management_network",
        default="management",
        help="Name (in [networks]) of the network the agents are reached on.",
    ),
    cfg.StrOpt(
        "discovery_address",
        default="{tunneling_ip}",
        help="Without [nodes], `check all` finds the nodes from Neutron's agents (node name = agent "
        "host): the agent address of each, from {tunneling_ip} (its Open vSwitch agent's) and/or "
        "{host} (the Neutron host name, resolved by DNS), e.g. {host}.mgmt.example.org.",
    ),
]
_TLS_OPTS = [
    cfg.BoolOpt("enabled", default=False, help="Talk HTTPS to the agents."),
    cfg.StrOpt("ca_file", help="CA that signed the agents' certificates."),
    cfg.StrOpt("cert_file", help="Client certificate, for agents that require one."),
    cfg.StrOpt("key_file", help="Key of cert_file."),
    cfg.BoolOpt("verify", default=True, help="Verify the agents' certificates."),
]


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


def parse_node(name: str, value: str, default_port: int) -> NodeConfig:
    value = value.strip()
    host, port = value, default_port
    if value.startswith("["):  # [v6]:port
        host, _, rest = value[1:].partition("]")
        if rest.startswith(":"):
            port = _port(name, rest[1:])
    elif value.count(":") == 1:
        host, p = value.split(":")
        port = _port(name, p)
    if not host:
        raise ConfigError(f"node {name!r} has an empty address", "write [nodes] NAME = ADDRESS[:PORT]")
    return NodeConfig(name=name, host=host, port=port)


def _port(name: str, text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise ConfigError(f"node {name!r}: port {text!r} is not a number") from None
    if not 0 < port < 65536:
        raise ConfigError(f"node {name!r}: port {port} is out of range 1-65535")
    return port


def _section(path: str, section: str) -> dict[str, str]:
    """Free-form NAME = VALUE pairs of one section (node and network names are not fixed options)."""
    import configparser

    parser = configparser.ConfigParser(interpolation=None, default_section="\0none", inline_comment_prefixes=("#",))
    parser.optionxform = str  # keep node names' case
    try:
        parser.read(path, encoding="utf-8")
    except configparser.Error as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    return dict(parser[section]) if parser.has_section(section) else {}


def parse_vlan_ranges(text: str) -> dict[str, list[int]]:
    """Neutron's network_vlan_ranges (``physnet1:100:199,physnet1:1000:1010,physnet2``) -> physnet -> VLANs.

    A physnet without a range (provider networks only) maps to no VLAN. ValueError on bad syntax."""
    ranges: dict[str, set[int]] = {}
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        parts = [p.strip() for p in entry.split(":")]
        if len(parts) == 1 and parts[0]:
            ranges.setdefault(parts[0], set())
            continue
        if len(parts) != 3 or not parts[0]:
            raise ValueError(f"{entry!r} is not PHYSNET or PHYSNET:MIN:MAX")
        try:
            lo, hi = int(parts[1]), int(parts[2])
        except ValueError:
            raise ValueError(f"{entry!r}: VLAN ids must be numbers") from None
        if not 1 <= lo <= hi <= 4094:
            raise ValueError(f"{entry!r}: need 1 <= MIN <= MAX <= 4094")
        ranges.setdefault(parts[0], set()).update(range(lo, hi + 1))
    return {k: sorted(v) for k, v in ranges.items()}


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


def load(path: str | None = None, require_nodes: bool = True) -> ControllerConfig:
    """Read the controller config; ConfigError names the file and what to fix.

    ``require_nodes=False`` accepts a config without [nodes] (check all finds them from Neutron)."""
    path = path or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG
    if not os.path.exists(path):
        raise ConfigError(
            f"config file {path} not found",
            "pass --config-file, set STETH_CONFIG, or run `steth lab config` for the lab",
        )
    conf = cfg.ConfigOpts()
    conf.register_opts(_DEFAULT_OPTS)
    conf.register_opts(_TLS_OPTS, group="tls")
    try:
        conf(args=[], project="steth", default_config_files=[path], use_env=False)
        defaults = {o.dest: conf[o.dest] for o in _DEFAULT_OPTS}
        tls = TlsConfig(**{o.dest: conf.tls[o.dest] for o in _TLS_OPTS})
    except (cfg.Error, ValueError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    networks = {}
    for name, text in _section(path, "networks").items():
        try:
            networks[name] = ipaddress.ip_network(text.strip(), strict=False)
        except ValueError:
            raise ConfigError(
                f"{path}: network {name!r} has a bad CIDR {text!r}", "write [networks] NAME = ADDRESS/PREFIX"
            ) from None
    mtu = {name: _int_in(path, "mtu", name, text, 68, 65535) for name, text in _section(path, "mtu").items()}
    tunnels = {}
    for name, text in _section(path, "tunnels").items():
        if text.strip().lower() not in ("vxlan", "geneve"):
            raise ConfigError(f"{path}: [tunnels] {name} = {text!r}: use vxlan or geneve")
        tunnels[name] = text.strip().lower()
    neutron_mtu = {
        k: _int_in(path, "neutron", k, v, 0, 65535)
        for k, v in _section(path, "neutron").items()
        if k in ("global_physnet_mtu", "path_mtu")
    }
    for section, values in (("mtu", mtu), ("tunnels", tunnels)):
        for name in values:
            if name not in networks:
                raise ConfigError(f"{path}: [{section}] names network {name!r}, which is not in [networks]")
    port = defaults.pop("agent_port")
    nodes = {name: parse_node(name, text, port) for name, text in _section(path, "nodes").items()}
    if not nodes and require_nodes:
        raise ConfigError(f"{path} lists no nodes", "add a [nodes] section: NAME = AGENT_ADDRESS[:PORT]")
    if defaults["management_network"] not in networks and networks:
        raise ConfigError(
            f"{path}: management_network {defaults['management_network']!r} is not in [networks]",
            f"networks: {', '.join(networks)}",
        )
    bandwidth = {}
    for name, text in _section(path, "bandwidth").items():
        if name not in networks:
            raise ConfigError(
                f"{path}: [bandwidth] names network {name!r}, which is not in [networks]",
                f"networks: {', '.join(networks) or 'none'}",
            )
        try:
            bandwidth[name] = parse_rate(text)
        except ValueError as exc:
            raise ConfigError(f"{path}: [bandwidth] {name}: {exc}") from None
    vlans = {}
    for name, text in _section(path, "vlans").items():
        if name not in networks:
            raise ConfigError(
                f"{path}: [vlans] names network {name!r}, which is not in [networks]",
                f"networks: {', '.join(networks) or 'none'}",
            )
        from ..wire.vlan import parse_vlans

        try:
            vlans[name] = parse_vlans(text, allow_untagged=True)
        except ValueError as exc:
            raise ConfigError(f"{path}: [vlans] {name}: {exc}", "write e.g. tenant = 100-199,1000") from None
    neutron = _section(path, "neutron")
    try:
        neutron_vlans = parse_vlan_ranges(neutron.get("network_vlan_ranges", ""))
    except ValueError as exc:
        raise ConfigError(
            f"{path}: [neutron] network_vlan_ranges: {exc}", "copy it from ml2_conf.ini, e.g. physnet1:100:199"
        ) from None
    physnet_networks = {}
    for entry in (e.strip() for e in neutron.get("physnet_networks", "").split(",")):
        if not entry:
            continue
        physnet, _, net = (p.strip() for p in entry.partition(":"))
        if not physnet or not net:
            raise ConfigError(
                f"{path}: [neutron] physnet_networks: {entry!r} is not PHYSNET:NETWORK",
                "e.g. physnet_networks = physnet1:tenant",
            )
        if net not in networks:
            raise ConfigError(
                f"{path}: [neutron] physnet_networks maps {physnet} to network {net!r}, which is not in [networks]",
                f"networks: {', '.join(networks) or 'none'}",
            )
        physnet_networks[physnet] = net
    template = defaults["discovery_address"]
    try:
        template.format(host="h", tunneling_ip="192.0.2.1")
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(
            f"{path}: discovery_address = {template!r}: bad placeholder {exc}", "use {host} and/or {tunneling_ip}"
        ) from None
    if "{host}" not in template and "{tunneling_ip}" not in template:
        raise ConfigError(f"{path}: discovery_address = {template!r} names neither {{host}} nor {{tunneling_ip}}")
    return ControllerConfig(
        ovn=parse_ovn(path, _section(path, "ovn")),
        nodes=nodes,
        networks=networks,
        tls=tls,
        source=path,
        bandwidth=bandwidth,
        vlans=vlans,
        mtu=mtu,
        tunnels=tunnels,
        neutron_mtu=neutron_mtu,
        neutron_vlans=neutron_vlans,
        physnet_networks=physnet_networks,
        agent_port=port,
        **defaults,
    )


OVN_KEYS = (
    "nb_connection",
    "sb_connection",
    *(f"{db}_{k}" for db in ("nb", "sb") for k in ("private_key", "certificate", "ca_cert")),
)


def parse_ovn(path: str, section: dict[str, str]) -> OvnConfig | None:
    """[ovn] as an OvnConfig; None when the section is absent (not an ML2/OVN cloud)."""
    if not section:
        return None
    unknown = sorted(set(section) - {*OVN_KEYS, "timeout"})
    if unknown:
        raise ConfigError(f"{path}: [ovn] has unknown option(s) {', '.join(unknown)}", f"known: {', '.join(OVN_KEYS)}")
    for key in ("nb_connection", "sb_connection"):
        remotes = [r.strip() for r in section.get(key, "").split(",") if r.strip()]
        if not remotes:
            raise ConfigError(f"{path}: [ovn] {key} is missing", "copy ovn_" + key + " from Neutron's ml2_conf.ini")
        for r in remotes:
            if r.split(":", 1)[0] not in ("tcp", "ssl", "unix"):
                raise ConfigError(f"{path}: [ovn] {key}: {r!r} is not tcp:IP:PORT, ssl:IP:PORT or unix:PATH")
    try:
        timeout = float(section.get("timeout", "10"))
    except ValueError:
        raise ConfigError(f"{path}: [ovn] timeout = {section['timeout']!r} is not a number of seconds") from None
    return OvnConfig(
        **{k: section[k].strip() for k in OVN_KEYS if k in section},  # type: ignore[arg-type]
        timeout=timeout,
    )


def _int_in(path: str, section: str, name: str, text: str, lo: int, hi: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"{path}: [{section}] {name} = {text!r} is not a number") from None
    if not lo <= value <= hi:
        raise ConfigError(f"{path}: [{section}] {name} = {value} is out of range {lo}-{hi}")
    return value


@dataclass(frozen=True)
class CloudSettings:
    """``[openstack]`` of steth.conf: the cloud this controller belongs to, so one export of
    STETH_CONFIG is all a user needs. --os-cloud / OS_CLOUD and OS_CLIENT_CONFIG_FILE still win."""

    cloud: str | None = None
    clouds_file: str | None = None


def cloud_settings(path: str | None = None) -> CloudSettings:
    """The ``[openstack]`` section of the controller config, or nothing when there is no config file
    (commands that only ask OpenStack work without one)."""
    path = path or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG
    if not os.path.exists(path):
        return CloudSettings()
    values = _section(path, "openstack")
    unknown = sorted(set(values) - {"cloud", "clouds_file"})
    if unknown:
        raise ConfigError(
            f"{path}: [openstack] has unknown option(s) {', '.join(unknown)}", "use cloud and clouds_file"
        )
    clouds_file = values.get("clouds_file", "").strip() or None
    if clouds_file and not os.path.isabs(clouds_file):
        clouds_file = os.path.join(os.path.dirname(os.path.abspath(path)), clouds_file)
    if clouds_file and not os.path.exists(clouds_file):
        raise ConfigError(f"{path}: [openstack] clouds_file {clouds_file} does not exist", "fix the path or remove it")
    return CloudSettings(values.get("cloud", "").strip() or None, clouds_file)
