"""What every steth command shares: config loading, error reporting, exit status from verdicts,
and the options and argument types several commands take.

Imports here stay light (no aiohttp, pydantic or openstacksdk at module level): every command
module imports this one, and `steth --help` must not pay for what only a check needs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from cliff.command import Command
from cliff.lister import Lister
from cliff.show import ShowOne

from ...errors import EXIT_OK, EXIT_PROBLEM, EXIT_UNREACHABLE, StethError, UsageError

if TYPE_CHECKING:
    from pydantic import ValidationError

    from ...openstack.adapter import OpenStack
    from ...wire.models import Verdict
    from ..config import ControllerConfig


def exit_status_for(verdicts: Iterable[str | Verdict], unreachable: bool = False) -> int:
    """3 if an agent needed for the answer was unreachable, 1 if any check failed, else 0."""
    from ...wire.models import Verdict

    if unreachable:
        return EXIT_UNREACHABLE
    values = {Verdict(v) for v in verdicts}
    if Verdict.FAIL in values or Verdict.ERROR in values:
        return EXIT_PROBLEM
    return EXIT_OK


def request_error(exc: ValidationError) -> UsageError:
    """A pydantic error on a request built from the command line, as a message naming the option."""
    parts = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "request"
        parts.append(f"{field}: {str(err['msg']).removeprefix('Value error, ')}")
    return UsageError("; ".join(parts), "see `steth help` for the command's options")


def node_list(text: str) -> list[str]:
    """``--nodes A,B``: node names, blanks dropped."""
    return [n.strip() for n in text.split(",") if n.strip()]


def ifname_arg(text: str) -> str:
    """An interface name argument, checked as the agent will check it."""
    from ...wire.validators import check_ifname

    try:
        return check_ifname(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_scope_options(parser: argparse.ArgumentParser) -> None:
    """``--network`` (repeatable) and ``--nodes``: which part of the cloud a multi-node check covers."""
    parser.add_argument(
        "--network", action="append", metavar="NAME", help="network from [networks] (repeatable; default: all)"
    )
    parser.add_argument("--nodes", type=node_list, metavar="N1,N2", help="only these nodes (default: all)")


def progress_printer(prefix: str) -> Callable[[str], None]:
    """Progress of long work on stderr, only when stderr is a terminal (results go to stdout)."""

    def progress(message: str) -> None:
        if sys.stderr.isatty():
            print(f"{prefix}: {message}", file=sys.stderr, flush=True)

    return progress


def report_error(exc: StethError) -> int:
    print(f"steth: error: {exc.message}", file=sys.stderr)
    if exc.hint:
        print(f"steth: hint: {exc.hint}", file=sys.stderr)
    return exc.exit_code


class _StethMixin:
    """Mixed into cliff's Command/Lister/ShowOne: StethError -> message + exit code."""

    app: Any
    exit_status: int = EXIT_OK

    @property
    def cloud(self) -> OpenStack:
        """The OpenStack connection of this run (the app's --os-* options, clouds.yaml, OS_*), built once."""
        return self.app.client_manager.openstack  # type: ignore[no-any-return]

    @property
    def config(self) -> ControllerConfig:
        from ..config import load

        return load(self.app.options.config_file)

    summary: list[str] = []

    def get_epilog(self) -> str:
        """cliff's epilog without its "provided by the X plugin" line: finding X reads the metadata of every
        installed distribution (importlib.metadata.packages_distributions, 0.1-0.3 s of every run), and
        every steth command is steth's own."""
        parts = [self._epilog or ""]  # type: ignore[attr-defined]
        hooks = self._hooks  # type: ignore[attr-defined]
        parts += [e for h in hooks if h.obj is not None and (e := h.obj.get_epilog()) is not None]
        return "\n\n".join(parts)

    def run(self, parsed_args: Any) -> int:
        self.exit_status = EXIT_OK
        self.summary = []
        try:
            rc = super().run(parsed_args)  # type: ignore[misc]
        except StethError as exc:
            return report_error(exc)
        self._print_summary(parsed_args)
        return max(rc or 0, self.exit_status)

    def _print_summary(self, parsed_args: Any) -> None:
        """Findings go under a table on stdout, or to stderr so -f json/yaml/csv stay parseable."""
        if not self.summary:
            return
        fmt = getattr(parsed_args, "formatter", "table")
        stream = sys.stdout if fmt == "table" else sys.stderr
        print("\n".join(self.summary), file=stream)

    @staticmethod
    def is_table(parsed_args: Any) -> bool:
        return getattr(parsed_args, "formatter", "table") == "table"


class StethCommand(_StethMixin, Command):
    pass


class StethLister(_StethMixin, Lister):
    pass


class StethShowOne(_StethMixin, ShowOne):
    pass


def add_name(parser: argparse.ArgumentParser) -> None:
    """The `--name` of the lab a `steth lab ...` command acts on."""
    parser.add_argument("--name", default="lab", help="lab name (1-8 of [a-z0-9]; default: lab)")
