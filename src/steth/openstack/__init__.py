"""OpenStack adapter (openstacksdk): what steth needs to know about ports, networks and agents.

Everything here returns plain dataclasses built from the API's data, so checks and
tests work on recorded data; openstacksdk's and keystoneauth's exceptions are
mapped to :class:`steth.errors.OpenStackError` at this boundary.
"""

from .adapter import (
    NetworkInfo,
    NeutronAgent,
    OpenStack,
    PortInfo,
    SegmentInfo,
    SubnetInfo,
    agent_from_api,
    connect,
    map_error,
    network_from_api,
    port_from_api,
    subnet_from_api,
)

__all__ = [
    "NeutronAgent",
    "NetworkInfo",
    "OpenStack",
    "PortInfo",
    "SegmentInfo",
    "SubnetInfo",
    "agent_from_api",
    "connect",
    "map_error",
    "network_from_api",
    "port_from_api",
    "subnet_from_api",
]
