"""`ovn status` and `ovn sync-check` analysis on snapshots shaped like the ML2/OVN lab's (no root, no OVN)."""

from __future__ import annotations

import dataclasses

from steth.controller.checks import ovn_status, ovn_sync, ovn_sync_l3
from steth.controller.config import parse_ovn
from steth.errors import ConfigError
from steth.openstack.ovn_model import (
    Chassis,
    ChassisPrivate,
    ClusterMember,
    DhcpOptions,
    Encap,
    GatewayChassis,
    LogicalRouter,
    LogicalRouterPort,
    LogicalSwitchPort,
    Nat,
    NbGlobal,
    NbSnapshot,
    PortBinding,
    PortGroup,
    SbSnapshot,
)
from steth.openstack.ovn_northd import NorthdLock
from steth.wire.models import Verdict

NET = "6d78c6c6-5073-4a06-818a-35ef787339f7"
PORT = "08a021da-796f-47d9-a05f-d809f54917eb"
SUBNET = "38328951-5f64-4c56-b0cf-7d0f16d143c9"
ROUTER = "b04a2587-0016-43b6-914b-26d5ec005764"
GW_PORT = "cf31f248-6454-4728-a4b6-ab0c90cf1ca1"


def members(*states: tuple[bool, bool, bool, int]) -> list[ClusterMember]:
    return [
        ClusterMember(
            f"tcp:127.0.0.1:{6641 + i}",
            reachable=r,
            connected=c,
            leader=lead,
            index=idx,
            cid="c1",
            sid=f"s{i}",
            model="clustered",
            error="" if r else "Connection refused",
        )
        for i, (r, c, lead, idx) in enumerate(states)
    ]


def test_cluster_healthy_and_lagging_member():
    rows = ovn_status.cluster("nb", members((True, True, True, 64), (True, True, False, 64), (True, True, False, 64)))
    assert all(r.verdict == Verdict.OK for r in rows)
    assert "3 of 3 members connected (quorum 2)" in rows[-1].evidence
    rows = ovn_status.cluster("nb", members((True, True, True, 500), (True, True, False, 10), (True, True, False, 500)))
    assert [r.verdict for r in rows[:3]] == [Verdict.OK, Verdict.FAIL, Verdict.OK]
    assert "lag 490" in rows[1].evidence


def test_cluster_without_quorum():
    rows = ovn_status.cluster(
        "sb", members((True, False, False, 83), (False, False, False, 0), (False, False, False, 0))
    )
    assert rows[-1].verdict == Verdict.FAIL and "0 leaders among 3 members (1 reachable)" in rows[-1].evidence
    assert "NOT connected" in rows[0].evidence and "unreachable" in rows[1].evidence


def chassis(name: str, ip: str, gw: bool = False, host: str | None = None) -> Chassis:
    other = {"ovn-cms-options": "enable-chassis-as-gw" if gw else "", "ovn-bridge-mappings": "physnet1:br-tenant"}
    return Chassis(name, f"u-{name}", host or name, (Encap("geneve", ip, name),), other)


def sb(nb_cfg=5, chassis_list=None, private=None, bindings=None) -> SbSnapshot:
    chassis_list = chassis_list or [chassis("network", "10.0.99.10", gw=True), chassis("compute-1", "10.0.99.11")]
    priv = private if private is not None else {c.name: ChassisPrivate(c.name, c.name, nb_cfg) for c in chassis_list}
    return SbSnapshot(nb_cfg, {c.name: c for c in chassis_list}, priv, bindings or {})


def nb(nb_cfg=5, sb_cfg=5, **kw) -> NbSnapshot:
    return NbSnapshot(
        NbGlobal(nb_cfg=nb_cfg, sb_cfg=sb_cfg, hv_cfg=nb_cfg),
        kw.get("switches", {}),
        kw.get("ports", {}),
        kw.get("routers", {}),
        kw.get("router_ports", {}),
        kw.get("port_groups", {}),
        kw.get("dhcp_options", {}),
    )


def test_northd_follows_or_not():
    held = NorthdLock("tcp:10.0.0.1:6642", held=True)
    assert ovn_status.northd((nb(), sb()), (nb(), sb()), 4, held).verdict == Verdict.OK
    stuck = ovn_status.northd((nb(6, 5), sb(5)), (nb(6, 5), sb(5)), 4, held)
    assert stuck.verdict == Verdict.FAIL and "NB_Global.nb_cfg 6, SB_Global.nb_cfg 5" in stuck.evidence
    # the lock granted to steth: no northd, even before any drift shows
    free = ovn_status.northd((nb(), sb()), (nb(), sb()), 4, NorthdLock("tcp:10.0.0.1:6642", held=False))
    assert free.verdict == Verdict.FAIL and "granted steth the lock 'ovn_northd'" in free.evidence
    # the lock not known: only a propagation seen during the check proves northd; nothing moved is "not proven"
    unknown = NorthdLock("", None, "no single SB leader to ask (2 found)")
    assert ovn_status.northd((nb(6, 5), sb(5)), (nb(6, 6), sb(6)), 4, unknown).verdict == Verdict.OK
    idle = ovn_status.northd((nb(), sb()), (nb(), sb()), 4, unknown)
    assert idle.verdict == Verdict.WARN and idle.evidence.startswith("not proven") and "2 found" in idle.evidence


def test_chassis_dead_duplicate_and_shared_encap():
    s = sb(
        nb_cfg=7,
        chassis_list=[
            chassis("network", "10.0.99.10", gw=True),
            chassis("compute-1", "10.0.99.11"),
            chassis("compute-1-new", "10.0.99.11", host="compute-1"),
        ],
        private={
            "network": ChassisPrivate("network", "network", 7),
            "compute-1": ChassisPrivate("compute-1", "compute-1", 3),
        },
    )
    rows = {r.subject: r for r in ovn_status.chassis(nb(7, 7), s)}
    assert rows["network"].verdict == Verdict.OK and "gateway" in rows["network"].evidence
    assert "behind SB_Global.nb_cfg 7: not alive" in rows["compute-1"].evidence
    assert "also chassis compute-1-new" in rows["compute-1"].evidence
    assert "no Chassis_Private row" in rows["compute-1-new"].evidence
    assert "encap IP 10.0.99.11 also used by compute-1" in rows["compute-1-new"].evidence


def test_gateway_port_bound_to_dead_or_missing_chassis():
    lrp = LogicalRouterPort(f"lrp-{GW_PORT}", f"neutron-{ROUTER}", gateway_chassis=(GatewayChassis("network", 1),))
    bound = {f"cr-lrp-{GW_PORT}": PortBinding(f"cr-lrp-{GW_PORT}", "chassisredirect", "network", True)}
    ok = ovn_status.gateways(nb(router_ports={lrp.name: lrp}), sb(bindings=bound))
    assert ok[0].verdict == Verdict.OK and "bound to network (alive)" in ok[0].evidence
    dead = sb(bindings=bound, private={"network": ChassisPrivate("network", "network", 1)})
    assert "not alive" in ovn_status.gateways(nb(router_ports={lrp.name: lrp}), dead)[0].evidence
    gone = sb(chassis_list=[chassis("compute-1", "10.0.99.11")], bindings={})
    assert (
        "none of its gateway chassis exist" in ovn_status.gateways(nb(router_ports={lrp.name: lrp}), gone)[0].evidence
    )


def neutron_port(status="ACTIVE") -> dict:
    return {
        "id": PORT,
        "network_id": NET,
        "mac_address": "fa:16:3e:ce:87:c7",
        "device_owner": "compute:nova",
        "device_id": "d",
        "fixed_ips": [{"ip_address": "192.168.202.33", "subnet_id": SUBNET}],
        "binding_host_id": "compute-1",
        "status": status,
        "port_security_enabled": True,
        "security_group_ids": ["sg-1"],
    }


def lsp(up=True) -> LogicalSwitchPort:
    return LogicalSwitchPort(
        PORT,
        f"neutron-{NET}",
        "",
        ("fa:16:3e:ce:87:c7 192.168.202.33",),
        ("fa:16:3e:ce:87:c7 192.168.202.33",),
        up,
        True,
        {},
        {"neutron:network_name": f"neutron-{NET}"},
        "dhcp-1",
    )


def test_port_chain_in_sync_and_each_drift():
    view = ovn_sync.NeutronView(ports=[neutron_port()])
    binding = {PORT: PortBinding(PORT, "", "compute-1", True, "compute-1", f"neutron-{NET}")}
    assert ovn_sync.ports(view, nb(ports={PORT: lsp()}), sb(bindings=binding), {}) == []
    missing = ovn_sync.ports(view, nb(), sb(bindings=binding), {})
    assert [(d.id, d.check) for d in missing] == [(PORT, "nb-lsp")]
    elsewhere = {PORT: PortBinding(PORT, "", "network", True, "compute-1", f"neutron-{NET}")}
    drift = ovn_sync.ports(view, nb(ports={PORT: lsp()}), sb(bindings=elsewhere), {})
    assert [d.check for d in drift] == ["sb-chassis"] and "Port_Binding chassis network" in drift[0].ovn
    down = ovn_sync.ports(view, nb(ports={PORT: lsp(up=False)}), sb(bindings=binding), {})
    assert [d.check for d in down] == ["status"]
    node = ovn_sync.NodeOvs(show=None, error="agent unreachable")
    unread = ovn_sync.ports(view, nb(ports={PORT: lsp()}), sb(bindings=binding), {"compute-1": node})
    assert unread[0].verdict == Verdict.ERROR and "not readable" in unread[0].ovn


def test_orphan_lsp_is_named():
    drift = ovn_sync.ports(ovn_sync.NeutronView(), nb(ports={PORT: lsp()}), sb(), {})
    assert [(d.kind, d.check) for d in drift] == [("lsp", "neutron-port")]


def test_subnet_without_dhcp_options_and_router_nat_drift():
    subnet = {
        "id": SUBNET,
        "network_id": NET,
        "cidr": "192.168.202.0/24",
        "ip_version": 4,
        "enable_dhcp": True,
        "gateway_ip": "192.168.202.1",
    }
    view = ovn_sync.NeutronView(subnets=[subnet])
    assert [d.check for d in ovn_sync.subnets(view, nb())] == ["nb-dhcp-options"]
    opts = DhcpOptions("dhcp-1", "192.168.202.0/24", {"router": "192.168.202.1"}, {"subnet_id": SUBNET})
    assert ovn_sync.subnets(view, nb(dhcp_options={"dhcp-1": opts})) == []
    fip = {
        "id": "f1",
        "floating_ip_address": "198.51.100.60",
        "fixed_ip_address": "192.168.202.33",
        "port_id": PORT,
        "router_id": ROUTER,
    }
    lr = LogicalRouter(
        f"neutron-{ROUTER}", nat=(Nat(f"neutron-{ROUTER}", "snat", "198.51.100.88", "192.168.202.0/24"),)
    )
    view = ovn_sync.NeutronView(routers=[{"id": ROUTER, "name": "r", "external_gateway_info": {}}], floating_ips=[fip])
    drift = ovn_sync_l3.routers(view, nb(routers={lr.name: lr}), sb())
    assert [(d.kind, d.check) for d in drift] == [("floatingip", "nb-nat")]


def test_security_group_rules_without_acls():
    view = ovn_sync.NeutronView(
        ports=[neutron_port()], security_groups=[{"id": "sg-1", "name": "vm", "security_group_rules": [{"id": "r1"}]}]
    )
    pg = PortGroup("pg_sg_1", (PORT,), ())
    drift = ovn_sync_l3.security_groups(view, nb(ports={PORT: lsp()}, port_groups={pg.name: pg}))
    assert [(d.check, d.neutron) for d in drift] == [("acls", "rules r1")]


def test_ovn_config_section():
    assert parse_ovn("x", {}) is None
    c = parse_ovn("x", {"nb_connection": "tcp:10.0.0.5:6641, tcp:10.0.0.6:6641", "sb_connection": "unix:/run/sb.sock"})
    assert c.remotes("nb") == ["tcp:10.0.0.5:6641", "tcp:10.0.0.6:6641"] and c.remotes("sb") == ["unix:/run/sb.sock"]
    for bad in (
        {"nb_connection": "tcp:a:1"},
        {"nb_connection": "http://x", "sb_connection": "tcp:a:1"},
        {"nb_connection": "tcp:a:1", "sb_connection": "tcp:a:2", "ovn_nb_connection": "x"},
    ):
        try:
            parse_ovn("x", bad)
        except ConfigError:
            continue
        raise AssertionError(f"{bad} accepted")


def test_chassis_ovs_mappings_and_tunnels():
    from steth.wire.models import OvsBridgeInfo, OvsInterfaceInfo, OvsPortInfo, OvsShowResponse

    def port(name, type_="", **opts):
        return OvsPortInfo(name=name, interfaces=[OvsInterfaceInfo(name=name, type=type_, ofport=1, options=opts)])

    tenant = OvsBridgeInfo(name="br-tenant", ports=[port("br-tenant", "internal"), port("eth1")])
    tunnel = port("ovn-networ-0", "geneve", remote_ip="10.0.99.10")
    healthy = OvsShowResponse(
        ovs_available=True, verdict=Verdict.OK, bridges=[tenant, OvsBridgeInfo(name="br-int", ports=[tunnel])]
    )
    s = sb()
    rows = ovn_status.chassis_ovs(s, {"compute-1": (healthy, "")})
    assert rows[0].verdict == Verdict.OK and "physnet1:br-tenant (eth1)" in rows[0].evidence
    assert "tunnels to 1 of 1 chassis" in rows[0].evidence
    bare = OvsShowResponse(ovs_available=True, verdict=Verdict.OK, bridges=[OvsBridgeInfo(name="br-int")])
    rows = ovn_status.chassis_ovs(s, {"compute-1": (bare, ""), "network": (None, "agent unreachable")})
    assert rows[0].verdict == Verdict.FAIL and "bridge br-tenant of physnet1 does not exist" in rows[0].evidence
    assert "no tunnel port on its OVS to 10.0.99.10 (network)" in rows[0].evidence
    assert rows[1].verdict == Verdict.ERROR and "agent unreachable" in rows[1].evidence


def test_a_chassis_whose_node_has_another_system_id_is_stale():
    from steth.wire.models import OvsShowResponse

    shown = OvsShowResponse(ovs_available=True, verdict=Verdict.OK, system_ids={"system-id": "compute-1-new"})
    found = ovn_status.chassis_ovs(sb(), {"compute-1": (shown, "")})
    assert (
        found[0].verdict == Verdict.FAIL and "system-id compute-1-new: chassis compute-1 is stale" in found[0].evidence
    )


def test_an_unbound_port_is_looked_for_on_its_host_s_ovs():
    from steth.openstack.ovn_model import LogicalSwitchPort, PortBinding
    from steth.wire.models import OvsShowResponse

    port = {"id": "p1", "network_id": "n1", "mac_address": "fa:16:3e:00:00:01", "device_owner": "compute:nova"}
    port |= {"fixed_ips": [{"ip_address": "10.0.0.5"}], "binding_host_id": "compute-1", "status": "DOWN"}
    lsp = LogicalSwitchPort("p1", "neutron-n1", "", ("fa:16:3e:00:00:01 10.0.0.5",), ("fa:16:3e:00:00:01 10.0.0.5",))
    lsp_down = dataclasses.replace(lsp, up=False)
    binding = PortBinding("p1", "", "", False, "compute-1")
    empty = ovn_sync.NodeOvs(show=OvsShowResponse(ovs_available=True, verdict=Verdict.OK))
    drifts = ovn_sync.ports(
        ovn_sync.NeutronView(ports=[port]),
        nb(ports={"p1": lsp_down}),
        sb(bindings={"p1": binding}),
        {"compute-1": empty},
    )
    assert [d.check for d in drifts] == ["sb-chassis", "chassis-iface"], drifts
    assert "no OVS Interface with iface-id p1 on compute-1" in drifts[1].ovn
