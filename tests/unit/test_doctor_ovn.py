"""Doctor's ML2/OVN chain on recorded-shape NB/SB snapshots: healthy, then each OVN break as the root cause."""

from __future__ import annotations

import dataclasses
import time

from steth.controller.doctor.backend import Backend
from steth.controller.doctor.chains import chain_for
from steth.controller.doctor.diagnose import diagnose
from steth.controller.doctor.evidence import Evidence, Unprobed
from steth.controller.doctor.ovn_checks import OVN_DB, OvnDb
from steth.controller.doctor.ovs_evidence import OVS
from steth.openstack.ovn_model import ChassisPrivate, DhcpOptions, LogicalSwitchPort, NbGlobal, PortBinding
from steth.openstack.ovn_northd import NorthdLock
from steth.wire.models import OvsBridgeInfo, OvsInterfaceInfo, OvsPortInfo, OvsShowResponse, Verdict

from .test_doctor_control import NET_ID, PORT_ID, healthy
from .test_ovn_analysis import chassis, nb, sb

CHAIN = chain_for(Backend.OVN)
HELD = NorthdLock("tcp:10.0.0.1:6642", held=True)  # the SB leader refused steth the lock: a northd is active


def lab_db(**changes) -> OvnDb:
    lsp = LogicalSwitchPort(
        PORT_ID, f"neutron-{NET_ID}", "", ("fa:16:3e:00:00:01 192.168.1.10",), (), True, True, {}, {}, "d1"
    )
    opts = DhcpOptions("d1", "192.168.1.0/24", {"router": "192.168.1.1"}, {"subnet_id": "s1"})
    binding = PortBinding(PORT_ID, "", "compute-1", True, "compute-1", f"neutron-{NET_ID}")
    db = OvnDb(nb(ports={PORT_ID: lsp}, dhcp_options={"d1": opts}), sb(bindings={PORT_ID: binding}), HELD)
    return dataclasses.replace(db, **changes)


def br_int(*remotes: str) -> list[OvsBridgeInfo]:
    """br-int with a Geneve tunnel port to each remote IP (as ovn-controller makes them)."""
    tunnels = [
        OvsPortInfo(
            name=f"ovn-t{i}",
            interfaces=[OvsInterfaceInfo(name=f"ovn-t{i}", type="geneve", ofport=i + 5, options={"remote_ip": ip})],
        )
        for i, ip in enumerate(remotes)
    ]
    return [OvsBridgeInfo(name="br-int", ports=tunnels)]


def dataplane(ev: Evidence) -> None:
    """A healthy data plane: compute-1's chassis as the lab's, DHCP answered, the VM's own packet proven."""
    from steth.controller.checks.dhcp import Analysis
    from steth.controller.doctor.ovn_dataplane import OVN_DHCP, OVN_NODES, OVN_VM_PROBE

    from .test_ovn_dataplane import VIEWS, probed

    ev[OVN_NODES] = VIEWS
    ev[OVN_DHCP] = Analysis(Verdict.OK, "its OFFER reached tap1", [], [])
    ev[OVN_VM_PROBE] = probed(
        {"vm-tap": (0, 2), "compute-uplink": (2, 2), "gateway-uplink": (2, 2), "external": (2, 2)}
    )


def rows(db: OvnDb | Unprobed):
    ev = Evidence()
    ev[OVN_DB] = db
    ev[OVS] = {"compute-1": OvsShowResponse(ovs_available=True, verdict=Verdict.OK, bridges=br_int("10.0.99.10"))}
    dataplane(ev)
    f = healthy(router=None, router_port=None, to=None)
    return CHAIN.judge(f, ev)


def test_healthy_ovn_port_passes():
    got = rows(lab_db())
    assert [(r.check, r.verdict.value) for r in got if r.verdict.value != "ok"] == []
    assert {"ovn-northd", "OVN logical switch port", "OVN port binding", "OVN DHCP options"} <= {r.check for r in got}


def test_each_ovn_break_is_the_root_cause():
    base = lab_db()
    cases = {
        "port missing in OVN (Neutron/NB drift)": dataclasses.replace(base, nb=nb(dhcp_options=base.nb.dhcp_options)),
        "ovn-controller down": dataclasses.replace(
            base, sb=sb(bindings=base.sb.port_bindings, private={"compute-1": ChassisPrivate("compute-1", "", 1)})
        ),
        "Port_Binding without chassis (no OVS interface with this iface-id there)": dataclasses.replace(
            base, sb=sb(bindings={PORT_ID: PortBinding(PORT_ID, "", "", False, "compute-1")})
        ),
        "no DHCP_Options for the subnet": dataclasses.replace(base, nb=nb(ports=base.nb.ports)),
        "ovn-northd not running (NB/SB drift)": dataclasses.replace(
            base, nb=dataclasses.replace(base.nb, nb_global=NbGlobal(nb_cfg=9, sb_cfg=5))
        ),
        "chassis missing (ovn-controller never registered)": dataclasses.replace(
            base, sb=sb(chassis_list=[chassis("network", "10.0.99.10", gw=True)], bindings=base.sb.port_bindings)
        ),
    }
    for cause, db in cases.items():
        root = diagnose(rows(db)).root_cause
        assert root is not None and root.cause == cause, (cause, root)


def test_northd_is_judged_by_its_lock_before_drift():
    """No drift yet (nothing changed in NB since northd stopped): the lock granted to steth names it; a lock
    that could not be asked leaves northd not proven, so the diagnosis is not "healthy"."""
    free = diagnose(rows(lab_db(lock=NorthdLock("tcp:10.0.0.1:6642", held=False))))
    assert free.root_cause is not None and free.root_cause.cause == "ovn-northd not running (NB/SB drift)"
    assert "granted steth the lock 'ovn_northd'" in free.root_cause.evidence
    unknown = diagnose(rows(lab_db(lock=NorthdLock("", None, "no single SB leader to ask (0 found)"))))
    assert unknown.root_cause is None and not unknown.healthy
    assert any("ovn-northd: not proven" in x and "no single SB leader" in x for x in unknown.not_proven)


def test_unreadable_ovn_is_an_error_not_a_cause():
    got = rows(Unprobed("no OVN_Southbound member answered"))
    ovn_rows = [r for r in got if r.check.startswith(("ovn", "OVN"))]
    assert ovn_rows and all(r.verdict.value == "error" for r in ovn_rows)
    assert diagnose(got).root_cause is None


def ovs_of(system_id: str, encap_ip: str = "10.0.99.11") -> OvsShowResponse:
    return OvsShowResponse(
        ovs_available=True,
        verdict=Verdict.OK,
        system_ids={"system-id": system_id, "ovn-encap-ip": encap_ip},
        bridges=br_int("10.0.99.10"),
    )


def rows_with_ovs(db: OvnDb, shown: OvsShowResponse):
    ev = Evidence()
    ev[OVN_DB] = db
    ev[OVS] = {"compute-1": shown}
    return CHAIN.judge(healthy(router=None, router_port=None, to=None), ev)


def test_a_changed_system_id_names_the_stale_chassis():
    root = diagnose(rows_with_ovs(lab_db(), ovs_of("compute-1-new"))).root_cause
    assert root is not None and root.cause == "stale chassis (the node's system-id changed)"
    assert "system-id compute-1-new" in root.evidence and "Encap still holds 10.0.99.11" in root.evidence
    ok = rows_with_ovs(lab_db(), ovs_of("compute-1"))
    alive = next(r for r in ok if r.check == "OVN chassis of the host")
    assert alive.verdict.value == "ok" and "system-id compute-1 on its OVS" in alive.evidence


def test_a_lagging_chassis_gets_a_grace_after_a_fresh_bump():
    lag = {"compute-1": ChassisPrivate("compute-1", "", 4), "network": ChassisPrivate("network", "", 5)}
    fresh = NbGlobal(nb_cfg=5, sb_cfg=5, nb_cfg_timestamp=int(time.time() * 1000))
    db = lab_db()
    db = dataclasses.replace(
        db, nb=dataclasses.replace(db.nb, nb_global=fresh), sb=sb(bindings=db.sb.port_bindings, private=lag)
    )
    alive = next(r for r in rows(db) if r.check == "OVN chassis of the host")
    assert alive.verdict.value == "ok" and "not yet acked" in alive.evidence


def test_a_missing_tunnel_port_is_named():
    ev = Evidence()
    ev[OVN_DB] = lab_db()
    ev[OVS] = {"compute-1": OvsShowResponse(ovs_available=True, verdict=Verdict.OK, bridges=br_int())}
    root = diagnose(CHAIN.judge(healthy(router=None, router_port=None, to=None), ev)).root_cause
    assert root is not None and root.cause == "tunnel endpoint missing" and "10.0.99.10 (network)" in root.evidence


def test_a_tunnel_whose_bfd_is_down_is_named_and_one_up_passes():
    # ovn-controller enables BFD toward gateway chassis: a tunnel that drops Geneve shows state down there
    def shown(state: str) -> OvsShowResponse:
        bridges = br_int("10.0.99.10")
        iface = bridges[0].ports[0].interfaces[0]
        iface.bfd = {"enable": "true"}
        iface.bfd_status = {"state": state, "diagnostic": "Control Detection Time Expired" if state != "up" else ""}
        return OvsShowResponse(ovs_available=True, verdict=Verdict.OK, bridges=bridges)

    for state, verdict in (("down", "fail"), ("up", "ok")):
        ev = Evidence()
        ev[OVN_DB] = lab_db()
        ev[OVS] = {"compute-1": shown(state)}
        judged = CHAIN.judge(healthy(router=None, router_port=None, to=None), ev)
        row = next(r for r in judged if r.check == "OVN tunnels of the host")
        assert row.verdict.value == verdict, row
        if verdict == "fail":
            assert row.cause.startswith("tunnel BFD down") and row.catalogue == 5
            assert "network (10.0.99.10): BFD down, Control Detection Time Expired" in row.evidence
        else:
            assert "BFD up on 1" in row.evidence
