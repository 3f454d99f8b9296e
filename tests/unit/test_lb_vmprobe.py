"""The VM's own packet on ML2/Linux bridge, on data recorded from the Linux bridge lab: the hop plan (the tap,
vxlan-<vni>, both uplinks, the router's qr-/qg- and the external interface; qdhcp's ns-; flat and VLAN), the
injection into the VM's bridge, VXLAN on the kernel's port 8472 decoded, and the verdicts with Linux bridge
next steps; the chain is never healthy without the proof."""

from __future__ import annotations

import copy
import struct

import pytest
from openstack.network.v2.network import Network

from steth.controller.doctor.backend import Backend
from steth.controller.doctor.chains import chain_for
from steth.controller.doctor.diagnose import diagnose
from steth.controller.doctor.evidence import Evidence
from steth.controller.doctor.facts import Facts
from steth.controller.doctor.facts import Target as ToTarget
from steth.controller.doctor.lb_probe import VXLAN_PORTS, carriers, external_nic, plan
from steth.controller.doctor.model import CheckResult
from steth.controller.doctor.vm_checks import VmOwnPacket
from steth.controller.doctor.vm_path import PathHop, ProbeId, classify, judge, tally
from steth.controller.doctor.vm_probe import ROUTER_FORWARDING, VM_PROBE, VmProbe, bpf, target_of
from steth.host import probe_frames
from steth.openstack.adapter import SegmentInfo
from steth.openstack.l3 import RouterInfo
from steth.openstack.records import network_from_api
from steth.wire.verdict import Verdict
from steth.wire.vmprobe import MARKER

from .test_linuxbridge_checks import _json, facts, node

TOKEN = "0123456789abcdef"
ROUTER_IF = "c20024b8-3b3d-4f38-b37e-1c066ee7a5f6"  # the router's port on lbx-vxlan1001
GATEWAY = "fe395751-7ec3-41e8-a5cc-0759bd474d44"


def routed(to: str | None = "203.0.113.10") -> Facts:
    """lbx-vm1 (compute-1, VXLAN 1001) behind the lab's router, its gateway on the flat external network."""
    f = facts()
    ext = next(n for n in _json("neutron-networks.json")["networks"] if n["name"] == "lbx-ext")
    f.external_network = network_from_api(Network.existing(**ext))
    f.router = RouterInfo(
        "65d628d3-f356-4a7a-900d-f7c67a4282ab", "r", "ACTIVE", True, ext["id"], ["198.51.100.14"], True
    )
    assert f.router_port is not None and f.router_port.id == ROUTER_IF
    f.gateway_port = copy.copy(f.router_port)
    f.gateway_port.id = GATEWAY
    f.to = ToTarget.parse(to) if to else None
    return f


def shown() -> dict:
    return {"compute-1": node("compute1"), "network": node("network")}


def test_the_hops_from_the_tap_through_vxlan_and_the_router_to_the_external_interface():
    f = routed()
    t = target_of(f)
    assert t is not None and t.beyond_router and t.next_hop_mac == f.router_port.mac_address
    hops, entry = plan(f, shown(), t)
    assert [(h.node, h.name, h.interface) for h in hops] == [
        ("compute-1", "vm-tap", "tapbd9a75dd-94"),
        ("compute-1", "segment-device", "vxlan-1001"),
        ("compute-1", "compute-uplink", "eth1"),
        ("network", "network-uplink", "eth1"),
        ("network", "qr", "qr-c20024b8-3b"),
        ("network", "qg", "qg-fe395751-7e"),
        ("network", "external", "ext0"),  # interface_mappings extnet: ext0 on the network node
    ]
    assert hops[4].netns == hops[5].netns == "qrouter-65d628d3-f356-4a7a-900d-f7c67a4282ab"
    tap = hops[0]
    assert not tap.request and tap.reply  # the echo reply is expected back on the VM's tap
    # injected raw into the VM's bridge: the bridge forwards it as if the tap had
    assert entry == {"interface": "brqafc25562-5b", "bridge": None, "ovs_port": None}


def test_a_tcp_probe_does_not_expect_the_answer_on_the_tap():
    f = routed("203.0.113.10:80")
    hops, _ = plan(f, shown(), target_of(f))
    assert not hops[0].reply and not hops[0].request  # the port's stateful chain never saw the injected SYN
    assert all(h.reply for h in hops[1:])


def test_the_gateway_stops_at_qr_and_the_dhcp_server_at_ns_in_qdhcp():
    f = routed(None)
    hops, _ = plan(f, shown(), target_of(f))
    assert [h.name for h in hops][-1] == "qr" and "qg" not in [h.name for h in hops]
    f.router = f.router_port = None
    t = target_of(f)
    assert t is not None and t.why == "the DHCP server" and not t.via_router
    hops, _ = plan(f, shown(), t)
    last = hops[-1]
    assert (last.name, last.interface, last.netns) == (
        "qdhcp",
        "ns-4b61b6f0-42",
        "qdhcp-afc25562-5be5-4ae4-a97c-334c9b6ff1c0",
    )


def test_flat_and_vlan_networks_ride_the_physnet_interface():
    f = routed()
    f.network = copy.deepcopy(f.network)
    f.network.segments = [SegmentInfo("flat", "physnet1", None)]
    names = [(h.name, h.interface) for h in plan(f, shown(), target_of(f))[0]]
    assert ("compute-uplink", "eth1") in names and "segment-device" not in dict(names)  # one device: eth1
    f.network.segments = [SegmentInfo("vlan", "physnet1", 101)]
    names = [(h.name, h.interface) for h in plan(f, shown(), target_of(f))[0]]
    assert ("segment-device", "eth1.101") in names and ("compute-uplink", "eth1") in names
    f.external_network.segments = [SegmentInfo("vlan", "extnet", 7)]
    assert external_nic(f, "network") == "ext0.7"
    assert external_nic(f, "compute-1") is None  # no extnet in compute-1's mappings


def vxlan8472(inner: bytes) -> bytes:
    udp = struct.pack("!HHHH", 50000, 8472, 8 + 8 + len(inner), 0) + b"\x08\0\0\0\0\x03\xe9\0" + inner
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, bytes([10, 0, 0, 11]), bytes(4))
    return b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip + udp


def test_the_kernels_vxlan_port_is_decoded_and_captured():
    echo = probe_frames.icmp_echo(
        "fa:16:3e:72:db:5f", "fa:16:3e:ed:6a:fe", "192.168.201.55", "203.0.113.10", 7, 1, MARKER + TOKEN.encode()
    )
    probe = ProbeId("icmp", TOKEN)
    assert classify(vxlan8472(echo), probe) == ("request", "192.168.201.55 -> 203.0.113.10")
    hop = PathHop("network", "network-uplink", "eth1")
    tally(hop, [(1, vxlan8472(echo))], probe)
    assert hop.seen_request == 1
    assert 8472 in VXLAN_PORTS and "udp port 8472" in bpf(target_of(routed()), VXLAN_PORTS)


def lb_hops(**seen: str) -> list[PathHop]:
    f = routed()
    hops, _ = plan(f, shown(), target_of(f))
    for h in hops:
        s = seen.get(h.name.replace("-", "_"), "")
        h.seen_request, h.seen_reply = int("R" in s), int("Q" in s)
    return hops


ALL = dict(vm_tap="Q", segment_device="RQ", compute_uplink="RQ", network_uplink="RQ", qr="RQ", qg="RQ", external="RQ")


def own_packet(hops: list[PathHop]) -> CheckResult:
    f = routed()
    t = target_of(f)
    probe = VmProbe(t, hops, 2, "2 x ICMP echo", judge(hops, 2, t.address), 0.9, carriers(f, t))
    ev = Evidence()
    ev[VM_PROBE] = probe
    ev[ROUTER_FORWARDING] = None
    (row,) = VmOwnPacket().evaluate(f, ev)
    return row


def test_the_verdict_names_the_last_hop_each_way_with_linux_bridge_next_steps():
    row = own_packet(lb_hops(**ALL))
    assert row.verdict == Verdict.OK and row.proof and "compute-1/vm-tap:.Q" in row.evidence
    row = own_packet(lb_hops(segment_device="R", compute_uplink="R"))  # an underlay filter
    assert row.verdict == Verdict.FAIL
    assert "stops after compute-1/compute-uplink (eth1): not seen on network/network-uplink (eth1)" in row.evidence
    assert "underlay from compute-1" in row.next_step and "8472" in row.next_step and "br-int" not in row.next_step
    row = own_packet(lb_hops())  # not even on vxlan-1001: the bridge does not hand it on
    assert "not seen on compute-1/segment-device (vxlan-1001)" in row.evidence
    assert "brqafc25562-5b" in row.next_step
    row = own_packet(lb_hops(**{**ALL, "vm_tap": ""}))  # the reply stops at the bridge's filters
    assert "not seen on compute-1/vm-tap (tapbd9a75dd-94)" in row.evidence
    assert "neutron-linuxbri-i" in row.next_step
    row = own_packet(lb_hops(segment_device="R", compute_uplink="R", network_uplink="R"))
    assert row.cause == "router interface not reached on the network node" and "brqafc25562-5b" in row.next_step


@pytest.mark.parametrize("proof", [True, False])
def test_the_linux_bridge_chain_is_healthy_only_with_the_proof(proof):
    chain = chain_for(Backend.LINUXBRIDGE)
    assert chain is not None and chain.proves and chain.keys[-1] == "vm-own-packet"
    assert VM_PROBE in [c.kind for c in chain.collectors]  # the Linux bridge's own probe, not br-int's
    ok = CheckResult("x", Verdict.OK, "fine")
    rows = [ok, own_packet(lb_hops(**ALL))] if proof else [ok]
    assert diagnose(rows, require_proof=chain.proves).healthy is proof
