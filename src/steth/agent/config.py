"""Agent settings: oslo.config options, from /etc/steth/steth-agent.conf and the command line."""

from __future__ import annotations

from dataclasses import dataclass

from oslo_config import cfg

from ..errors import ConfigError
from ..host.ovsdb import DEFAULT_CONNECTION

DEFAULT_PORT = 9698
DEFAULT_CONFIG = "/etc/steth/steth-agent.conf"

_OPTS = [
    cfg.StrOpt("bind", default="0.0.0.0", help="Address to listen on."),
    cfg.PortOpt("port", default=DEFAULT_PORT, help="TCP port to listen on."),
    cfg.StrOpt(
        "token-file", default="/etc/steth/token", help="File holding the shared token every /v1 request must carry."
    ),
    cfg.StrOpt("tls-cert-file", help="Serve HTTPS with this certificate (PEM)."),
    cfg.StrOpt("tls-key-file", help="Private key of tls_cert_file (PEM)."),
    cfg.StrOpt("tls-ca-file", help="Require client certificates signed by this CA (PEM)."),
    cfg.StrOpt(
        "ovsdb-connection", default=DEFAULT_CONNECTION, help="Open vSwitch database: unix:PATH or tcp:HOST:PORT."
    ),
    cfg.StrOpt(
        "state-dir",
        default="/var/lib/steth-agent",
        help="Where the agent records its leases (host changes it must undo).",
    ),
    cfg.StrOpt("iperf-ports", default="5201-5299", help="Ports the agent may give iperf3 servers, FIRST-LAST."),
    cfg.IntOpt(
        "iperf-max-servers", default=4, min=1, max=64, help="Most iperf3 servers (and clients) this agent runs at once."
    ),
    cfg.FloatOpt(
        "capture-max-seconds",
        default=300.0,
        min=1.0,
        max=86400.0,
        help="Longest packet capture a client may ask for, in seconds.",
    ),
    cfg.StrOpt(
        "capture-max-bytes",
        default="100MB",
        help="Largest pcap of one capture (e.g. 100MB, 1GiB, 500000); the capture stops there.",
    ),
    cfg.IntOpt(
        "capture-max-concurrent",
        default=4,
        min=1,
        max=64,
        help="Captures this agent holds at once (running, or finished and not yet fetched).",
    ),
    cfg.FloatOpt(
        "capture-fetch-seconds",
        default=60.0,
        min=1.0,
        max=3600.0,
        help="How long a finished capture waits on the node to be fetched before it is removed.",
    ),
    cfg.StrOpt(
        "metrics-auth",
        default="token",
        help="GET /metrics (Prometheus): token (metrics_token_file, else token_file) or none.",
    ),
    cfg.StrOpt("metrics-token-file", help="A token of its own for GET /metrics (default: the agent's token)."),
    cfg.StrOpt("log-level", default="warning", choices=["debug", "info", "warning", "error"]),
]


@dataclass(frozen=True)
class AgentSettings:
    bind: str
    port: int
    token: str
    tls_cert_file: str | None
    tls_key_file: str | None
    tls_ca_file: str | None
    ovsdb_connection: str
    state_dir: str
    log_level: str
    iperf_ports: tuple[int, int] = (5201, 5299)
    iperf_max_servers: int = 4
    capture_max_seconds: float = 300.0
    capture_max_bytes: int = 100_000_000
    capture_max_concurrent: int = 4
    capture_fetch_seconds: float = 60.0
    metrics_token: str | None = None  # None: /metrics without auth


def read_token(path: str) -> str:
    """The token in ``path`` (surrounding whitespace stripped); ConfigError when unusable."""
    try:
        with open(path, encoding="utf-8") as fh:
            token = fh.read().strip()
    except OSError as exc:
        raise ConfigError(
            f"cannot read token file {path}: {exc.strerror}",
            "create it with a random secret, e.g. `openssl rand -hex 32 > FILE`, or pass --token-file",
        ) from exc
    if len(token) < 16:
        raise ConfigError(f"token in {path} is shorter than 16 characters", "use a longer random secret")
    return token


def load(argv: list[str] | None = None) -> AgentSettings:
    conf = cfg.ConfigOpts()
    conf.register_cli_opts(_OPTS)
    default_files = [DEFAULT_CONFIG] if _exists(DEFAULT_CONFIG) else []
    try:
        conf(argv, project="steth", prog="steth-agent", default_config_files=default_files)
    except (cfg.Error, ValueError) as exc:
        raise ConfigError(f"agent configuration: {exc}") from exc
    if bool(conf.tls_cert_file) != bool(conf.tls_key_file):
        raise ConfigError("tls_cert_file and tls_key_file must be given together")
    if conf.tls_ca_file and not conf.tls_cert_file:
        raise ConfigError("tls_ca_file (client certificates) needs tls_cert_file and tls_key_file")
    from ..probes.iperf import parse_ports

    try:
        iperf_ports = parse_ports(conf.iperf_ports)
    except ValueError as exc:
        raise ConfigError(f"--iperf-ports: {exc}") from None
    if iperf_ports[0] <= conf.port <= iperf_ports[1]:
        raise ConfigError(
            f"--iperf-ports {conf.iperf_ports} contains the agent's own port {conf.port}", "choose a range without it"
        )
    for option in ("tls_cert_file", "tls_key_file", "tls_ca_file"):
        if conf[option]:
            _check_readable(option, conf[option])
    from .captures import parse_size

    try:
        capture_max_bytes = parse_size(conf.capture_max_bytes)
    except ValueError as exc:
        raise ConfigError(f"capture_max_bytes: {exc}") from None
    if capture_max_bytes < 1024:
        raise ConfigError(f"capture_max_bytes: {capture_max_bytes} bytes is less than 1024")
    token = read_token(conf.token_file)
    if conf.metrics_auth not in ("token", "none"):
        raise ConfigError(f"metrics_auth {conf.metrics_auth!r} is neither token nor none")
    metrics_token = None
    if conf.metrics_auth == "token":
        metrics_token = read_token(conf.metrics_token_file) if conf.metrics_token_file else token
    return AgentSettings(
        bind=conf.bind,
        port=conf.port,
        token=token,
        tls_cert_file=conf.tls_cert_file,
        tls_key_file=conf.tls_key_file,
        tls_ca_file=conf.tls_ca_file,
        ovsdb_connection=conf.ovsdb_connection,
        state_dir=conf.state_dir,
        log_level=conf.log_level,
        iperf_ports=iperf_ports,
        iperf_max_servers=conf.iperf_max_servers,
        capture_max_seconds=conf.capture_max_seconds,
        capture_max_bytes=capture_max_bytes,
        capture_max_concurrent=conf.capture_max_concurrent,
        capture_fetch_seconds=conf.capture_fetch_seconds,
        metrics_token=metrics_token,
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


def _exists(path: str) -> bool:
    import os

    return os.path.exists(path)
