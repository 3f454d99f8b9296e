"""Open vSwitch probes: which ports exist on a bridge."""

from __future__ import annotations

from ..errors import CapabilityMissing, HostError
from ..host import ovsdb
from ..wire.models import OvsCheckPortsRequest, OvsCheckPortsResponse, OvsPortPresence, Verdict


def check_ports(req: OvsCheckPortsRequest, connection: str) -> OvsCheckPortsResponse:
    """Presence of each requested port; OVS missing or failing is a result, not an exception."""
    try:
        present = ovsdb.bridge_ports(req.bridge, connection)
    except CapabilityMissing as exc:
        return OvsCheckPortsResponse(
            bridge=req.bridge, bridge_exists=False, ovs_available=False, detail=str(exc), verdict=Verdict.ERROR
        )
    except HostError as exc:
        return OvsCheckPortsResponse(
            bridge=req.bridge, bridge_exists=False, ovs_available=True, detail=str(exc), verdict=Verdict.ERROR
        )
    if present is None:
        return OvsCheckPortsResponse(
            bridge=req.bridge,
            bridge_exists=False,
            ovs_available=True,
            verdict=Verdict.FAIL,
            detail=f"bridge {req.bridge} does not exist",
            ports=[OvsPortPresence(port=p, present=False, verdict=Verdict.FAIL) for p in req.ports],
        )
    names = set(present)
    ports = [
        OvsPortPresence(port=p, present=p in names, verdict=Verdict.OK if p in names else Verdict.FAIL)
        for p in req.ports
    ]
    missing = [p.port for p in ports if not p.present]
    return OvsCheckPortsResponse(
        bridge=req.bridge,
        bridge_exists=True,
        ovs_available=True,
        verdict=Verdict.FAIL if missing else Verdict.OK,
        detail=f"missing: {', '.join(missing)}" if missing else "all ports present",
        ports=ports,
    )
