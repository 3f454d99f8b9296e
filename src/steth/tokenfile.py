"""Token files, read by the agent (every valid token) and the controller (the one it sends).

One line per token (several: rotation), blank lines and # comments skipped, 16 characters at least.
"""

from __future__ import annotations

import os
import stat

from .errors import ConfigError


def _token_lines(path: str) -> tuple[list[str], int]:
    """The tokens in ``path``, one a line (blank lines and # comments skipped), and the file's mode."""
    try:
        st = os.stat(path)
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except OSError as exc:
        raise ConfigError(
            f"cannot read token file {path}: {exc.strerror}",
            "create it with a random secret, e.g. `openssl rand -hex 32 > FILE; chmod 600 FILE`, or pass --token-file",
        ) from exc
    tokens = [t.strip() for t in lines if t.strip() and not t.lstrip().startswith("#")]
    if not tokens:
        raise ConfigError(
            f"token file {path} holds no token (a token is shorter than 16 characters)",
            "write a random secret into it, one a line",
        )
    if any(len(t) < 16 for t in tokens):
        raise ConfigError(f"token in {path} is shorter than 16 characters", "use a longer random secret")
    return tokens, stat.S_IMODE(st.st_mode)


def read_token(path: str) -> str:
    """The token a controller sends: the first one of ``path``; ConfigError when unusable."""
    return _token_lines(path)[0][0]


def read_tokens(path: str) -> frozenset[str]:
    """Every token the agent accepts; ConfigError when unusable, or when group or others may read or
    write the file (a token others can read is no secret; one they can write lets them in)."""
    tokens, mode = _token_lines(path)
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"token file {path} has mode {mode:04o}: group or others may read or write it",
            f"run `chmod 600 {path}` (and make the agent's user its owner)",
        )
    return frozenset(tokens)
