"""The host-facing code the routes call, as one injectable object, each module imported on first use.

The agent runs on every node and most nodes never serve most routes: pyroute2,
ovsdbapp, tcpdump and iperf3 management are loaded by the first request that
needs them, not at start. Tests build the app with a fake of this object (same
attribute names, same functions and exception classes), so route logic runs
in-process without root.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

# attribute -> module (relative to the steth package)
MODULES = {
    "netlink": "host.netlink",
    "netns": "host.netns",
    "capabilities": "probes.capabilities",
    "ping": "probes.ping",
    "ovs": "probes.ovs",
    "ovs_show": "probes.ovs_show",
    "dhcp": "probes.dhcp",
    "links": "probes.links",
    "vlan": "probes.vlan",
    "netns_probes": "probes.netns_probes",
    "listeners": "probes.listeners",
    "vmprobe": "probes.vmprobe",
    "iperf": "probes.iperf",
    "captures": "agent.captures",
    "linuxbridge": "probes.linuxbridge",
}


class Backend:
    """``backend.netlink`` is ``steth.host.netlink``, imported the first time it is asked for."""

    def __getattr__(self, name: str) -> ModuleType:
        try:
            target = MODULES[name]
        except KeyError:
            raise AttributeError(name) from None
        module = importlib.import_module(f"steth.{target}")
        setattr(self, name, module)  # next time a plain attribute
        return module

    def loaded(self) -> list[str]:
        """The modules loaded so far (for the footprint benchmark and tests)."""
        return sorted(k for k in vars(self) if k in MODULES)


def replace(base: Any, **fakes: Any) -> Any:
    """A backend answering ``fakes`` first, then ``base`` (a fake of one module, the rest real)."""

    class _Partial:
        def __getattr__(self, name: str) -> Any:
            return fakes[name] if name in fakes else getattr(base, name)

    return _Partial()
