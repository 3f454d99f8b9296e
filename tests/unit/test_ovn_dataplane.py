"""The OVN chain's data plane without root: Geneve decoding of frames captured on the ML2/OVN lab, which hops
the VM's own packet crosses on OVN, and the verdicts (a Geneve loss between two chassis names both encap
IPs; a probe whose captures could not run proves nothing)."""

from __future__ import annotations

import dataclasses
import ipaddress

from steth.controller.doctor.backend import Backend
from steth.controller.doctor.chains import chain_for
from steth.controller.doctor.diagnose import diagnose
from steth.controller.doctor.evidence import Evidence, Unprobed
from steth.controller.doctor.ovn_checks import OVN_DB, OvnDb
from steth.controller.doctor.ovn_dataplane import OVN_NODES, OVN_VM_PROBE, OvnProbe
from steth.controller.doctor.ovn_path import NodeView, OvnPath, plan, target_for
from steth.controller.doctor.ovs_evidence import OVS
from steth.controller.doctor.vm_path import ProbeId, classify, judge, tally
from steth.controller.doctor.vm_probe import VmProbe
from steth.host import probe_frames
from steth.openstack.adapter import NetworkInfo, SegmentInfo, SubnetInfo
from steth.openstack.ovn_model import GatewayChassis, LogicalRouter, LogicalRouterPort, Nat, PortBinding
from steth.wire import frames
from steth.wire.models import (
    Address,
    Interface,
    OvsBridgeInfo,
    OvsInterfaceInfo,
    OvsPortInfo,
    OvsShowResponse,
    Verdict,
)
from steth.wire.vmprobe import MARKER

from .test_doctor_control import PORT_ID, healthy
from .test_doctor_ovn import br_int, lab_db
from .test_ovn_analysis import nb, sb

CHAIN = chain_for(Backend.OVN)

# An ICMP echo request of vm2 (192.168.202.184) to 203.0.113.10 as it crossed compute-1's eth1 on the lab:
# Geneve from 10.231.99.11 to the gateway chassis 10.231.99.10, VNI 4, OVN's one 8-byte option
# (class 0x0102 type 0x80, ingress port 1 / egress port 2).
LAB_GENEVE = bytes.fromhex(
    "4ebce66f464cf29ccdf66c4e08004500008e0000400040115e7c0ae7630b0ae7630aaaac17c1007a64c6024065580000040001028001"
    "000400020edcf3572f3ffa163e1c9d9a08004500005457d440003f011c69c0a8cab8cb00710a0800c0b41de700019afa046b00000000"
    "b22a090000000000101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637"
)
OUTER = LAB_GENEVE[:58]  # outer Ethernet 14, IPv4 20, UDP 8, Geneve 8 + option 8


def wrap(inner: bytes, src: str = "10.0.99.11", dst: str = "10.0.99.10") -> bytes:
    """``inner`` in the lab frame's outer headers (lengths patched), between the unit tests' chassis'
    encap IPs (an uplink counts only tunnel packets from or to its own chassis)."""
    out = bytearray(OUTER + inner)
    out[16:18] = (len(out) - 14).to_bytes(2, "big")
    out[26:30], out[30:34] = ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed
    out[38:40] = (len(out) - 34).to_bytes(2, "big")
    return bytes(out)


def test_geneve_of_a_lab_frame():
    ip = frames.ipv4(frames.ethernet(LAB_GENEVE).payload)
    udp = frames.udp(ip.payload)
    assert (ip.src, ip.dst, udp.dport) == ("10.231.99.11", "10.231.99.10", frames.GENEVE_PORT)
    g = frames.geneve(udp.payload)
    assert g.vni == 4 and g.protocol == 0x6558 and g.overhead == 16
    assert g.options == bytes.fromhex("0102800100040002")  # class 0x0102, type 0x80, len 1: ports 4 -> 2
    inner = frames.ethernet(g.inner)
    iip = frames.ipv4(inner.payload)
    assert (iip.src, iip.dst, frames.icmp(iip.payload).type) == ("192.168.202.184", "203.0.113.10", 8)
    # the overhead on the underlay, over the inner IP packet: 142 - 84
    assert ip.total_len - iip.total_len == 58


def test_geneve_odd_input():
    assert frames.geneve(b"\x02\x40") is None  # short
    assert frames.geneve(b"\x42\x40\x65\x58" + b"\0" * 4) is None  # version 1
    assert frames.geneve(b"\x04\x40\x65\x58" + b"\0" * 8) is None  # opt_len 16 bytes, 4 there
    bare = frames.geneve(b"\x00\x00\x65\x58\x00\x00\x07\x00" + b"x" * 14)
    assert bare.options == b"" and bare.vni == 7 and bare.inner == b"x" * 14


def probe_frame(reply: bool = False) -> tuple[bytes, ProbeId]:
    pid = ProbeId("icmp", "0123456789abcdef")
    src, dst = ("203.0.113.10", "192.168.202.184") if reply else ("192.168.202.184", "203.0.113.10")
    f = probe_frames.icmp_echo("fa:16:3e:2a:74:bc", "fa:16:3e:ac:4e:a8", src, dst, 40000, 1, pid.marker)
    if reply:
        f = f[:34] + b"\x00" + f[35:]  # echo reply (checksum not read)
    return f, pid


def test_the_probe_is_found_inside_geneve():
    req, pid = probe_frame()
    assert classify(wrap(req), pid) == ("request", "192.168.202.184 -> 203.0.113.10")
    rep, _ = probe_frame(reply=True)
    assert classify(wrap(rep), pid)[0] == "reply"
    assert classify(LAB_GENEVE, pid) is None  # a ping of the lab's own, not the probe
    assert MARKER in req


# ---- hop selection ----------------------------------------------------------------------------------------

GW_LRP = "lrp-gw"
EXT_NET = NetworkInfo(
    "ext-net",
    "ext",
    "ACTIVE",
    1500,
    True,
    [SegmentInfo("flat", "extnet", None)],
    ["e1"],
    [SubnetInfo("e1", "ext", "198.51.100.0/24", 4, "198.51.100.1", False)],
)


def ovn_db(nat: tuple[Nat, ...] = (), gw_chassis: str = "network") -> OvnDb:
    base = lab_db()
    rp = f"lrp-{'r' * 36}"
    lr = LogicalRouter("neutron-router-id", (rp, GW_LRP), nat)
    lrps = {
        rp: LogicalRouterPort(rp, lr.name, "fa:16:3e:00:00:03", ("192.168.1.1/24",)),
        GW_LRP: LogicalRouterPort(
            GW_LRP, lr.name, "fa:16:3e:00:00:04", ("198.51.100.20/24",), (GatewayChassis("network", 1),)
        ),
    }
    bindings = {**base.sb.port_bindings, f"cr-{GW_LRP}": PortBinding(f"cr-{GW_LRP}", "chassisredirect", gw_chassis)}
    return OvnDb(
        nb(ports=base.nb.ports, dhcp_options=base.nb.dhcp_options, routers={lr.name: lr}, router_ports=lrps),
        sb(bindings=bindings),
        base.lock,
    )


def view(host: str, encap: str, *, ext: bool = False) -> NodeView:
    def bridge(name: str, nic: str) -> OvsBridgeInfo:
        return OvsBridgeInfo(name=name, ports=[OvsPortInfo(name=nic, interfaces=[OvsInterfaceInfo(name=nic)])])

    maps = "physnet1:br-tenant" + (",extnet:br-ex" if ext else "")
    bridges = [*br_int(), bridge("br-tenant", "eth1"), *([bridge("br-ex", "ext0")] if ext else [])]
    ovs = OvsShowResponse(
        ovs_available=True,
        verdict=Verdict.OK,
        bridges=bridges,
        system_ids={"system-id": host, "ovn-encap-ip": encap, "ovn-bridge-mappings": maps},
    )
    ifaces = [
        Interface(name="eth1", index=3, kind="veth", state="up", admin_up=True, mtu=1500),
        Interface(
            name="br-tenant",
            index=5,
            kind="tun",
            state="up",
            admin_up=True,
            mtu=1500,
            addresses=[Address(family=4, address=encap, prefixlen=24)],
        ),
    ]
    return NodeView(ovs, ifaces)


VIEWS = {"compute-1": view("compute-1", "10.0.99.11"), "network": view("network", "10.0.99.10", ext=True)}


def facts(ntype: str = "geneve", to: str | None = None, **over):
    from steth.controller.doctor.facts import Target as To

    f = healthy(to=To(to) if to else None, external_network=EXT_NET, external_subnet=EXT_NET.subnets[0], **over)
    seg = SegmentInfo(ntype, "physnet1" if ntype == "vlan" else None, 101 if ntype == "vlan" else 1001)
    f.network = dataclasses.replace(f.network, segments=[seg], mtu=1442 if ntype == "geneve" else 1500)
    return f


def names(path: OvnPath) -> list[str]:
    return [f"{h.node}/{h.name}:{h.interface}" for h in path.hops]


def test_default_target_crosses_to_the_gateway_chassis_over_geneve():
    db = ovn_db()
    f = facts()
    t = target_for(f, db.nb, db.sb)
    assert t.address == "198.51.100.1" and t.beyond_router and "gateway chassis network" in t.why
    path = plan(f, db.nb, db.sb, t, "tap1", VIEWS)
    assert names(path) == [
        "compute-1/vm-tap:tap1",
        "compute-1/compute-uplink:eth1",
        "network/gateway-uplink:eth1",
        "network/external:ext0",
    ]
    assert path.transport == "geneve" and path.encap == {"compute-1": "10.0.99.11", "network": "10.0.99.10"}
    assert not path.hops[0].request and path.hops[0].reply and not path.notes


def test_vlan_network_crosses_on_its_physnet_nic():
    db = ovn_db()
    path = plan(facts("vlan"), db.nb, db.sb, target_for(facts("vlan"), db.nb, db.sb), "tap1", VIEWS)
    assert path.transport == "vlan" and names(path)[1:3] == [
        "compute-1/compute-uplink:eth1",
        "network/gateway-uplink:eth1",
    ]


def test_the_routers_own_address_is_answered_on_the_vms_chassis():
    db = ovn_db()
    for to in ("192.168.1.1", "198.51.100.20"):
        f = facts(to=to)
        t = target_for(f, db.nb, db.sb)
        path = plan(f, db.nb, db.sb, t, "tap1", VIEWS)
        assert (path.transport, names(path)) == ("local", ["compute-1/vm-tap:tap1"]), to


def test_a_distributed_floating_ip_leaves_from_the_vms_chassis():
    fip = Nat("neutron-router-id", "dnat_and_snat", "198.51.100.24", "192.168.1.10", PORT_ID, "fa:16:3e:7c:48:28")
    db = ovn_db((fip,))
    views = {**VIEWS, "compute-1": view("compute-1", "10.0.99.11", ext=True)}
    f = facts(to="203.0.113.10")
    path = plan(f, db.nb, db.sb, target_for(f, db.nb, db.sb), "tap1", views)
    assert names(path) == ["compute-1/vm-tap:tap1", "compute-1/external:ext0"] and path.distributed_fip == fip
    centralised = dataclasses.replace(fip, external_mac="")
    db = ovn_db((centralised,))
    assert len(plan(f, db.nb, db.sb, target_for(f, db.nb, db.sb), "tap1", VIEWS).hops) == 4


def test_gateway_on_the_vms_own_chassis_goes_straight_out():
    db = ovn_db(gw_chassis="compute-1")
    views = {"compute-1": view("compute-1", "10.0.99.11", ext=True)}
    f = facts(to="203.0.113.10")
    path = plan(f, db.nb, db.sb, target_for(f, db.nb, db.sb), "tap1", views)
    assert names(path) == ["compute-1/vm-tap:tap1", "compute-1/external:ext0"]
    assert target_for(facts(), db.nb, db.sb).address == "192.168.1.1"  # no other chassis: the subnet's gateway


# ---- verdicts ---------------------------------------------------------------------------------------------


def probed(seen: dict[str, tuple[int, int]], errors: dict[str, str] | None = None) -> OvnProbe:
    """The default geneve path with, per hop name, (requests, replies) seen."""
    db = ovn_db()
    f = facts()
    t = target_for(f, db.nb, db.sb)
    path = plan(f, db.nb, db.sb, t, "tap1", VIEWS)
    req, pid = probe_frame()
    rep, _ = probe_frame(reply=True)
    for h in path.hops:
        n_req, n_rep = seen.get(h.name, (0, 0))
        tunnel = h.name.endswith("uplink")
        tally(h, [(1, wrap(req) if tunnel else req)] * n_req + [(1, wrap(rep) if tunnel else rep)] * n_rep, pid)
        h.error = (errors or {}).get(h.name)
    return OvnProbe(path, VmProbe(t, path.hops, 2, "", judge(path.hops, 2, t.address), 0.9))


def doctor(probe: OvnProbe | Unprobed):
    ev = Evidence()
    db = ovn_db()
    ev[OVN_DB] = db
    ev[OVS] = {"compute-1": OvsShowResponse(ovs_available=True, verdict=Verdict.OK, bridges=br_int("10.0.99.10"))}
    ev[OVN_NODES] = VIEWS
    ev[OVN_VM_PROBE] = probe
    rows = CHAIN.judge(facts(router_port=healthy().router_port), ev)
    return rows, diagnose(rows, CHAIN.proves)


ALL = {"vm-tap": (0, 2), "compute-uplink": (2, 2), "gateway-uplink": (2, 2), "external": (2, 2)}


def test_healthy_probe_proves_the_path():
    rows, d = doctor(probed(ALL))
    own = next(r for r in rows if r.check == "VM's own packet (OVN)")
    assert own.verdict == Verdict.OK and own.proof and "compute-1/compute-uplink:RQ" in own.evidence
    assert d.root_cause is None and not d.not_proven


def test_geneve_lost_between_the_chassis_is_the_root_cause_naming_both_encap_ips():
    rows, d = doctor(probed({"compute-uplink": (2, 0)}))
    root = d.root_cause
    assert root is not None and root.check == "VM's own packet (OVN)" and root.catalogue == 5
    assert root.cause == "Geneve (UDP 6081) lost between chassis compute-1 (10.0.99.11) and network (10.0.99.10)"
    rows, d = doctor(probed({**ALL, "compute-uplink": (2, 0), "vm-tap": (0, 0)}))  # the reply's way back
    assert (
        d.root_cause.cause == "Geneve (UDP 6081) lost between chassis network (10.0.99.10) and compute-1 (10.0.99.11)"
    )


def test_other_losses_are_named_by_where():
    causes = {
        "VM's packet does not leave its chassis": {},
        "gateway chassis does not forward to the external network": {
            "compute-uplink": (2, 0),
            "gateway-uplink": (2, 0),
        },
        "destination does not answer the VM": {"compute-uplink": (2, 0), "gateway-uplink": (2, 0), "external": (2, 0)},
        "gateway chassis does not return the reply (NAT)": {
            "compute-uplink": (2, 0),
            "gateway-uplink": (2, 0),
            "external": (2, 2),
        },
    }
    for cause, seen in causes.items():
        assert doctor(probed(seen))[1].root_cause.cause == cause, cause


def test_without_captures_it_is_not_proven_and_never_healthy():
    _rows, d = doctor(probed(ALL, {"gateway-uplink": "capture could not start"}))
    assert not d.healthy and d.root_cause is None and d.not_proven
    _rows, d = doctor(Unprobed("agent of compute-1 unreachable"))
    assert not d.healthy and d.root_cause is None
    _rows, d = doctor(None)
    assert not d.healthy and d.not_proven


def test_underlay_mtu_below_network_plus_geneve_is_named():
    small = view("compute-1", "10.0.99.11")
    small.interfaces[0] = small.interfaces[0].model_copy(update={"mtu": 1400})
    ev = Evidence()
    ev[OVN_DB] = ovn_db()
    ev[OVN_NODES] = {**VIEWS, "compute-1": small}
    row = next(r for r in CHAIN.judge(facts(), ev) if r.check == "MTU (OVN)")
    assert row.verdict == Verdict.FAIL and row.catalogue == 2 and "1442 + geneve overhead 58 = 1500" in row.evidence
    assert "compute-1 eth1 MTU 1400" in row.evidence


def test_missing_bridge_mapping_is_named():
    bare = view("compute-1", "10.0.99.11")
    bare.ovs.system_ids["ovn-bridge-mappings"] = ""
    ev = Evidence()
    ev[OVN_DB] = ovn_db()
    ev[OVN_NODES] = {**VIEWS, "compute-1": bare}
    row = next(r for r in CHAIN.judge(facts("vlan"), ev) if r.check == "OVN bridge mappings")
    assert row.verdict == Verdict.FAIL and row.catalogue == 4 and "no bridge for physnet physnet1" in row.evidence
