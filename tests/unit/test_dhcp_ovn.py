"""Why ovn-controller sent no OFFER, from the NB/SB snapshots (the first broken link), and the gateway port
without Gateway_Chassis in `ovn status`."""

from __future__ import annotations

import dataclasses

from steth.controller.checks import dhcp_ovn, ovn_status
from steth.controller.checks.dhcp_port import PortFacts
from steth.openstack.ovn_model import ChassisPrivate, LogicalRouter, LogicalRouterPort, PortBinding
from steth.wire.models import Verdict

from .test_doctor_control import PORT_ID, healthy
from .test_doctor_ovn import lab_db
from .test_ovn_analysis import nb, sb


def facts() -> PortFacts:
    f = healthy(router=None, router_port=None, to=None)
    return PortFacts(port=f.vm_port, network=f.vm_network, dhcp_ports=[], dhcp_hosts=[])


def test_each_reason_for_no_offer():
    db = lab_db()
    assert "sent no OFFER although NB and SB look right" in dhcp_ovn.why_no_offer(db.nb, db.sb, facts())
    no_opts = dataclasses.replace(db.nb, dhcp_options={})
    assert "no DHCP_Options row for the port's subnet" in dhcp_ovn.why_no_offer(no_opts, db.sb, facts())
    elsewhere = sb(bindings={PORT_ID: PortBinding(PORT_ID, "", "network", True)})
    assert "is not bound to chassis compute-1 (network)" in dhcp_ovn.why_no_offer(db.nb, elsewhere, facts())
    down = sb(bindings=db.sb.port_bindings, private={"compute-1": ChassisPrivate("compute-1", "", 2)})
    assert "down or not connected to the SB" in dhcp_ovn.why_no_offer(db.nb, down, facts())
    assert dhcp_ovn.subnet_options(db.nb, facts()) == ["d1"]


def test_gateway_port_without_gateway_chassis_fails_in_status():
    lrp = LogicalRouterPort("lrp-gw1", "neutron-r1", "fa:16:3e:00:00:09", ("203.0.113.5/24",))
    lr = LogicalRouter("neutron-r1", ("lrp-gw1",), external_ids={"neutron:gw_port_id": "gw1"})
    found = ovn_status.gateways(nb(routers={"neutron-r1": lr}, router_ports={"lrp-gw1": lrp}), sb())
    assert [(f.subject, f.verdict) for f in found] == [("lrp-gw1 (neutron-r1)", Verdict.FAIL)]
    assert "no Gateway_Chassis" in found[0].evidence
    gone = ovn_status.gateways(nb(routers={"neutron-r1": lr}), sb())
    assert gone[0].verdict == Verdict.FAIL and "not in NB" in gone[0].evidence
