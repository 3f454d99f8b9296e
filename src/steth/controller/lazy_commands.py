"""Commands loaded when they run: cliff's entry-point interface over "module:Class" names.

cliff's CommandManager keeps, per command name, an object with ``load()`` returning the
command class; it calls ``load()`` only for the command being run (or whose help is asked).
:class:`LazyCommand` is that object for the names in ``controller/commands/__init__.py``.
:func:`summary` gives a command's one-line description without importing its module (the
class docstring's first line, read from the source with ``ast``), for `steth --help`.
"""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
import inspect
from pathlib import Path
from typing import Any

PACKAGE = "steth.controller.commands"


class LazyCommand:
    """One entry of the command table: imports ``PACKAGE.module`` on ``load()``."""

    def __init__(self, name: str, target: str) -> None:
        module, _, cls = target.partition(":")
        if not module or not cls:
            raise ValueError(f"command {name!r}: {target!r} is not 'module:Class'")
        self.name = name
        self.module = f"{PACKAGE}.{module}"
        self.cls = cls

    @property
    def value(self) -> str:
        """The target as cliff logs it (what an entry point's ``value`` is)."""
        return f"{self.module}:{self.cls}"

    def load(self) -> Any:
        return getattr(importlib.import_module(self.module), self.cls)

    def summary(self) -> str:
        """First line of the class docstring, from the module's source (nothing is imported)."""
        return first_line(_class_docs(self.module).get(self.cls))

    def __repr__(self) -> str:
        return f"LazyCommand({self.name!r}, {self.value!r})"


def first_line(doc: str | None) -> str:
    """How cliff's help shows a description: its first line without a final full stop."""
    return (doc or "").strip().split("\n")[0].rstrip(".")


@functools.cache
def _class_docs(module: str) -> dict[str, str | None]:
    """Class name -> docstring of every top-level class of ``module``, parsed, not imported."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise ImportError(f"no module {module}")
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"), spec.origin)
    return {node.name: ast.get_docstring(node) for node in tree.body if isinstance(node, ast.ClassDef)}


def summary_of(entry: Any) -> str:
    """One line for any command manager entry: lazy ones from source, cliff's own (help, complete) loaded."""
    if isinstance(entry, LazyCommand):
        return entry.summary()
    return first_line(inspect.getdoc(entry.load()))
