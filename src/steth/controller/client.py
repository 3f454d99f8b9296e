"""Async HTTP client for the agents (aiohttp): token, TLS, bounded fan-out, mapped errors.

Every aiohttp exception is turned into an ``AgentError`` subclass here, so the
rest of the controller never sees a foreign exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import json
import random
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import aiohttp
from pydantic import BaseModel, TypeAdapter, ValidationError

from ..errors import AgentError, AgentRequestError, AgentUnreachableError
from .agent_status import BUSY_RETRIES, AgentBusy, raise_for_status, short_wait
from .client_workers import Workers, process_count
from .config import ControllerConfig, NodeConfig, TlsConfig

T = TypeVar("T")
# requests of one probe kind in flight to one agent; the agent answers 429 above its own
# probe_max_concurrent (default 8), and a check's bursts (check mtu: 16 sizes per round) must queue, not fail
PER_AGENT_KIND_IN_FLIGHT = 8
X509_V_ERR_HOSTNAME_MISMATCH = 62  # OpenSSL's verify code: the certificate does not name the host


@dataclass
class AgentReply(Generic[T]):
    """What one agent answered, or the error that stood in the way, and how long it took."""

    node: NodeConfig
    value: T | None = None
    error: AgentError | None = None
    elapsed_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


def _ssl_reason(exc: BaseException) -> str:
    """The ssl.SSLError's reason somewhere in ``exc``'s chain ('' when none): aiohttp wraps it."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, ssl.SSLError):
            return str(getattr(e, "reason", "") or e)
        todo += [e.__cause__, e.__context__, getattr(e, "os_error", None), getattr(e, "certificate_error", None)]
        todo += [a for a in getattr(e, "args", ()) if isinstance(a, BaseException)]
    return ""


def _tls_problem(exc: BaseException, tls: TlsConfig) -> tuple[str, str] | None:
    """(what went wrong, which setting fixes it) when ``exc`` is a TLS problem, else None."""
    reason = _ssl_reason(exc).upper()
    if isinstance(exc, aiohttp.ClientConnectorCertificateError) or "CERTIFICATE_VERIFY_FAILED" in reason:
        return (
            f"its certificate is not trusted ({exc})",
            f"set [tls] ca_file to the CA that signed the agents' certificates (now {tls.ca_file or 'the system CAs'})",
        )
    if "CERTIFICATE_REQUIRED" in reason or "CERTIFICATE REQUIRED" in reason:
        return (
            "it requires a client certificate and refused the one sent (or none was sent)",
            "set [tls] cert_file and key_file to a client certificate signed by the agents' CA",
        )
    if "UNKNOWN_CA" in reason or "BAD_CERTIFICATE" in reason or "UNKNOWN CA" in reason:
        return (
            f"it refused the controller's client certificate ({reason.lower()})",
            "set [tls] cert_file and key_file to a client certificate signed by the agents' CA",
        )
    if "WRONG_VERSION_NUMBER" in reason or "RECORD_LAYER_FAILURE" in reason:
        return ("it does not speak TLS on this port", "set [tls] enabled = false, or enable TLS on the agent")
    reset = isinstance(exc, (aiohttp.ServerDisconnectedError, ConnectionResetError)) or (
        isinstance(exc, OSError) and exc.errno == errno.ECONNRESET  # aiohttp's ClientOSError carries the errno
    )
    if tls.enabled and not tls.cert_file and reset:
        return (
            "it closed the TLS connection: agents with a CA (--tls-ca-file) require a client certificate",
            "set [tls] cert_file and key_file to a client certificate signed by the agents' CA",
        )
    if isinstance(exc, aiohttp.ClientSSLError):
        return (f"TLS failed: {exc}", "check [tls] ca_file, cert_file and key_file and the agent's certificate")
    return None


@contextlib.contextmanager
def _transport_errors(node: NodeConfig, total: float | None, tls: TlsConfig, streaming: str = "") -> Iterator[None]:
    """aiohttp and socket errors of one agent call as AgentUnreachableError naming the agent and what to do.

    ``streaming`` names a streamed call (its deadline covers the whole stream, and it may break off mid-way).
    TLS problems name the [tls] setting to fix, not the symptom (a reset connection, a non-JSON answer).
    """
    where = dict(agent=node.name, address=node.url)
    check = "check that steth-agent runs there and the address and port are right"
    try:
        yield
    except TimeoutError:
        what = f": {streaming} did not end" if streaming else " did not answer"
        raise AgentUnreachableError(
            f"agent {node.name} at {node.url}{what} within {total:g} s", check, **where
        ) from None
    except (aiohttp.ClientError, OSError) as exc:
        if isinstance(exc, aiohttp.ClientSSLError) and _hostname_mismatch(exc):
            raise AgentUnreachableError(
                f"agent {node.name} at {node.url} presented a certificate that is not for {node.name}",
                f"the name in [nodes] must be in its certificate: `steth pki issue {node.name}` and install "
                "that certificate on the node, or fix the node's name or address in [nodes]",
                **where,
            ) from None
        tls_problem = _tls_problem(exc, tls)
        if tls_problem:
            raise AgentUnreachableError(
                f"TLS with agent {node.name} at {node.url} failed: {tls_problem[0]}", tls_problem[1], **where
            ) from None
        if not tls.enabled and isinstance(exc, aiohttp.ServerDisconnectedError):
            raise AgentUnreachableError(
                f"agent {node.name} at {node.url} closed the connection without answering",
                "if the agent serves HTTPS, set [tls] enabled = true and ca_file; otherwise " + check,
                **where,
            ) from None
        if streaming:
            raise AgentUnreachableError(
                f"agent {node.name} at {node.url}: {streaming} broke off: {exc}",
                "check that steth-agent still runs there",
                **where,
            ) from None
        raise AgentUnreachableError(f"agent {node.name} at {node.url} is unreachable: {exc}", check, **where) from None


def _hostname_mismatch(exc: aiohttp.ClientSSLError) -> bool:
    cause = getattr(exc, "certificate_error", None)
    return getattr(cause, "verify_code", None) == X509_V_ERR_HOSTNAME_MISMATCH


@functools.lru_cache(maxsize=64)
def _adapter(result: Any) -> TypeAdapter:
    """Building a TypeAdapter costs milliseconds: one per result type, reused."""
    return TypeAdapter(result)


def _ssl_context(tls: TlsConfig) -> ssl.SSLContext | bool:
    if not tls.enabled:
        return False
    ctx = ssl.create_default_context(cafile=tls.ca_file)
    if not tls.verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if tls.cert_file:
        ctx.load_cert_chain(tls.cert_file, tls.key_file)
    return ctx


class AgentClient:
    """One aiohttp session for all agents; use as ``async with AgentClient(cfg) as c``."""

    def __init__(
        self,
        config: ControllerConfig,
        token: str | None = None,
        connector: Callable[[ssl.SSLContext | bool], aiohttp.BaseConnector] | None = None,
        processes: int | None = None,
    ) -> None:
        """``connector``: makes the transport from the TLS context (default: TCP to each node's address);
        e.g. ``lambda ssl: aiohttp.UnixConnector(path)`` talks to an agent in the same process.
        ``processes``: worker processes that speak to the agents (client_workers; 1: none; default: the config)."""
        self._config = config
        self._processes = processes
        self._workers: Workers | None = None
        self._make_connector = connector
        self._token = token if token is not None else config.token()
        self._scheme = "https" if config.tls.enabled else "http"
        self._ssl = _ssl_context(config.tls)
        self._session: aiohttp.ClientSession | None = None
        self._slots: dict[tuple[str, str], asyncio.Semaphore] = {}
        # max_connections is enforced here, not by the connector: aiohttp's connector wakes its queued
        # requests by shuffling the list of every host that has one waiting, at each release, which is
        # O(hosts) per request and O(N^2) for a fan-out to N agents (1 s of 6 under cProfile at 1000 agents)
        self._in_flight = asyncio.Semaphore(config.max_connections)

    async def __aenter__(self) -> AgentClient:
        count = self._processes or process_count(self._config, self._make_connector is not None)
        if count > 1:  # forked before this process opens any connection: the workers inherit none
            self._workers = await Workers.start(
                lambda: AgentClient(self._config, self._token, self._make_connector, processes=1), self._config, count
            )
        if self._make_connector is not None:
            connector = self._make_connector(self._ssl)
        else:
            connector = aiohttp.TCPConnector(limit=0, ssl=self._ssl, force_close=False, enable_cleanup_closed=True)
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers={"X-Steth-Token": self._token},
            timeout=aiohttp.ClientTimeout(total=self._config.request_timeout),
            raise_for_status=False,
        )
        return self

    async def __aexit__(self, *exc: Any) -> None:
        if self._session:
            await self._session.close()
        if self._workers is not None:
            await self._workers.close()

    def _server_name(self, node: NodeConfig) -> str | None:
        """Over TLS the agent's certificate must name the node as [nodes] does (not just its address)."""
        return node.name if self._ssl else None

    def _slot(self, node: NodeConfig, path: str) -> asyncio.Semaphore:
        """The in-flight limit of one agent and probe kind (``/v1/ping`` -> ping): requests above it wait
        here, instead of being answered 429 by the agent's own per-kind limit."""
        key = (node.name, path.split("/", 3)[2] if path.startswith("/v1/") else path)
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = asyncio.Semaphore(PER_AGENT_KIND_IN_FLIGHT)
        return slot

    async def request(
        self,
        node: NodeConfig,
        method: str,
        path: str,
        *,
        body: BaseModel | None = None,
        result: Any = None,
        extra_timeout: float = 0.0,
    ) -> Any:
        """One call to one agent; returns the parsed ``result`` type (a model or TypeAdapter target).
        At most PER_AGENT_KIND_IN_FLIGHT of one probe kind run at once per agent, and max_connections in
        all; the rest queue (their timeout starts when they are sent)."""
        for attempt in range(BUSY_RETRIES + 1):
            async with self._slot(node, path), self._in_flight:
                try:
                    return await self._request(
                        node, method, path, body=body, result=result, extra_timeout=extra_timeout
                    )
                except AgentBusy as busy:
                    if attempt == BUSY_RETRIES:
                        raise_for_status(node, method, path, 429, busy.payload)
                    wait = busy.wait
            await asyncio.sleep(wait * (1 + random.random() / 2))  # outside the slots: others go on meanwhile
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def exchange(
        self, node: NodeConfig, method: str, path: str, data: bytes | None, extra_timeout: float
    ) -> tuple[int, str, bytes]:
        """One HTTP request to one agent over this process' session: (status, Retry-After, body);
        transport errors raised as AgentUnreachableError."""
        assert self._session is not None, "use AgentClient as an async context manager"
        url = f"{self._scheme}://{node.url}{path}"
        timeout = aiohttp.ClientTimeout(total=self._config.request_timeout + extra_timeout)
        with _transport_errors(node, timeout.total, self._config.tls):
            async with self._session.request(
                method,
                url,
                timeout=timeout,
                server_hostname=self._server_name(node),
                data=data,
                headers=_JSON_BODY if data is not None else None,
            ) as resp:
                return resp.status, resp.headers.get("Retry-After", ""), await resp.read()

    async def _request(
        self,
        node: NodeConfig,
        method: str,
        path: str,
        *,
        body: BaseModel | None,
        result: Any,
        extra_timeout: float,
    ) -> Any:
        # pydantic-core writes the JSON itself: a watch plan in 0.02 ms, not 0.1 ms (model_dump + json.dumps)
        data = body.model_dump_json(exclude_none=True).encode() if body is not None else None
        workers = self._workers
        shard = workers.owner(node) if workers is not None else None
        if workers is not None and shard is not None:  # a worker holds this agent's connection (and its TLS)
            status, retry_after, raw = await workers.exchange(shard, node, method, path, data, extra_timeout)
        else:
            status, retry_after, raw = await self.exchange(node, method, path, data, extra_timeout)
        if status == 429 and (wait := short_wait(retry_after)) is not None:
            raise AgentBusy(wait, _json(node, raw, self._config.tls) if raw else None)
        if status >= 400 and raw and not raw.lstrip().startswith((b"{", b"[")):  # a proxy's or server's page
            raise_for_status(node, method, path, status, {"detail": raw.decode(errors="replace").strip()[:300]})
        if status >= 400 or result is None or not raw:
            payload = _json(node, raw, self._config.tls) if raw else None
            raise_for_status(node, method, path, status, payload)
            return payload if result is None else _validated(node, path, result, payload)
        try:
            # straight from the bytes: no dict of dicts built first (pydantic-core parses the JSON)
            return _adapter(result).validate_json(raw)
        except ValidationError as exc:
            if any(e["type"] == "json_invalid" for e in exc.errors()):
                _json(node, raw, self._config.tls)  # raises the non-JSON error
            raise _unexpected(node, path, exc) from None

    @contextlib.asynccontextmanager
    async def stream(
        self, node: NodeConfig, method: str, path: str, *, duration: float
    ) -> AsyncIterator[AsyncIterator[bytes]]:
        """A streamed answer (``async for chunk in body``) expected to last up to ``duration`` seconds.

        Connecting is bounded by request_timeout, the whole stream by duration + request_timeout;
        errors are mapped as in ``request``, also those met while reading."""
        assert self._session is not None, "use AgentClient as an async context manager"
        url = f"{self._scheme}://{node.url}{path}"
        timeout = aiohttp.ClientTimeout(
            total=duration + self._config.request_timeout, sock_connect=self._config.request_timeout
        )
        async with self._in_flight:
            with _transport_errors(node, timeout.total, self._config.tls, f"{method} {path}"):
                async with self._session.request(
                    method, url, timeout=timeout, server_hostname=self._server_name(node)
                ) as resp:
                    if resp.status >= 400:
                        try:
                            payload = await resp.json(content_type=None)
                        except ValueError:
                            payload = None
                        raise_for_status(node, method, path, resp.status, payload)
                    yield resp.content.iter_any()

    async def timed(self, node: NodeConfig, call: Callable[[NodeConfig], Awaitable[T]]) -> AgentReply[T]:
        start = time.perf_counter()
        try:
            value = await call(node)
            return AgentReply(node, value=value, elapsed_ms=(time.perf_counter() - start) * 1000)
        except AgentError as exc:
            return AgentReply(node, error=exc, elapsed_ms=(time.perf_counter() - start) * 1000)

    async def fan_out(
        self, nodes: Iterable[NodeConfig], call: Callable[[NodeConfig], Awaitable[T]]
    ) -> list[AgentReply[T]]:
        """``call`` on every node at once; at most max_connections requests are in flight (the rest wait
        before they are sent, so their timeout starts then), each call has its timeout."""
        return list(await asyncio.gather(*(self.timed(n, call) for n in nodes)))


_JSON_BODY = {"Content-Type": "application/json"}


def _json(node: NodeConfig, raw: bytes, tls: TlsConfig) -> Any:
    """The answer's JSON; AgentRequestError (502) when it is not JSON."""
    try:
        return json.loads(raw)
    except ValueError as exc:
        hint = None if tls.enabled else "if the agent serves HTTPS, set [tls] enabled = true"
        raise AgentRequestError(
            f"agent {node.name} at {node.url} sent a non-JSON answer: {exc}",
            hint,
            agent=node.name,
            address=node.url,
            status=502,
        ) from None


def _unexpected(node: NodeConfig, path: str, exc: ValidationError) -> AgentRequestError:
    return AgentRequestError(
        f"agent {node.name} answered {path} with an unexpected body: {exc}",
        "agent and controller versions may differ",
        agent=node.name,
        address=node.url,
        status=502,
    )


def _validated(node: NodeConfig, path: str, result: Any, payload: Any) -> Any:
    try:
        return _adapter(result).validate_python(payload)
    except ValidationError as exc:
        raise _unexpected(node, path, exc) from None


def run(coro: Awaitable[T]) -> T:
    """Run a coroutine from synchronous CLI code."""
    return asyncio.run(coro)  # type: ignore[arg-type]


def with_agents(config: ControllerConfig, work: Callable[[AgentClient], Awaitable[T]]) -> T:
    """Open one session to the agents, run ``work(client)`` to its end from synchronous code, close it.

    What every command does around its check: ``with_agents(config, lambda c: api.info(c, node))``."""

    async def session() -> T:
        async with AgentClient(config) as client:
            return await work(client)

    return asyncio.run(session())
