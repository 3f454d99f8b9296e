"""Parsers of steth.conf's free-form sections ([nodes], [neutron] VLAN ranges, [ovn], [openstack]):
their keys are node, network or physnet names, not fixed options, so oslo.config cannot read them."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

from ..errors import ConfigError
from ..openstack.ovn_model import OvnConfig
from .config_model import NodeConfig

DEFAULT_CONFIG = "/etc/steth/steth.conf"
CONFIG_ENV = "STETH_CONFIG"


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
    try:
        st = os.stat(path)
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
    except OSError:
        stamp = None
    return dict(_sections(path, stamp).get(section, {}))


@functools.lru_cache(maxsize=8)
def _sections(path: str, stamp: tuple[int, int, int] | None) -> dict[str, dict[str, str]]:
    """The file parsed once per version (a load asks for ~9 sections: 1000 [nodes] parsed 9 times cost 0.2 s)."""
    import configparser

    parser = configparser.ConfigParser(interpolation=None, default_section="\0none", inline_comment_prefixes=("#",))
    parser.optionxform = str  # keep node names' case
    try:
        parser.read(path, encoding="utf-8")
    except configparser.Error as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    return {name: dict(parser[name]) for name in parser.sections()}


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
