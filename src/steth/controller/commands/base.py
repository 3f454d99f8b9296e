"""What every steth command shares: config loading, error reporting, exit status from verdicts."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

from cliff.command import Command
from cliff.lister import Lister
from cliff.show import ShowOne

from ...errors import EXIT_OK, EXIT_PROBLEM, EXIT_UNREACHABLE, StethError
from ...wire.models import Verdict
from ..config import ControllerConfig
from ..config import load as load_config


def exit_status_for(verdicts: Iterable[str | Verdict], unreachable: bool = False) -> int:
    """3 if an agent needed for the answer was unreachable, 1 if any check failed, else 0."""
    if unreachable:
        return EXIT_UNREACHABLE
    values = {Verdict(v) for v in verdicts}
    if Verdict.FAIL in values or Verdict.ERROR in values:
        return EXIT_PROBLEM
    return EXIT_OK


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
    def config(self) -> ControllerConfig:
        return load_config(self.app.options.config_file)

    summary: list[str] = []

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
