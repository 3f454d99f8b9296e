"""A real Neutron on top of the underlay lab (`steth lab up --neutron`).

Layout, so that backends are siblings on shared parts:

* ``services.py``  recorded processes, MariaDB, RabbitMQ, neutron-server (every backend)
* ``record.py``    the typed Neutron part of the lab state
* ``overlay.py``   the overlay as data: networks, VMs, router, floating IPs, the internet
* ``resources.py`` its Neutron API objects; ``vms.py`` VM ports, namespaces, DHCP leases;
  ``internet.py`` the namespace behind the external network; ``l3check.py`` the SNAT/DNAT proof
* ``teardown.py``  `lab down`
* ``ml2ovs/``      the ML2/Open vSwitch backend: configs, per-node OVS, agents, VIF plugging, `up`
"""

from __future__ import annotations

from collections.abc import Callable

from ..state import LabState
from ..topology import Topology
from .api import connection
from .record import NeutronRecord
from .services import cloud_name, clouds_path
from .teardown import down

Progress = Callable[[str], None]

__all__ = ["NeutronRecord", "clouds_path", "cloud_name", "connection", "down", "up"]


def _quiet(_: str) -> None:
    pass


def up(state: LabState, topo: Topology, progress: Progress = _quiet, dvr: bool = False) -> NeutronRecord:
    """Build the Neutron part (ML2/Open vSwitch; with ``dvr`` its routers distributed) of a lab whose underlay is up."""
    from . import ml2ovs

    return ml2ovs.up(state, topo, progress, distributed=dvr)
