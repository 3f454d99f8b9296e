"""What Neutron says, for `ovn sync-check`: ports, subnets, routers, floating IPs and security groups read
straight from Neutron's API, only the fields compared.

openstacksdk's ``conn.network.ports()`` builds a Resource object per port (1 s of CPU for 700 ports, 50
times the JSON decoding) and asks Neutron for every field, each one checked against Neutron's policy;
here each list is one GET with ``fields=`` (Neutron's pagination links followed, if it paginates), the
five lists at once, and the JSON becomes the plain dicts the checks compare.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .ovn_sync import NeutronView

# (URL path, body key, fields asked for)
PORTS = (
    "ports",
    "ports",
    (
        "id",
        "network_id",
        "mac_address",
        "fixed_ips",
        "device_owner",
        "device_id",
        "binding:host_id",
        "status",
        "port_security_enabled",
        "security_groups",
    ),
)
SUBNETS = ("subnets", "subnets", ("id", "network_id", "cidr", "ip_version", "enable_dhcp", "gateway_ip"))
ROUTERS = ("routers", "routers", ("id", "name", "external_gateway_info"))
FLOATING_IPS = (
    "floatingips",
    "floatingips",
    ("id", "floating_ip_address", "fixed_ip_address", "port_id", "router_id"),
)
SECURITY_GROUPS = ("security-groups", "security_groups", ("id", "name", "security_group_rules"))


def listed(conn: Any, what: tuple[str, str, tuple[str, ...]]) -> list[dict[str, Any]]:
    """Every row of one Neutron collection, only ``fields``; openstacksdk's HTTP errors raised as its
    exceptions (the caller maps them)."""
    from openstack import exceptions

    path, key, fields = what
    url: str | None = f"/{path}"
    params: list[tuple[str, str]] | None = [("fields", f) for f in fields]
    rows: list[dict[str, Any]] = []
    while url:
        resp = conn.network.get(url, params=params)
        exceptions.raise_from_response(resp)
        body = resp.json()
        rows += body[key]
        # the next page's link carries the query (fields, marker) itself
        url = next((link["href"] for link in body.get(f"{key}_links", []) if link.get("rel") == "next"), None)
        params = None
    return rows


def neutron_view(conn: Any) -> NeutronView:
    """Read ports, subnets, routers, floating IPs and security groups: five GETs at once (each waits on
    neutron-server)."""
    with ThreadPoolExecutor(5) as pool:
        got = [pool.submit(listed, conn, w) for w in (PORTS, SUBNETS, ROUTERS, FLOATING_IPS, SECURITY_GROUPS)]
        ports, subnets, routers, ips, groups = (g.result() for g in got)
    view = NeutronView()
    view.ports = [
        {
            "id": p["id"],
            "network_id": p["network_id"],
            "mac_address": p["mac_address"],
            "fixed_ips": list(p.get("fixed_ips") or []),
            "device_owner": p.get("device_owner") or "",
            "device_id": p.get("device_id") or "",
            "binding_host_id": p.get("binding:host_id") or "",
            "status": p.get("status"),
            # absent when the port-security extension is off: Neutron then enforces nothing, OVN neither
            "port_security_enabled": p.get("port_security_enabled") is not False,
            "security_group_ids": list(p.get("security_groups") or []),
        }
        for p in ports
    ]
    view.subnets = [
        {
            "id": s["id"],
            "network_id": s["network_id"],
            "cidr": s["cidr"],
            "ip_version": s["ip_version"],
            "enable_dhcp": bool(s.get("enable_dhcp")),
            "gateway_ip": s.get("gateway_ip"),
        }
        for s in subnets
    ]
    view.routers = [
        {"id": r["id"], "name": r.get("name"), "external_gateway_info": r.get("external_gateway_info") or {}}
        for r in routers
    ]
    view.floating_ips = [
        {k: f.get(k) for k in ("id", "floating_ip_address", "fixed_ip_address", "port_id", "router_id")} for f in ips
    ]
    view.security_groups = [
        {"id": g["id"], "name": g.get("name"), "security_group_rules": list(g.get("security_group_rules") or [])}
        for g in groups
    ]
    return view
