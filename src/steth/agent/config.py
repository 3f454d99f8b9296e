"""Agent settings, defined once: each is a field of AgentSettings carrying its default and help.

The oslo.config options (/etc/steth/steth-agent.conf and the command line) are
generated from the fields, so a setting's name, default, bounds and help live
in one place; the rest of the agent reads the frozen AgentSettings.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from typing import Any

from ..errors import ConfigError
from ..host.ovsdb import DEFAULT_CONNECTION
from ..tokenfile import read_token, read_tokens  # noqa: F401  (the agent's names for them)
from ..wire.defaults import AGENT_PORT
from ..wire.validators import parse_ports, parse_size

DEFAULT_PORT = AGENT_PORT
DEFAULT_CONFIG = "/etc/steth/steth-agent.conf"
LOG_LEVELS = ("debug", "info", "warning", "error")


def _setting(default: Any, help: str, kind: str = "str", text: str | None = None, **bounds: Any) -> Any:
    """A field of AgentSettings that is also an option: ``kind`` is the oslo.config type (str, int,
    float, port, bool); ``text`` is the option's default when the field holds a parsed value."""
    meta = {"help": help, "kind": kind, "text": text, "bounds": bounds}
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class AgentSettings:
    bind: str = _setting("0.0.0.0", "Address to listen on.")
    port: int = _setting(DEFAULT_PORT, "TCP port to listen on.", "port")
    token_file: str = _setting(
        "/etc/steth/token",
        "File holding the tokens every /v1 request must carry, one a line (several: rotation); "
        "reread on SIGHUP. Mode 0600 or 0400.",
    )
    tls_cert_file: str | None = _setting(None, "Serve HTTPS with this certificate (PEM).")
    tls_key_file: str | None = _setting(None, "Private key of tls_cert_file (PEM).")
    tls_ca_file: str | None = _setting(None, "Require client certificates signed by this CA (PEM).")
    ovsdb_connection: str = _setting(DEFAULT_CONNECTION, "Open vSwitch database: unix:PATH or tcp:HOST:PORT.")
    state_dir: str = _setting(
        "/var/lib/steth-agent", "Where the agent records its leases (host changes it must undo). Mode 0700."
    )
    netns_dirs: str | None = _setting(
        None,
        "Further directories of named network namespaces, searched before /run/netns (colon-separated): "
        "e.g. a lab node's own, whose metadata agent has its own /run/netns.",
    )
    iperf_ports: tuple[int, int] = _setting(
        (5201, 5299), "Ports the agent may give iperf3 servers, FIRST-LAST.", text="5201-5299"
    )
    iperf_max_servers: int = _setting(
        4, "Most iperf3 servers (and clients) this agent runs at once.", "int", min=1, max=64
    )
    capture_max_seconds: float = _setting(
        300.0, "Longest packet capture a client may ask for, in seconds.", "float", min=1.0, max=86400.0
    )
    capture_max_bytes: int = _setting(
        100_000_000, "Largest pcap of one capture (e.g. 100MB, 1GiB, 500000); the capture stops there.", text="100MB"
    )
    capture_max_concurrent: int = _setting(
        4, "Captures this agent holds at once (running, or finished and not yet fetched).", "int", min=1, max=64
    )
    capture_fetch_seconds: float = _setting(
        60.0,
        "How long a finished capture waits on the node to be fetched before it is removed.",
        "float",
        min=1.0,
        max=3600.0,
    )
    probe_max_concurrent: int = _setting(
        8, "Most requests of one probe kind (ping, ovs, dhcp, links, ...) served at once; more answer 429.", "int",
        min=1, max=256,
    )  # fmt: skip
    max_connections: int = _setting(
        512, "Most open HTTP connections; further ones are refused until some close.", "int", min=8, max=65536
    )
    header_timeout: float = _setting(
        10.0, "Seconds a client has to send its request line and headers.", "float", min=0.5, max=300.0
    )
    keepalive_timeout: float = _setting(
        15.0, "Seconds an idle keep-alive connection stays open.", "float", min=0.5, max=600.0
    )
    max_body_bytes: int = _setting(
        1_000_000, "Largest request body accepted; larger ones answer 413 (e.g. 1MB, 64KiB).", text="1MB"
    )
    insecure_http: bool = _setting(
        False,
        "Serve plain HTTP without TLS (token and answers readable on the network). Without it the agent "
        "refuses to start unless tls_cert_file and tls_key_file are given (`steth pki init` makes them).",
        "bool",
    )
    metrics_auth: str = _setting(
        "token",
        "GET /metrics (Prometheus): token (metrics_token_file, else the agent's tokens) or none.",
        choices=["token", "none"],
    )
    metrics_token_file: str | None = _setting(None, "Tokens of their own for GET /metrics (default: token_file).")
    enable_docs: bool = _setting(False, "Serve /docs and /redoc (they load JavaScript from a CDN).", "bool")
    log_level: str = _setting("warning", "Log level.", choices=list(LOG_LEVELS))

    @property
    def tls(self) -> bool:
        return bool(self.tls_cert_file)


# how an option's text becomes the field's value (fields not listed take the option's value as is)
_PARSERS: dict[str, Callable[[str], Any]] = {
    "iperf_ports": parse_ports,
    "capture_max_bytes": parse_size,
    "max_body_bytes": parse_size,
}


def _opts() -> list[Any]:
    from oslo_config import cfg

    kinds = {"str": cfg.StrOpt, "int": cfg.IntOpt, "float": cfg.FloatOpt, "port": cfg.PortOpt, "bool": cfg.BoolOpt}
    opts = []
    for f in fields(AgentSettings):
        meta = f.metadata
        default = meta["text"] if meta["text"] is not None else f.default
        opts.append(kinds[meta["kind"]](f.name.replace("_", "-"), default=default, help=meta["help"], **meta["bounds"]))
    return opts


def list_opts() -> list[tuple[str, list[Any]]]:
    """For oslo-config-generator: the agent's options (all in [DEFAULT])."""
    return [("DEFAULT", _opts())]


def load(argv: list[str] | None = None) -> AgentSettings:
    """Settings from the config file and ``argv``; ConfigError naming the bad option."""
    from oslo_config import cfg

    conf = cfg.ConfigOpts()
    conf.register_cli_opts(_opts())
    default_files = [DEFAULT_CONFIG] if os.path.exists(DEFAULT_CONFIG) else []
    try:
        conf(argv, project="steth", prog="steth-agent", default_config_files=default_files)
    except (cfg.Error, ValueError) as exc:
        raise ConfigError(f"agent configuration: {exc}") from exc
    values: dict[str, Any] = {}
    for f in fields(AgentSettings):
        value = conf[f.name]
        if f.name in _PARSERS:
            try:
                value = _PARSERS[f.name](value)
            except ValueError as exc:
                raise ConfigError(f"{f.name}: {exc}") from None
        values[f.name] = value
    return check(AgentSettings(**values))


def check(s: AgentSettings) -> AgentSettings:
    """Cross-field rules and readable files; returns ``s`` unchanged."""
    if bool(s.tls_cert_file) != bool(s.tls_key_file):
        raise ConfigError("tls_cert_file and tls_key_file must be given together")
    if s.tls_ca_file and not s.tls_cert_file:
        raise ConfigError("tls_ca_file (client certificates) needs tls_cert_file and tls_key_file")
    lo, hi = s.iperf_ports
    if lo <= s.port <= hi:
        raise ConfigError(
            f"--iperf-ports {lo}-{hi} contains the agent's own port {s.port}", "choose a range without it"
        )
    if s.capture_max_bytes < 1024:
        raise ConfigError(f"capture_max_bytes: {s.capture_max_bytes} bytes is less than 1024")
    if s.max_body_bytes < 1024:
        raise ConfigError(f"max_body_bytes: {s.max_body_bytes} bytes is less than 1024")
    for option in ("tls_cert_file", "tls_key_file", "tls_ca_file"):
        if getattr(s, option):
            _check_readable(option, getattr(s, option))
    return s


def with_defaults(**changes: Any) -> AgentSettings:
    """AgentSettings with some fields changed, checked (for tests and embedding)."""
    return check(replace(AgentSettings(), **changes))


def check_state_dir(path: str) -> None:
    """Create the state directory 0700 if missing; ConfigError when group or others may write it.

    Start-up recovery undoes what leases.json lists: whoever can write it could make the agent act.
    """
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        st = os.stat(path)
    except OSError as exc:
        raise ConfigError(f"cannot create state directory {path}: {exc.strerror}", "pass --state-dir") from exc
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise ConfigError(
            f"state directory {path} has mode {stat.S_IMODE(st.st_mode):04o}: group or others may write it",
            f"run `chmod 700 {path}` (and make the agent's user its owner)",
        )


def require_tls_or_insecure(settings: AgentSettings) -> None:
    """Plain HTTP is served only when asked for: ConfigError without a certificate or --insecure-http."""
    if settings.tls_cert_file and settings.insecure_http:
        raise ConfigError("--insecure-http and tls_cert_file contradict each other", "choose one")
    if not settings.tls_cert_file and not settings.insecure_http:
        raise ConfigError(
            "steth-agent serves HTTPS only: no tls_cert_file and tls_key_file given",
            "pass --tls-cert-file, --tls-key-file and --tls-ca-file (`steth pki init` makes them), "
            "or --insecure-http to serve plain HTTP",
        )


def _check_readable(option: str, path: str) -> None:
    """ConfigError naming ``option`` and ``path`` when the file cannot be read.

    Without this, uvicorn's ssl loading fails later with a bare "[Errno 2] No such
    file or directory" that names neither the file nor the option.
    """
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise ConfigError(
            f"cannot read {option} {path}: {exc.strerror}", f"check the path, or pass --{option.replace('_', '-')}"
        ) from exc
