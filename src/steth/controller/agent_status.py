"""What an agent's HTTP error status means to the controller: the AgentError it raises, or a 429 to wait for."""

from __future__ import annotations

from typing import Any

from ..errors import AgentAuthError, AgentRequestError
from .config import NodeConfig

# Other controllers share the agent (several operators, cron jobs, `watch`): its per-kind limit can still
# answer 429 with a short Retry-After. The agent refused the request before running anything, so it is
# retried after that wait (with jitter, so the controllers do not come back together), a few times. A long
# Retry-After (all capture slots taken: 5 s) is not waited for here: the caller's timing depends on it.
BUSY_RETRY_MAX_WAIT = 2.0
BUSY_RETRIES = 5


class AgentBusy(Exception):
    """A 429 with a short Retry-After: retried by AgentClient.request, never seen outside the client."""

    def __init__(self, wait: float, payload: Any) -> None:
        super().__init__(wait)
        self.wait, self.payload = wait, payload


def short_wait(retry_after: str) -> float | None:
    """Retry-After in seconds when it is a number no longer than BUSY_RETRY_MAX_WAIT (None otherwise)."""
    try:
        wait = float(retry_after)
    except ValueError:
        return None
    return wait if 0 <= wait <= BUSY_RETRY_MAX_WAIT else None


def raise_for_status(node: NodeConfig, method: str, path: str, status: int, payload: Any) -> None:
    """The AgentError for a 4xx/5xx answer (nothing for 2xx/3xx)."""
    where = dict(agent=node.name, address=node.url)
    detail = _detail_text(payload.get("detail") if isinstance(payload, dict) else None)
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


def _detail_text(detail: Any) -> str | None:
    """The agent's error text: a string, or a 422's list of {loc, msg} as "field: msg; ..."."""
    if isinstance(detail, list):
        parts = []
        for e in detail:
            if isinstance(e, dict):
                loc = [str(p) for p in e.get("loc", []) if p not in ("body", "query", "path")]
                parts.append(f"{'.'.join(loc) or 'request'}: {e.get('msg', '')}")
        return "; ".join(parts) or None
    return str(detail) if detail else None
