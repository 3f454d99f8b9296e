"""A doctor check defined once, and the chains (one per backend) that order the checks.

A check is a small class, in the way ovsdbapp's commands are: its key, the name of its row,
its plane, the evidence kinds it needs, when it applies, and its judgement, a pure function
from Neutron's facts and the collected evidence to a ``CheckResult``. ``@check`` registers it.

A chain is the path of one backend, upstream first: a module in ``chains/`` lists the keys
of its checks, reusing the shared ones (port, security groups, MTU ...). A chain that names
an unknown check, a check registered twice, or two chains for one backend fail at import.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar, TypeVar

from ...wire.verdict import Verdict
from ..client import AgentClient
from ..config import ControllerConfig
from .backend import Backend
from .evidence import Collector, Evidence, Gatherer, Kind, Unprobed
from .facts import Facts
from .model import CheckResult, Plane, RegistryError


class Check:
    """One link of the chain. Subclasses set the class attributes and write ``judge``."""

    key: ClassVar[str]  # unique, what chains list: "port-binding"
    name: ClassVar[str]  # the report's row: "port binding"
    plane: ClassVar[Plane]
    needs: ClassVar[tuple[Kind[object], ...]] = ()
    proof: ClassVar[bool] = False  # its ok proves the path end to end: a chain with one requires it

    def applies(self, f: Facts) -> bool:
        """Whether the check has a row for these facts (most need the port the question resolved to)."""
        return f.port is not None

    def judge(self, f: Facts, ev: Evidence) -> CheckResult | list[CheckResult]:
        raise NotImplementedError

    def evaluate(self, f: Facts, ev: Evidence) -> list[CheckResult]:
        """The check's rows: none when it does not apply; it reads only the evidence it declared."""
        if not self.applies(f):
            return []
        got = self.judge(f, ev.only(self.needs))
        rows = got if isinstance(got, list) else [got]
        for r in rows:
            r.proof = self.proof
        return rows

    # --- the rows a judgement returns (name and plane are the check's; ``title`` renames one row) ---
    def ok(self, evidence: str, *, title: str | None = None) -> CheckResult:
        return CheckResult(title or self.name, Verdict.OK, evidence, self.plane)

    def warn(self, evidence: str, next_step: str = "") -> CheckResult:
        return CheckResult(self.name, Verdict.WARN, evidence, self.plane, next_step=next_step)

    def skipped(self, evidence: str, *, title: str | None = None, unproven: bool = False) -> CheckResult:
        """``unproven``: a link of the path was not proven (not merely not applicable): no healthy verdict."""
        return CheckResult(title or self.name, Verdict.SKIPPED, evidence, self.plane, unproven=unproven)

    def error(self, evidence: str, *, title: str | None = None) -> CheckResult:
        return CheckResult(title or self.name, Verdict.ERROR, evidence, self.plane)

    def fail(
        self, evidence: str, *, cause: str, catalogue: int | None, next_step: str, title: str | None = None
    ) -> CheckResult:
        return CheckResult(title or self.name, Verdict.FAIL, evidence, self.plane, cause, catalogue, next_step)

    def unprobed(self, what: Unprobed, *, title: str | None = None) -> CheckResult:
        return self.error(f"could not probe: {what.reason}", title=title)

    def unusable(self, res: object, missing: str, *, title: str | None = None) -> CheckResult | None:
        """The row when the evidence is absent (skipped, saying why) or its probe could not run (error)."""
        if res is None:
            return self.skipped(missing, title=title)
        if isinstance(res, Unprobed):
            return self.unprobed(res, title=title)
        return None


C = TypeVar("C", bound=type[Check])


@dataclass(frozen=True)
class Chain:
    """The checks of one backend in path order; the first failing one is the root cause."""

    backend: Backend
    checks: tuple[Check, ...]
    collectors: tuple[Collector[object], ...] = ()  # the backend's own ways to collect shared kinds

    def needs(self, f: Facts) -> list[Kind[object]]:
        """Every evidence kind the applicable checks need, each once."""
        kinds: dict[str, Kind[object]] = {}
        for c in self.checks:
            if c.applies(f):
                kinds.update((k.key, k) for k in c.needs)
        return list(kinds.values())

    async def collect(self, client: AgentClient, config: ControllerConfig, f: Facts) -> Evidence:
        """Every kind the chain needs for these facts, all at once (nothing to probe without a port)."""
        if f.port is None or f.network is None:
            return Evidence()
        return await Gatherer(client, config, f, self.collectors).gather(self.needs(f))

    def judge(self, f: Facts, ev: Evidence) -> list[CheckResult]:
        """The rows of every applicable check, in chain order."""
        return [r for c in self.checks for r in c.evaluate(f, ev)]

    @property
    def proves(self) -> bool:
        """Whether the chain has a check whose ok proves the path (then healthy requires it)."""
        return any(c.proof for c in self.checks)

    @property
    def keys(self) -> list[str]:
        return [c.key for c in self.checks]


class Registry:
    """Checks by key and chains by backend."""

    def __init__(self) -> None:
        self.checks: dict[str, Check] = {}
        self.chains: dict[Backend, Chain] = {}

    def check(self, cls: C) -> C:
        """Class decorator: register one instance of the check under its key."""
        for attr in ("key", "name", "plane"):
            if not isinstance(getattr(cls, attr, None), str):
                raise RegistryError(f"doctor check {cls.__qualname__} has no {attr}")
        if cls.judge is Check.judge:
            raise RegistryError(f"doctor check {cls.__qualname__} has no judge()")
        if cls.key in self.checks:
            other = type(self.checks[cls.key])
            raise RegistryError(
                f"doctor check {cls.key!r} registered twice: {other.__module__}.{other.__qualname__} "
                f"and {cls.__module__}.{cls.__qualname__}"
            )
        self.checks[cls.key] = cls()
        return cls

    def chain(self, backend: Backend, keys: Sequence[str], collectors: Sequence[Collector[object]] = ()) -> Chain:
        """Register the chain of a backend: the keys of its checks, upstream first."""
        if backend in self.chains:
            raise RegistryError(f"two doctor chains for the {backend.value} backend")
        unknown = [k for k in keys if k not in self.checks]
        if unknown:
            raise RegistryError(
                f"the {backend.value} chain names unknown doctor checks: {', '.join(unknown)} "
                f"(known: {', '.join(sorted(self.checks))})"
            )
        _unique(backend, "check", keys)
        _unique(backend, "row name", [self.checks[k].name for k in keys])
        chain = Chain(backend, tuple(self.checks[k] for k in keys), tuple(collectors))
        self.chains[backend] = chain
        return chain

    def chain_for(self, backend: Backend) -> Chain | None:
        return self.chains.get(backend)


def _unique(backend: Backend, what: str, items: Iterable[str]) -> None:
    twice = [x for x, n in Counter(items).items() if n > 1]
    if twice:
        raise RegistryError(f"the {backend.value} chain lists the {what} {', '.join(twice)} twice")


REGISTRY = Registry()
check = REGISTRY.check
