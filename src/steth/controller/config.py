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

from oslo_config import cfg

from ..errors import ConfigError
from ..wire.defaults import AGENT_PORT as DEFAULT_PORT
from ..wire.iperf import parse_rate
from .config_model import ControllerConfig, NodeConfig, TlsConfig, vlans_by_network
from .config_sections import (
    CONFIG_ENV,
    DEFAULT_CONFIG,
    OVN_KEYS,
    CloudSettings,
    _int_in,
    _section,
    cloud_settings,
    parse_node,
    parse_ovn,
    parse_vlan_ranges,
)

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_CONFIG",
    "OVN_KEYS",
    "CloudSettings",
    "ControllerConfig",
    "NodeConfig",
    "TlsConfig",
    "cloud_settings",
    "load",
    "parse_node",
    "parse_ovn",
    "parse_vlan_ranges",
    "vlans_by_network",
]

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
    cfg.IntOpt(
        "client_processes",
        default=0,
        min=0,
        max=64,
        help="Worker processes that speak to the agents (TLS handshakes spread over cores; 1: none, the "
        "controller's own process does); 0: one per CPU "
        "(at most 8) when [nodes] holds 64 agents or more, else 1.",
    ),
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
