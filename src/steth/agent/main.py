"""Entry point of steth-agent: read settings, serve the app with uvicorn."""

from __future__ import annotations

import resource
import ssl
import sys

from ..errors import StethError


def _raise_fd_limit() -> None:
    """One raw socket per ping target: allow as many files as the hard limit permits."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main(argv: list[str] | None = None) -> int:
    from . import config

    try:
        settings = config.load(sys.argv[1:] if argv is None else argv)
    except StethError as exc:
        print(f"steth-agent: {exc}", file=sys.stderr)
        return exc.exit_code
    import uvicorn

    from .app import create_app
    from .context import AgentContext

    _raise_fd_limit()
    app = create_app(
        AgentContext(
            token=settings.token,
            ovsdb_connection=settings.ovsdb_connection,
            state_dir=settings.state_dir,
            iperf_ports=settings.iperf_ports,
            iperf_max_servers=settings.iperf_max_servers,
            agent_port=settings.port,
            capture_max_seconds=settings.capture_max_seconds,
            capture_max_bytes=settings.capture_max_bytes,
            capture_max_concurrent=settings.capture_max_concurrent,
            capture_fetch_seconds=settings.capture_fetch_seconds,
            metrics_token=settings.metrics_token,
        )
    )
    kwargs: dict = {}
    if settings.tls_cert_file:
        kwargs.update(ssl_certfile=settings.tls_cert_file, ssl_keyfile=settings.tls_key_file)
    if settings.tls_ca_file:
        kwargs.update(ssl_ca_certs=settings.tls_ca_file, ssl_cert_reqs=ssl.CERT_REQUIRED)
    try:
        uvicorn.run(
            app,
            host=settings.bind,
            port=settings.port,
            log_level=settings.log_level,
            access_log=settings.log_level == "debug",
            **kwargs,
        )
    except ssl.SSLError as exc:  # an OSError too, but about the files, not the address
        print(
            f"steth-agent: cannot use TLS certificate {settings.tls_cert_file}, key {settings.tls_key_file}"
            f"{f', CA {settings.tls_ca_file}' if settings.tls_ca_file else ''}: {exc}",
            file=sys.stderr,
        )
        return 2
    except OSError as exc:
        print(f"steth-agent: cannot listen on {settings.bind}:{settings.port}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
