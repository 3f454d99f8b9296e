"""Route groups built on first use: a placeholder route that loads a group's routes and dispatches again.

Importing every route module and building every route at start cost ~4 MB and
~0.3 s on each node; a group is now loaded by the first request under its path,
and all of them by the first /openapi.json.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any

from fastapi import FastAPI
from starlette.routing import BaseRoute, Match
from starlette.types import Receive, Scope, Send

from .context import AgentContext
from .routes import GROUPS, MODULES


class LazyRoutes(BaseRoute):
    """Matches /v1/<segment>... of a group not loaded yet; loads it, then lets the router dispatch again."""

    def __init__(self, app: FastAPI, ctx: AgentContext) -> None:
        self.app = app
        self.ctx = ctx
        self.loaded: set[str] = set()
        self._lock = threading.Lock()

    def _modules(self, scope: Scope) -> tuple[str, ...]:
        path: str = scope.get("path", "")
        if scope.get("type") != "http" or not path.startswith("/v1/"):
            return ()
        return tuple(m for m in GROUPS.get(path.split("/", 3)[2], ()) if m not in self.loaded)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        return (Match.FULL, {}) if self._modules(scope) else (Match.NONE, {})

    def load(self, modules: tuple[str, ...] = MODULES) -> None:
        """Build the routes of ``modules`` (once each), ahead of this placeholder."""
        with self._lock:
            for name in modules:
                if name in self.loaded:
                    continue
                module: Any = importlib.import_module(f"{__package__}.routes.{name}")
                routes = self.app.router.routes
                at = routes.index(self)
                routes[at:at] = module.router(self.ctx).routes
                self.loaded.add(name)
            if self.loaded >= set(MODULES) and self in self.app.router.routes:
                self.app.router.routes.remove(self)  # everything is there: no more detour

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.load(self._modules(scope))
        await self.app.router(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        from starlette.routing import NoMatchFound

        raise NoMatchFound(name, path_params)


def install(app: FastAPI, ctx: AgentContext) -> LazyRoutes:
    """Add the placeholder; /openapi.json loads every group before describing them."""
    lazy = LazyRoutes(app, ctx)
    app.router.routes.append(lazy)
    build_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        lazy.load()
        return build_openapi()

    app.openapi = openapi  # type: ignore[method-assign]
    return lazy
