"""A JSON parser for python-ovs' JSON-RPC streams that does its work in the standard library's C decoder.

python-ovs (the ``ovs`` package ovsdbapp reads the NB and SB with) parses every JSON-RPC message with
``ovs.json.Parser``: its C extension when the package was built against libopenvswitch, otherwise a
pure-Python state machine that handles the input one character at a time (70 times slower than
``json.loads``: 0.5 s of CPU for the NB dump of a cloud with 1000 ports, as much for the SB). The pip
wheel has no C extension. ``FastParser`` has the same interface (``feed`` returns how many characters
it used, ``is_done``, ``finish`` returns the value or an error string): it finds where the message
ends with one regular expression that steps over whole strings and counts brackets, then decodes the
message with ``json.loads``.
"""

from __future__ import annotations

import json
import re
from typing import Any

# a whole string (escapes included) | an opening bracket | a closing one | a quote whose string has not ended
_TOKEN = re.compile(r'("[^"\\]*(?:\\.[^"\\]*)*")|([{\[])|([}\]])|(")')
_STRING, _OPEN, _CLOSE, _OPEN_QUOTE = 1, 2, 3, 4


class FastParser:
    """Drop-in for ``ovs.json.Parser`` (pure-Python mode: ``feed`` counts characters of a str)."""

    def __init__(self, check_trailer: bool = False) -> None:
        self.check_trailer = check_trailer
        self._parts: list[str] = []  # the message's text so far
        self._tail = ""  # its unscanned end: an unterminated string, scanned again with the next input
        self._depth = 0
        self._done = False
        self._value: Any = None
        self._error: str | None = None

    def feed(self, s: str) -> int:
        """Take input; returns how many characters of ``s`` belong to this message (all until it ends)."""
        if self._done:
            return 0
        text = self._tail + s
        base = len(self._tail)
        self._tail = ""
        for m in _TOKEN.finditer(text):
            kind = m.lastindex
            if kind == _OPEN:
                self._depth += 1
            elif kind == _CLOSE:
                self._depth -= 1
                if self._depth <= 0:
                    used = m.end() - base
                    self._parts.append(s[:used])
                    self._end()
                    return used
            elif kind == _OPEN_QUOTE:
                self._tail = text[m.start() :]
                break
            elif self._depth == 0:  # a string as the whole value
                used = m.end() - base
                self._parts.append(s[:used])
                self._end()
                return used
        self._parts.append(s)
        return len(s)

    def _end(self) -> None:
        self._done = True
        text = "".join(self._parts)
        self._parts = []
        try:
            self._value = json.loads(text)
        except ValueError as exc:
            self._error = f"syntax error: {exc}"

    def is_done(self) -> bool:
        return self._done

    def finish(self) -> Any:
        """The value, or an error message (a str, as ``ovs.json.Parser.finish`` returns errors)."""
        if not self._done:
            text = "".join(self._parts).strip()
            if not text:
                return "empty input stream"
            try:  # a bare number or literal, which no bracket ends
                return json.loads(text)
            except ValueError:
                return "unexpected end of input"
        if self._error is not None:
            return self._error
        return self._value


def install() -> None:
    """Make python-ovs parse with FastParser unless it has its C extension (which is faster still)."""
    import ovs.json  # type: ignore[import-untyped]

    if ovs.json.PARSER != ovs.json.PARSER_C and ovs.json.Parser is not FastParser:
        ovs.json.Parser = FastParser
