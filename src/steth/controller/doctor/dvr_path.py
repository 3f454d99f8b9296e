"""The DVR chain's proof: the VM's own packet (vm_checks.py's check, judged on DVR's hops, dvr_probe.py).

Where the probe stops names the part of the distributed path that broke: br-int between the VM and its
compute node's router, that router or the ``fip-`` namespace (with their ip_forward, links and FORWARD
chain), the ``fg-`` port's way to the external bridge, the tunnel to the SNAT node, or the ``snat-``
namespace. Routes are not judged there: DVR routes by policy (a table per subnet in ``qrouter-``, one for
``iif fpr-`` in ``fip-``), which the namespace's main table does not show.
"""

from __future__ import annotations

from typing import ClassVar

from ...wire.vmprobe import RouterState
from .dvr_evidence import snat_host
from .dvr_probe import NS_FORWARDING, NsForwarding
from .evidence import Evidence, Kind
from .facts import Facts
from .model import CheckResult
from .registry import check
from .vm_checks import VmOwnPacket, router_faults, unanswered
from .vm_path import PathHop, PathVerdict
from .vm_probe import VM_PROBE, VmProbe

ROLE = {"qrouter-": "router on the compute node", "fip-": "floating IP namespace", "snat-": "SNAT namespace"}

# the hop first missing the request (after the last that saw it) -> (cause, where to look)
LOST = {
    "qr": ("router interface not reached on the compute node", "br-int between the VM's port and the qr- port "
           "(its tag must be the network's local VLAN, its iface-id the router port) and the qr- interface"),
    "rfp": ("router not sending to the floating IP namespace", "the rfp- interface, the floating IP's rule "
            "and route in the router namespace"),
    "fpr": ("floating IP namespace not reached", "the rfp-/fpr- pair between the router and fip- namespaces"),
    "fg": ("floating IP namespace not forwarding", "the fip- namespace: its fg- interface and routes"),
    "external": ("gateway port not reaching the external bridge", "the fg-/qg- port on br-int (tag, iface-id), "
                 "the patch to the external bridge and its NIC"),
    "compute-uplink": ("DVR router's packet not leaving the compute node toward the SNAT node",
                       "br-int flows for the sg- port's MAC (DVR MAC rewriting), the tunnel or VLAN to the network "
                       "node"),
    "network-uplink": ("packet lost between the compute and network nodes", "the underlay between the two "
                       "nodes' tunnel endpoints (or the VLAN trunk)"),
    "sg": ("SNAT port of the subnet not reached on the network node", "the sg- port on br-int of the network "
           "node (tag, iface-id) and the snat- namespace"),
    "qg": ("SNAT namespace not forwarding", "the snat- namespace: its ip_forward, FORWARD chain and qg- port"),
    "qr-out": ("router not forwarding", "the router namespace on the compute node: its routes to the other "
               "subnet and its qr- interfaces"),
}  # fmt: skip


def ns_faults(f: Facts, found: list[NsForwarding], destination: str) -> tuple[list[str], list[str]]:
    """(what stops forwarding, the facts read) in each namespace where the probe stopped, named by namespace.
    ``no route`` is not judged (policy routing), links of every kind are."""
    faults: list[str] = []
    facts: list[str] = []
    for nf in found:
        bad, read = router_faults(f, nf.forwarding, destination)
        bad = [b for b in bad if not b.startswith(("no route", "interface(s) down"))]
        read = [r for r in read if not r.startswith("route to")]
        st = nf.forwarding.state
        if isinstance(st, RouterState) and st.verdict.value == "ok":
            down = sorted(
                n for n, up in st.links.items() if not up and n[:3] in ("qr-", "qg-", "rfp", "fpr", "fg-", "sg-")
            )
            if down:
                bad.append(f"interface(s) down: {', '.join(down)}")
        where = f"{nf.netns} on {nf.node}"
        faults += [f"{where}: {b}" for b in bad]
        facts += [f"{where}: {'; '.join(read)}"] if read else []
    return faults, facts


def _role(ns: str) -> str:
    return next((r for p, r in ROLE.items() if ns.startswith(p)), ns)


@check
class DvrOwnPacket(VmOwnPacket):
    """The proof of the distributed path: the VM's own packet through its compute node's router, then the
    fip- namespace (floating IP) or the SNAT node, and back."""

    key = "dvr-own-packet"
    needs: ClassVar[tuple[Kind[object], ...]] = (VM_PROBE, NS_FORWARDING)

    def broken(self, f: Facts, ev: Evidence, p: VmProbe, v: PathVerdict, text: str) -> CheckResult:
        found: list[NsForwarding] = ev[NS_FORWARDING]
        faults, facts = ns_faults(f, found, p.target.address)
        read = f" ({'; '.join(facts)})" if facts else ""
        if faults:  # a namespace where it stopped shows why
            where = next(nf for nf in found if any(x.startswith(nf.netns) for x in faults))
            return self.fail(
                f"{text}; {'; '.join(faults)}{read}",
                cause=f"{_role(where.netns)} not forwarding",
                catalogue=7,
                next_step=_fix(faults, where),
            )
        lost = v.lost_request or v.lost_reply
        last = v.last_request if v.lost_request else v.last_reply
        if lost is None or (v.lost_request is None and v.last_reply is None):  # the request went all the way
            egress = f"the external network from {f.compute}" if _fip(p) else f"the SNAT node {snat_host(f)}"
            return unanswered(
                self,
                v,
                text,
                p.target.address,
                f"the path beyond {_label(v.last_request)} ({egress}): the upstream route toward "
                f"{p.target.address}, its firewall, and the return route to the VM's public address",
            )
        cause, look = LOST.get(lost.name, (f"VM's packet lost on {lost.node} ({lost.name})", "what carries it"))
        names = {h.name for h in p.hops}
        if v.lost_request and lost.name == "qg" and "sg" not in names:  # no sg- route for the subnet in snat-
            cidr = f.subnet.cidr if f.subnet else "the VM's subnet"
            cause = "SNAT port of the subnet missing from the SNAT namespace"
            look = f"the snat- namespace has no sg- port on {cidr}: restart the L3 agent (it re-plugs it)"
        if v.lost_reply:
            cause = f"reply lost before {lost.name} on {lost.node}"
            look = f"what carries the reply from {_label(last)} to {lost.interface}"
        return self.fail(
            f"{text}{read}",
            cause=cause,
            catalogue=None,
            next_step=f"on {lost.node}: {look}",
        )


def _fip(p: VmProbe) -> bool:
    return any(h.name == "fg" or h.name == "fpr" for h in p.hops)


def _label(h: PathHop | None) -> str:
    return h.label if h else "the injection"


def _fix(faults: list[str], where: NsForwarding) -> str:
    text = " ".join(faults)
    steps = []
    if "FORWARD drops" in text:
        steps.append(f"remove the DROP/REJECT from the FORWARD chain of {where.netns} on {where.node}")
    if "ip_forward=0" in text:
        steps.append(f"ip netns exec {where.netns} sysctl -w net.ipv4.ip_forward=1 (on {where.node})")
    if "down" in text:
        steps.append(f"bring the interface up in {where.netns}")
    steps.append(f"then restart the L3 agent on {where.node} to resync the router")
    return "; ".join(steps)
