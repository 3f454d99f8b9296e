"""The lab's Neutron API, from its record (noauth, loopback)."""

from __future__ import annotations

from typing import Any

from ..state import LabState
from .record import NeutronRecord


def connection(state: LabState) -> Any:
    """An openstacksdk connection to this lab's neutron-server (noauth)."""
    import openstack

    port = NeutronRecord.require(state).ports.api
    return openstack.connection.Connection(
        auth_type="none", network_endpoint_override=f"http://127.0.0.1:{port}/", region_name="RegionOne"
    )
