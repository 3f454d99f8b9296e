"""The lab's reversible faults: one registry (registry.py), kinds in one module per area.

Importing this package registers every kind; which module is imported first changes nothing (each kind
names its area; no kind module imports another).
"""

from __future__ import annotations

from . import (  # noqa: F401 - registers the kinds
    agents,
    dataplane,
    dvr,
    l3,
    linuxbridge,
    neutron_undo,
    ovn,
    ovn_chassis,
    ovn_metadata,  # noqa: F401 - registers ovn-metadata-down
    ports,
    router_dp,
    underlay,
)
from .registry import KINDS, PARAMS, FaultContext, FaultKind, add, kind, kinds_in, remove, remove_all
from .underlay import tbf_argv

NEUTRON_KINDS = kinds_in("neutron")

__all__ = [
    "KINDS",
    "NEUTRON_KINDS",
    "PARAMS",
    "FaultContext",
    "FaultKind",
    "add",
    "kind",
    "kinds_in",
    "remove",
    "remove_all",
    "tbf_argv",
]
