"""ovn sync-check's Neutron reader: one GET per collection with fields=, pagination links followed,
the JSON mapped to the dicts the checks compare, HTTP errors raised as openstacksdk's."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from openstack import exceptions

from steth.controller.checks import ovn_neutron

PORT = {
    "id": "p1",
    "network_id": "n1",
    "mac_address": "fa:16:3e:00:00:01",
    "fixed_ips": [{"subnet_id": "s1", "ip_address": "10.0.0.5"}],
    "device_owner": "compute:nova",
    "device_id": "vm1",
    "binding:host_id": "compute-1",
    "status": "ACTIVE",
    "port_security_enabled": False,
    "security_groups": ["sg1"],
}


def response(status: int, body: dict) -> requests.Response:
    r = requests.Response()
    r.status_code = status
    r._content = requests.compat.json.dumps(body).encode()
    r.headers["Content-Type"] = "application/json"
    r.url = "http://neutron.invalid/v2.0/x"
    return r


class FakeNetwork:
    def __init__(self, pages: dict[str, Any]) -> None:
        self.pages = pages
        self.calls: list[tuple[str, Any]] = []

    def get(self, url: str, params: Any = None) -> requests.Response:
        self.calls.append((url, params))
        return self.pages[url]


class FakeConn:
    def __init__(self, pages: dict[str, Any]) -> None:
        self.network = FakeNetwork(pages)


def pages(**over: Any) -> dict[str, Any]:
    nxt = "http://neutron.invalid/v2.0/ports?fields=id&marker=p1"
    base = {
        "/ports": response(200, {"ports": [PORT], "ports_links": [{"rel": "next", "href": nxt}]}),
        nxt: response(200, {"ports": [{**PORT, "id": "p2", "binding:host_id": None}], "ports_links": []}),
        "/subnets": response(
            200,
            {
                "subnets": [
                    {"id": "s1", "network_id": "n1", "cidr": "10.0.0.0/24", "ip_version": 4, "enable_dhcp": True}
                ]
            },
        ),
        "/routers": response(200, {"routers": [{"id": "r1", "name": "r", "external_gateway_info": None}]}),
        "/floatingips": response(200, {"floatingips": [{"id": "f1", "floating_ip_address": "203.0.113.5"}]}),
        "/security-groups": response(200, {"security_groups": [{"id": "sg1", "name": "default"}]}),
    }
    return {**base, **over}


def test_only_the_compared_fields_and_every_page():
    conn = FakeConn(pages())
    view = ovn_neutron.neutron_view(conn)
    first = dict(conn.network.calls)
    assert first["/ports"] == [("fields", f) for f in ovn_neutron.PORTS[2]]
    assert [p["id"] for p in view.ports] == ["p1", "p2"]
    assert view.ports[0] == {
        "id": "p1",
        "network_id": "n1",
        "mac_address": "fa:16:3e:00:00:01",
        "fixed_ips": [{"subnet_id": "s1", "ip_address": "10.0.0.5"}],
        "device_owner": "compute:nova",
        "device_id": "vm1",
        "binding_host_id": "compute-1",
        "status": "ACTIVE",
        "port_security_enabled": False,
        "security_group_ids": ["sg1"],
    }
    assert view.ports[1]["binding_host_id"] == "" and view.ports[1]["port_security_enabled"] is False
    assert view.subnets[0]["enable_dhcp"] is True and view.subnets[0]["gateway_ip"] is None
    assert view.routers == [{"id": "r1", "name": "r", "external_gateway_info": {}}]
    assert view.floating_ips[0]["port_id"] is None and view.floating_ips[0]["floating_ip_address"] == "203.0.113.5"
    assert view.security_groups == [{"id": "sg1", "name": "default", "security_group_rules": []}]


def test_port_security_absent_means_enabled():
    port = {k: v for k, v in PORT.items() if k != "port_security_enabled"}
    conn = FakeConn(pages(**{"/ports": response(200, {"ports": [port]})}))
    assert ovn_neutron.neutron_view(conn).ports[0]["port_security_enabled"] is True


def test_http_errors_are_openstacksdk_exceptions():
    conn = FakeConn(pages(**{"/routers": response(403, {"NeutronError": {"message": "policy forbids"}})}))
    with pytest.raises(exceptions.HttpException, match="403|policy"):
        ovn_neutron.neutron_view(conn)
