"""Entry point of steth-agent: read settings, serve the app with uvicorn."""

from __future__ import annotations

import resource
import signal
import ssl
import sys

from ..errors import StethError


def _raise_fd_limit() -> None:
    """One raw socket per ping target: allow as many files as the hard limit permits."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _audit_to_stderr() -> None:
    """Audit lines (every host-changing request) go to stderr whatever --log-level says."""
    import logging

    audit = logging.getLogger("steth.agent.audit")
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s steth-agent audit: %(message)s"))
    audit.addHandler(handler)
    audit.setLevel(logging.INFO)
    audit.propagate = False


def main(argv: list[str] | None = None) -> int:
    from . import config
    from .auth import Tokens

    try:
        settings = config.load(sys.argv[1:] if argv is None else argv)
        config.check_state_dir(settings.state_dir)
        if settings.netns_dirs:
            from ..host import netns

            netns.configure(settings.netns_dirs.split(":"))
        tokens = Tokens(settings.token_file)
        config.require_tls_or_insecure(settings)
        metrics_tokens = Tokens(settings.metrics_token_file) if settings.metrics_token_file else None
    except StethError as exc:
        print(f"steth-agent: {exc}", file=sys.stderr)
        return exc.exit_code
    import uvicorn

    from .app import create_app
    from .context import AgentContext
    from .server import protocol

    _raise_fd_limit()
    if settings.insecure_http:
        print(
            f"steth-agent: WARNING: --insecure-http: serving PLAIN HTTP on {settings.bind}:{settings.port}; the token "
            "and every answer cross the network unencrypted and anyone on it can impersonate this agent. "
            "Use --tls-cert-file/--tls-key-file/--tls-ca-file (steth pki init) outside a lab or test.",
            file=sys.stderr,
            flush=True,
        )
    ctx = AgentContext(settings, tokens)
    if metrics_tokens is not None:
        ctx.metrics_tokens = metrics_tokens  # read at start: a bad file is an error now, not at the first scrape
    app = create_app(ctx)
    signal.signal(signal.SIGHUP, lambda *_: tokens.reload())
    kwargs: dict = {}
    if settings.tls_cert_file:
        kwargs.update(ssl_certfile=settings.tls_cert_file, ssl_keyfile=settings.tls_key_file)
    if settings.tls_ca_file:
        kwargs.update(ssl_ca_certs=settings.tls_ca_file, ssl_cert_reqs=ssl.CERT_REQUIRED)
    _audit_to_stderr()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=settings.bind,
            port=settings.port,
            log_level=settings.log_level,
            access_log=settings.log_level == "debug",
            http=protocol(settings.max_connections, settings.header_timeout),
            timeout_keep_alive=int(max(1, settings.keepalive_timeout)),
            # also what asyncio accepts per wake-up: a refused connection's descriptor lives three more
            # loop iterations, so a flood holds at most max_connections + 4 x backlog descriptors
            backlog=min(4096, settings.max_connections),
            **kwargs,
        )
    )
    try:
        server.run()
    except SystemExit as exc:  # uvicorn exits when it cannot bind, after logging the OSError
        if server.started:
            raise
        print(f"steth-agent: cannot listen on {settings.bind}:{settings.port} (see the error above)", file=sys.stderr)
        return int(exc.code or 1)
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
