"""Doctor checks of the ML2/OVN data plane, after the control plane (ovn_checks.py): the chassis' bridge
mappings, the underlay MTU with Geneve's real overhead, DHCP from ovn-controller, and the proof of the
path, the VM's own packet captured at every hop OVN uses (evidence in ovn_dataplane.py).

Geneve's overhead on the underlay, over the inner IP packet: inner Ethernet 14 + Geneve 8 + OVN's one
option 8 (class 0x0102, the logical ingress/egress ports) + UDP 8 + outer IPv4 20 = 58 bytes. Measured on
the lab's frames: an 84-byte ICMP echo crosses eth1 in a 156-byte frame (outer Ethernet 14 + 142).
"""

from __future__ import annotations

from ...wire import encap
from ...wire.models import Verdict
from .evidence import Evidence, Unprobed
from .facts import Facts
from .model import CheckResult
from .ovn_checks import OVN_DB, OvnDb
from .ovn_dataplane import OVN_DHCP, OVN_NODES, OVN_VM_PROBE, OvnProbe
from .ovn_path import NodeView, OvnPath, gateway_chassis
from .registry import Check, check
from .vm_checks import probe_text, unanswered

GENEVE_OVERHEAD = encap.overhead("geneve")  # 58 with OVN's 8-byte option, as measured


def _seg(f: Facts) -> tuple[str, str | None, int | None]:
    seg = f.segment
    return (seg.network_type, seg.physical_network, seg.segmentation_id) if seg else ("", None, None)


def _path_hosts(f: Facts, ev: Evidence) -> list[str]:
    db = ev[OVN_DB]
    hosts = [f.compute] if f.compute else []
    if isinstance(db, OvnDb):
        gw = gateway_chassis(f, db.nb, db.sb)
        if gw is not None and (gw.hostname or gw.name) not in hosts:
            hosts.append(gw.hostname or gw.name)
    return hosts


@check
class BridgeMappings(Check):
    """A VLAN/flat network needs its physnet in the chassis' ovn-bridge-mappings, that bridge, and a NIC on it."""

    key = "ovn-bridge-mappings"
    name = "OVN bridge mappings"
    plane = "data"
    needs = (OVN_DB, OVN_NODES)

    def applies(self, f: Facts) -> bool:
        return f.port is not None and _seg(f)[0] in ("vlan", "flat")

    def judge(self, f: Facts, ev: Evidence) -> CheckResult:
        _ntype, physnet, _vid = _seg(f)
        seen = []
        for host in _path_hosts(f, ev):
            view = ev[OVN_NODES].get(host)
            if (bad := self.unusable(view, f"{host} not probed")) is not None:
                return bad
            assert isinstance(view, NodeView)
            maps = view.mappings()
            bridge = maps.get(physnet or "")
            text = f"{host}: ovn-bridge-mappings {view.ovs.system_ids.get('ovn-bridge-mappings', '') or '(none)'}"
            if bridge is None:
                return self._fail(f"{text}: no bridge for physnet {physnet}", host, physnet, "add the mapping")
            if view.ovs.bridge(bridge) is None:
                return self._fail(f"{text}: bridge {bridge} does not exist", host, physnet, f"create {bridge}")
            nics = view.bridge_nics(bridge)
            if not nics:
                return self._fail(f"{text}: {bridge} has no NIC port", host, physnet, f"add the NIC to {bridge}")
            seen.append(f"{host} {physnet} -> {bridge} ({', '.join(nics)})")
        return self.ok("; ".join(seen) or "no chassis probed")

    def _fail(self, text: str, host: str, physnet: str | None, what: str) -> CheckResult:
        return self.fail(
            text + ": OVN cannot put the network's frames on the wire there",
            cause="bridge mapping missing on the chassis",
            catalogue=4,
            next_step=f"on {host}: {what} (`ovs-vsctl set Open_vSwitch . external_ids:ovn-bridge-mappings="
            f"{physnet}:<bridge>`, the bridge with the physnet's NIC)",
        )


@check
class OvnMtu(Check):
    """Full-size packets on the chassis of the path: network MTU + Geneve's overhead (or the network MTU on a
    VLAN/flat physnet) against the MTU of the NIC that carries them on each chassis."""

    key = "ovn-mtu"
    name = "MTU (OVN)"
    plane = "data"
    needs = (OVN_DB, OVN_NODES)

    def judge(self, f: Facts, ev: Evidence) -> CheckResult:
        ntype, physnet, _vid = _seg(f)
        net_mtu = (f.network.mtu if f.network else None) or 1500
        tunnel = ntype in ("geneve", "vxlan")
        need = net_mtu + (encap.overhead(ntype) if tunnel else 0)
        seen, small = [], []
        for host in _path_hosts(f, ev):
            view = ev[OVN_NODES].get(host)
            if (bad := self.unusable(view, f"{host} not probed")) is not None:
                return bad
            assert isinstance(view, NodeView)
            nic = view.encap_nic() if tunnel else view.physnet_nic(physnet)
            iface = view.interface(nic)
            if iface is None:
                seen.append(f"{host}: no NIC found")
                continue
            seen.append(f"{host} {nic} MTU {iface.mtu}")
            if iface.mtu < need:
                small.append(f"{host} {nic} MTU {iface.mtu}")
        how = f"network MTU {net_mtu} + {ntype} overhead {need - net_mtu} = {need}" if tunnel else f"MTU {net_mtu}"
        text = f"{how}; {', '.join(seen) or 'no chassis probed'}"
        if small:
            return self.fail(
                f"{text}: {', '.join(small)} cannot carry full-size {'encapsulated ' if tunnel else ''}packets",
                cause="MTU / overlay overhead mismatch",
                catalogue=2,
                next_step=f"raise the underlay MTU on {', '.join(s.split()[0] for s in small)} to at least {need}, "
                f"or lower the network's MTU (Neutron: [ml2_type_geneve] max_header_size, global_physnet_mtu)",
            )
        return self.ok(text)


@check
class OvnDhcpExchange(Check):
    """A DISCOVER injected as the VM; ovn-controller on its chassis must OFFER (judged as `check dhcp`)."""

    key = "ovn-dhcp-exchange"
    name = "DHCP from OVN"
    plane = "data"
    needs = (OVN_DHCP,)

    def applies(self, f: Facts) -> bool:
        return f.port is not None and f.subnet is not None and f.subnet.enable_dhcp

    def judge(self, f: Facts, ev: Evidence) -> CheckResult:
        a = ev[OVN_DHCP]
        if (bad := self.unusable(a, "not traced")) is not None:
            return bad
        assert not isinstance(a, Unprobed) and a is not None
        if a.verdict == Verdict.OK:
            return self.ok(a.reason)
        if a.verdict == Verdict.ERROR:
            return self.error(a.reason)
        return self.fail(
            a.reason,
            cause="OVN answers no DHCP",
            catalogue=6,
            next_step=f"`steth check dhcp {f.vm_port.id}`; ovn-controller on {f.compute}: "
            "`ovn-appctl -t ovn-controller connection-status`, the subnet's DHCP_Options",
        )


@check
class OvnVmOwnPacket(Check):
    """The proof of the OVN path: the VM's own packet went through every hop OVN uses and came back."""

    key = "ovn-vm-own-packet"
    name = "VM's own packet (OVN)"
    plane = "data"
    needs = (OVN_VM_PROBE,)
    proof = True

    def judge(self, f: Facts, ev: Evidence) -> CheckResult:
        got = ev[OVN_VM_PROBE]
        if got is None:
            return self.skipped(
                "not probed: no IPv4 target off the VM's subnet (an IPv6 or on-link --to), or the VM's port is "
                "not on br-int",
                unproven=True,
            )
        if isinstance(got, Unprobed):
            return self.unprobed(got)
        if isinstance(got.probe, Unprobed):
            return self.unprobed(got.probe)
        p, v = got.probe, got.probe.verdict
        text = probe_text(p)
        if got.path.notes:
            text += f"; not watched: {'; '.join(got.path.notes)}"
        if v.ok:
            return self.ok(text) if v.proven and not got.path.notes else self.skipped(text, unproven=True)
        return self._broken(f, got, text)

    def _broken(self, f: Facts, got: OvnProbe, text: str) -> CheckResult:
        v, path = got.probe.verdict, got.path  # type: ignore[union-attr]
        lost = v.lost_request or v.lost_reply
        last = v.last_request if v.lost_request else v.last_reply
        if lost is None or (v.lost_request is None and v.last_reply is None):  # went all the way, no answer
            return unanswered(self, v, text, got.probe.target.address)  # type: ignore[union-attr]
        names = (last.name if last else "injection", lost.name)
        if names in (("compute-uplink", "gateway-uplink"), ("gateway-uplink", "compute-uplink")):
            return self._between_chassis(f, path, text, last.node, lost.node)  # type: ignore[union-attr]
        if lost.name == "compute-uplink" and v.lost_request:
            cause, step = "VM's packet does not leave its chassis", f"`steth ovn trace {f.vm_port.id} --to ...`"
            step += f" (an ACL drop names its security group rule); ovn-controller's flows on {lost.node}"
        elif lost.name == "external" and v.lost_request:
            cause = "gateway chassis does not forward to the external network"
            step = f"on {lost.node}: the router's gateway port (cr-lrp) binding, the NAT rows, the external bridge"
        elif lost.name == "gateway-uplink":
            cause = "gateway chassis does not return the reply (NAT)"
            step = f"on {lost.node}: conntrack/NAT of the router's gateway; `steth ovn trace`"
        else:
            cause = f"VM's packet lost on {lost.node} ({lost.name})"
            step = f"`steth ovn trace {f.vm_port.id}`; ovn-controller's flows on {lost.node}"
        return self.fail(text, cause=cause, catalogue=None, next_step=step)

    def _between_chassis(self, f: Facts, path: OvnPath, text: str, src: str, dst: str) -> CheckResult:
        ntype, _physnet, vid = _seg(f)
        if path.transport == "geneve":
            a, b = path.encap.get(src, "?"), path.encap.get(dst, "?")
            return self.fail(
                f"{text}: Geneve (UDP 6081) from chassis {src} ({a}) to {dst} ({b}) left {src} and never arrived",
                cause=f"Geneve (UDP 6081) lost between chassis {src} ({a}) and {dst} ({b})",
                catalogue=5,
                next_step=f"the underlay from {a} to {b}: a firewall or switch ACL dropping UDP 6081, the route "
                f"between the encap IPs (`tcpdump -ni <uplink> udp port 6081` on both), BFD of the tunnel ports",
            )
        return self.fail(
            f"{text}: {ntype} frames (VLAN {vid}) from {src} never reached {dst}",
            cause=f"VLAN {vid} not carried between {src} and {dst}",
            catalogue=11,
            next_step=f"`steth check vlan`: the physical network's trunk between {src} and {dst}",
        )
