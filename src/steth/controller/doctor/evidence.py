"""Evidence: what the agents answered, by kind, each kind collected once per run.

A kind (``Kind[T]``) names one piece of evidence, the type of its value and the coroutine
that collects it. Checks declare the kinds they need; the run collects the union of them
all at once, and a kind that needs another (the DHCP trace needs the VM's br-int port)
awaits it through the same ``Gatherer``, so nothing is probed twice.

A probe that could not run is ``Unprobed``, a value like any other: only steth's own
errors and OS errors become one. Any other exception is a bug and propagates.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar, cast

from ...errors import StethError
from ...wire.models import PingRequest, PingResponse
from .. import api
from ..client import AgentClient
from ..config import ControllerConfig, NodeConfig
from ..inventory import resolve_node
from .facts import Facts
from .model import RegistryError

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


@dataclass(frozen=True)
class Unprobed:
    """A probe that could not run, and why (an agent unreachable, a node without an agent, a tool missing)."""

    reason: str

    @classmethod
    def of(cls, exc: StethError | OSError) -> Unprobed:
        return cls(exc.message if isinstance(exc, StethError) else f"{type(exc).__name__}: {exc}")


PerHost = dict[str, T | Unprobed]  # host -> its agent's answer, or why there is none


def nothing() -> None:
    """The empty value of a kind that is one answer: not collected, or not applicable to this port."""
    return None


@dataclass(frozen=True, eq=False)
class Kind(Generic[T_co]):
    """One kind of evidence: its key, how to collect it, and its value when it was not collected."""

    key: str
    collect: Callable[[Gatherer], Awaitable[T_co]]
    empty: Callable[[], T_co]


@dataclass(frozen=True, eq=False)
class Collector(Generic[T_co]):
    """A chain's own way to collect a kind (e.g. tunnel endpoints from OVN's chassis, not from agents),
    so a shared check judges the same evidence whichever backend gathered it."""

    kind: Kind[T_co]
    collect: Callable[[Gatherer], Awaitable[T_co]]


@dataclass
class KindRegistry:
    """Every kind by key: two kinds with one key would share one collected value, so that fails at import."""

    kinds: dict[str, Kind[object]] = field(default_factory=dict)

    def add(self, kind: Kind[T]) -> Kind[T]:
        if kind.key in self.kinds:
            raise RegistryError(f"doctor evidence kind {kind.key!r} is defined twice")
        self.kinds[kind.key] = kind
        return kind

    def get(self, key: str) -> Kind[object]:
        return self.kinds[key]


KINDS = KindRegistry()


class UndeclaredEvidence(LookupError):
    """A check read evidence it did not declare in ``needs`` (a bug in the check)."""


class Evidence:
    """Collected values by kind; a kind not collected reads as its empty value (None, {} ...)."""

    def __init__(self, allowed: frozenset[str] | None = None) -> None:
        self._values: dict[str, object] = {}
        self._allowed = allowed

    def __getitem__(self, kind: Kind[T]) -> T:
        if self._allowed is not None and kind.key not in self._allowed:
            raise UndeclaredEvidence(f"evidence {kind.key!r} read by a check that does not declare it")
        if kind.key in self._values:
            return cast(T, self._values[kind.key])
        return kind.empty()

    def __setitem__(self, kind: Kind[T], value: T) -> None:
        self._values[kind.key] = value

    def __contains__(self, kind: Kind[object]) -> bool:
        return kind.key in self._values

    def only(self, kinds: Iterable[Kind[object]]) -> Evidence:
        """A view that lets a check read only what it declared."""
        view = Evidence(frozenset(k.key for k in kinds))
        view._values = self._values
        return view


async def guarded(call: Awaitable[T]) -> T | Unprobed:
    """The call's value, or Unprobed when it failed with a steth error or an OS error."""
    try:
        return await call
    except (StethError, OSError) as exc:
        return Unprobed.of(exc)


class Gatherer:
    """Collects kinds of evidence for one port's facts, each once, concurrently."""

    def __init__(
        self,
        client: AgentClient,
        config: ControllerConfig,
        facts: Facts,
        collectors: Iterable[Collector[object]] = (),
    ) -> None:
        self.client = client
        self.config = config
        self.f = facts
        self._own = {c.kind.key: c.collect for c in collectors}
        self._tasks: dict[str, asyncio.Future[object]] = {}

    def get(self, kind: Kind[T]) -> Awaitable[T]:
        """The kind's value; the first caller starts its collection, later ones wait for the same."""
        task = self._tasks.get(kind.key)
        if task is None:
            collect = self._own.get(kind.key, kind.collect)
            task = self._tasks[kind.key] = asyncio.ensure_future(collect(self))
        return cast("asyncio.Future[T]", task)

    async def gather(self, kinds: Iterable[Kind[object]]) -> Evidence:
        kinds = list({k.key: k for k in kinds}.values())
        ev = Evidence()
        try:
            values = await asyncio.gather(*(self.get(k) for k in kinds))
        except BaseException:
            for t in self._tasks.values():  # a bug in one collector: stop the others, then let it propagate
                t.cancel()
            raise
        for k, v in zip(kinds, values):
            ev[k] = v
        return ev

    def node(self, host: str | None) -> NodeConfig:
        """The steth agent of a Neutron host (UnknownAgentError when none is configured)."""
        return resolve_node(self.config, host or "(unbound)")

    async def on(self, host: str | None, call: Callable[[NodeConfig], Awaitable[T]]) -> T | Unprobed:
        """``call(node)`` on the host's agent; a host without agent or a failed call is Unprobed."""
        try:
            node = self.node(host)
        except StethError as exc:
            return Unprobed.of(exc)
        return await guarded(call(node))

    async def each(self, hosts: list[str], call: Callable[[NodeConfig], Awaitable[T]]) -> dict[str, T | Unprobed]:
        """``call`` on every host's agent at once: host -> its answer or Unprobed."""
        got = await asyncio.gather(*(self.on(h, call) for h in hosts))
        return dict(zip(hosts, got))

    async def ping(
        self,
        host: str | None,
        targets: list[str],
        *,
        netns: str | None = None,
        source: str | None = None,
        size: int = 56,
        dont_fragment: bool = False,
    ) -> PingResponse | Unprobed:
        """Three pings from the host (or a namespace on it); small and quick, the path is what matters."""
        req = PingRequest(
            targets=targets,
            count=3,
            interval=0.1,
            timeout=1.0,
            size=size,
            dont_fragment=dont_fragment,
            source=source,
            netns=netns,
        )
        return await self.on(host, lambda n: api.ping(self.client, n, req))
