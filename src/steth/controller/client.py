"""Async HTTP client for the agents (aiohttp): token, TLS, bounded fan-out, mapped errors.

Every aiohttp exception is turned into an ``AgentError`` subclass here, so the
rest of the controller never sees a foreign exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import aiohttp
from pydantic import BaseModel, TypeAdapter, ValidationError

from ..errors import AgentAuthError, AgentError, AgentRequestError, AgentUnreachableError
from .config import ControllerConfig, NodeConfig, TlsConfig

T = TypeVar("T")


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


@contextlib.contextmanager
def _transport_errors(node: NodeConfig, total: float | None, streaming: str = "") -> Iterator[None]:
    """aiohttp and socket errors of one agent call as AgentUnreachableError naming the agent and what to do.

    ``streaming`` names a streamed call (its deadline covers the whole stream, and it may break off mid-way).
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
    except aiohttp.ClientSSLError as exc:
        raise AgentUnreachableError(
            f"TLS with agent {node.name} at {node.url} failed: {exc}",
            "check [tls] ca_file/cert_file and the agent's certificate",
            **where,
        ) from None
    except (aiohttp.ClientError, OSError) as exc:
        if streaming:
            raise AgentUnreachableError(
                f"agent {node.name} at {node.url}: {streaming} broke off: {exc}",
                "check that steth-agent still runs there",
                **where,
            ) from None
        raise AgentUnreachableError(f"agent {node.name} at {node.url} is unreachable: {exc}", check, **where) from None


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

    def __init__(self, config: ControllerConfig, token: str | None = None) -> None:
        self._config = config
        self._token = token if token is not None else config.token()
        self._scheme = "https" if config.tls.enabled else "http"
        self._ssl = _ssl_context(config.tls)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> AgentClient:
        connector = aiohttp.TCPConnector(
            limit=self._config.max_connections, ssl=self._ssl, force_close=False, enable_cleanup_closed=True
        )
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
        """One call to one agent; returns the parsed ``result`` type (a model or TypeAdapter target)."""
        assert self._session is not None, "use AgentClient as an async context manager"
        url = f"{self._scheme}://{node.url}{path}"
        timeout = aiohttp.ClientTimeout(total=self._config.request_timeout + extra_timeout)
        where = dict(agent=node.name, address=node.url)
        with _transport_errors(node, timeout.total):
            try:
                async with self._session.request(
                    method,
                    url,
                    timeout=timeout,
                    json=body.model_dump(mode="json", exclude_none=True) if body is not None else None,
                ) as resp:
                    payload = await resp.json(content_type=None) if resp.content_length != 0 else None
                    status = resp.status
            except ValueError as exc:  # body was not JSON
                raise AgentRequestError(
                    f"agent {node.name} at {node.url} sent a non-JSON answer: {exc}", **where, status=502
                ) from None
        _raise_for_status(node, method, path, status, payload)
        if result is None:
            return payload
        try:
            return _adapter(result).validate_python(payload)
        except ValidationError as exc:
            raise AgentRequestError(
                f"agent {node.name} answered {path} with an unexpected body: {exc}",
                "agent and controller versions may differ",
                **where,
                status=502,
            ) from None

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
        with _transport_errors(node, timeout.total, f"{method} {path}"):
            async with self._session.request(method, url, timeout=timeout) as resp:
                if resp.status >= 400:
                    try:
                        payload = await resp.json(content_type=None)
                    except ValueError:
                        payload = None
                    _raise_for_status(node, method, path, resp.status, payload)
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
        """``call`` on every node at once; the connector bounds connections, each call its timeout."""
        return list(await asyncio.gather(*(self.timed(n, call) for n in nodes)))


def _raise_for_status(node: NodeConfig, method: str, path: str, status: int, payload: Any) -> None:
    """The AgentError for a 4xx/5xx answer (nothing for 2xx/3xx)."""
    where = dict(agent=node.name, address=node.url)
    detail = payload.get("detail") if isinstance(payload, dict) else None
    if status in (401, 403):
        raise AgentAuthError(
            f"agent {node.name} at {node.url} refused the token ({detail or status})",
            "make token_file in steth.conf hold the same token as the agent's",
            **where,
        )
    if status >= 400:
        raise AgentRequestError(
            f"agent {node.name} rejected {method} {path}: {detail or status}", **where, status=status
        )


def run(coro: Awaitable[T]) -> T:
    """Run a coroutine from synchronous CLI code."""
    return asyncio.run(coro)  # type: ignore[arg-type]
