"""One chain per backend, one module each: ``ovs.py`` today; ``ovn.py``, ``ovs_dvr.py`` and
``linuxbridge.py`` join as new modules that register their chain (importing the checks they
list), with nothing to change here: every module of this package is loaded on first use."""

from __future__ import annotations

import importlib
import pkgutil

from ..backend import Backend
from ..registry import REGISTRY, Chain

_loaded = False


def load() -> None:
    """Import every chain module of this package once (each registers its chain at import)."""
    global _loaded
    if _loaded:
        return
    for mod in sorted(m.name for m in pkgutil.iter_modules(__path__)):
        importlib.import_module(f"{__name__}.{mod}")
    _loaded = True


def chain_for(backend: Backend) -> Chain | None:
    load()
    return REGISTRY.chain_for(backend)


def available() -> list[Backend]:
    load()
    return [b for b in Backend if REGISTRY.chain_for(b) is not None]
