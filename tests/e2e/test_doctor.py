"""End to end: `steth doctor` on the real Neutron lab names exactly the fault that was injected.

One Neutron lab for the session (``neutron_lab``). Every VM is asked `--to` the lab's internet host,
so the whole path (DHCP, security groups, router, SNAT) is walked. For each fault kind: doctor on the
affected VM names that cause as the root cause (the first failing check) with evidence that proves it;
a VM the fault does not touch stays healthy; removing the fault heals the lab.
"""

from __future__ import annotations

import json

import pytest

from ..conftest import eventually, steth

pytestmark = [pytest.mark.root, pytest.mark.e2e, pytest.mark.neutron]

SETTLE = 60.0  # agents marked dead after 11 s; an L3 agent resyncs its router in a few seconds


def neutron(lab) -> dict:
    return lab["state"]["extra"]["neutron"]


def internet(lab) -> str:
    return neutron(lab)["external"]["internet_host"]


def doctor(lab, ref: str, *extra: str, to: bool = True) -> tuple[int, list[dict], str]:
    args = ["doctor", ref, "-f", "json", *extra] + (["--to", internet(lab)] if to else [])
    r = steth(*args, env=lab["env"], timeout=120)
    try:
        rows = json.loads(r.out)
    except ValueError:
        raise AssertionError(f"doctor {ref}: exit {r.rc}, no JSON: {r.err or r.out}") from None
    return r.rc, rows, r.err


def root(rows: list[dict]) -> dict | None:
    return next((x for x in rows if x["verdict"] == "fail"), None)


def vm_ref(lab, name: str) -> str:
    return f"{lab['name']}-{name}"


def all_agents_alive(lab) -> None:
    import openstack

    port = neutron(lab)["ports"]["api"]
    conn = openstack.connection.Connection(
        auth_type="none", region_name="RegionOne", network_endpoint_override=f"http://127.0.0.1:{port}/"
    )
    eventually(
        lambda: [(a.binary, a.host) for a in conn.network.agents() if not a.is_alive],
        lambda dead: not dead,
        timeout=SETTLE,
        what="every Neutron agent alive",
    )


def healthy(lab, name: str) -> None:
    """Healthy now or within the settle time (after a fault's removal the agents resync)."""

    def run():
        return doctor(lab, vm_ref(lab, name))

    rc, rows, err = eventually(run, lambda res: res[0] == 0, timeout=SETTLE, what=f"doctor {name} healthy")
    assert rows[-1]["check"] == "diagnosis" and rows[-1]["verdict"] == "healthy", rows[-1]


@pytest.fixture
def fault(neutron_lab):
    """Inject one fault; remove it whatever happens."""
    added = []

    def add(kind: str, *params: str) -> str:
        r = steth(
            "lab", "fault", "add", kind, *params, "--name", neutron_lab["name"], env=neutron_lab["env"], timeout=120
        )
        assert r.rc == 0, r.err + r.out
        added.append(r.out.split(":", 1)[0])
        return r.out

    yield add
    for fid in reversed(added):
        r = steth("lab", "fault", "remove", fid, "--name", neutron_lab["name"], env=neutron_lab["env"], timeout=120)
        assert r.rc == 0, r.err + r.out


def test_every_vm_is_healthy_with_the_whole_path_checked(neutron_lab):
    for vm in neutron(neutron_lab)["vms"]:
        rc, rows, err = doctor(neutron_lab, vm_ref(neutron_lab, vm["name"]))
        assert rc == 0, err + json.dumps(rows, indent=1)
        verdicts = {x["check"]: x["verdict"] for x in rows}
        for must in (
            "port binding",
            "VM port on br-int",
            "DHCP exchange",
            "security groups",
            "NAT rules",
            "external gateway reachable",
            "destination reachable from router",
            "reachable from router",
            "network node ports on br-int",
            "underlay ports",
            "VM's own packet",
        ):
            assert verdicts[must] == "ok", (must, rows)
        assert verdicts["VLAN trunk" if vm["network"] == "vlan" else "vxlan tunnel path"] == "ok"
        assert rows[-1]["verdict"] == "healthy"
        assert set(rows[0]) >= {"check", "verdict", "evidence"}


def test_tcp_destination_and_html(neutron_lab, tmp_path):
    page = tmp_path / "doctor.html"
    ext = neutron(neutron_lab)["external"]
    rc, rows, _ = doctor(neutron_lab, vm_ref(neutron_lab, "vm2"), "--html", str(page), to=False)
    assert rc == 0 and rows[-1]["verdict"] == "healthy"
    rc, rows, _ = doctor(
        neutron_lab, vm_ref(neutron_lab, "vm2"), "--to", f"{ext['internet_host']}:{ext['tcp_port']}", to=False
    )
    assert rc == 0
    dest = next(x for x in rows if x["check"] == "destination reachable from router")
    assert "TCP connect" in dest["evidence"] and "connected" in dest["evidence"]
    closed = doctor(neutron_lab, vm_ref(neutron_lab, "vm2"), "--to", f"{ext['internet_host']}:81", to=False)
    assert closed[0] == 1 and root(closed[1])["check"] == "destination reachable from router"
    text = page.read_text()
    assert "steth doctor" in text and "DHCP exchange" in text


def test_bad_references_are_clear_errors(neutron_lab):
    r = steth("doctor", "no-such-vm", env=neutron_lab["env"])
    assert r.rc == 2 and "no-such-vm" in r.err and "hint" in r.err
    r = steth("doctor", vm_ref(neutron_lab, "vm1"), "--to", "internet.example", env=neutron_lab["env"])
    assert r.rc == 2 and "not an IP address" in r.err


def fip(lab) -> str:
    return neutron(lab)["floating_ips"]["vm1"]["address"]


# kind, params, affected VM (optionally "vm:ref" where ref names what doctor is asked about), root check,
# words of the cause, a VM the fault does not touch. Every fault kind of the lab that applies to the ML2/OVS
# lab has a case (the test below enumerates the registry); NOT_ON_A_VM_PATH lists, with the reason, the
# kinds that break no VM's path here, so doctor may rightly call the VMs healthy.
CASES = [
    ("sg-missing-rule", ["--vm", "vm1"], "vm1", "security groups", "security group denies", "vm2"),
    ("underlay-mtu", ["--vm", "vm2"], "vm2", "MTU", "MTU", "vm3"),
    ("ovs-agent-down", ["--node", "compute-1"], "vm1", "L2 agent alive", "L2 agent down", "vm3"),
    ("router-gateway-removed", [], "vm2", "router gateway", "router without external gateway", None),
    ("subnet-detached", ["--network", "vxlan"], "vm2", "router interface", "subnet not attached", "vm1"),
    ("nat-removed", [], "vm2", "NAT rules", "NAT not programmed", None),
    ("l3-agent-down", [], "vm2", "L3 agent alive", "L3 agent down", None),
    ("port-admin-down", ["--vm", "vm1"], "vm1", "port admin state", "administratively down", "vm2"),
    ("port-bound-elsewhere", ["--vm", "vm2"], "vm2", "port binding", "without an L2 agent", "vm1"),
    ("fip-disassociated", ["--vm", "vm1"], "vm1:fip", "floating IP associated", "not associated", "vm2"),
    ("vlan-prune", ["--node", "compute-1", "--vlans", "101"], "vm1", "VLAN trunk", "VLAN not trunked", "vm2"),
    (
        "vxlan-block",
        ["--node", "compute-1", "--to", "network"],
        "vm2",
        "vxlan tunnel path",
        "tunnel underlay broken",
        "vm1",
    ),
    ("dnsmasq-stopped", ["--network", "vxlan"], "vm2", "DHCP exchange", "DHCP server not answering", "vm1"),
    ("vm-spoofing", ["--vm", "vm2"], "vm2", "VM source addresses", "anti-spoofing", "vm1"),
    ("flood-flows-removed", ["--vm", "vm2"], "vm2", "tunnel flood flows", "missing tunnel flood flows", "vm1"),
    ("port-unplugged", ["--vm", "vm2"], "vm2", "VM port on br-int", "not plugged into br-int", "vm1"),
    ("port-wrong-tag", ["--vm", "vm2"], "vm2", "VM port on br-int", "wrong local VLAN tag", "vm3"),
    ("rogue-dhcp", ["--vm", "vm2"], "vm2", "DHCP exchange", "rogue DHCP server", "vm3"),
    ("link-down", ["--node", "compute-1", "--network", "tenant"], "vm2", "vxlan tunnel path", "tunnel underlay", "vm3"),
    ("mtu", ["--node", "compute-2", "--network", "tenant", "--mtu", "1400"], "vm4", "MTU", "MTU", "vm1"),
    ("switch-mtu", ["--node", "compute-2", "--network", "tenant", "--mtu", "1400"], "vm4", "MTU", "MTU", "vm2"),
    # the router forwards nothing though it answers every probe from inside: only the VM's own packet sees it
    ("router-no-forward", [], "vm2", "VM's own packet", "router not forwarding", None),
    ("router-forward-drop", [], "vm1", "VM's own packet", "router not forwarding", None),
    ("router-route-removed", [], "vm2", "destination reachable from router", "router has no route", None),
    ("router-gateway-down", [], "vm1", "external gateway reachable", "router gateway interface down", None),
    # the network node's end of the tenant network
    (
        "router-port-wrong-tag",
        ["--network", "vxlan"],
        "vm2",
        "network node ports on br-int",
        "wrong local VLAN tag on br-int on network",
        "vm1",
    ),
    (
        "dhcp-port-unplugged",
        ["--network", "vlan"],
        "vm3",
        "network node ports on br-int",
        "DHCP port not plugged into br-int",
        "vm2",
    ),
]
BY_KIND = {c[0]: c for c in CASES}
NOT_ON_A_VM_PATH = {
    "rate-limit": "a bandwidth cap: every VM still reaches everything (`steth check bandwidth` measures it)",
    "drop": "drops new flows to the node's own IP stack; the VMs' VXLAN and VLAN frames are switched by Open "
    "vSwitch's userspace datapath before iptables, so no VM's path is broken (the VM's own packet proves it)",
}


def ml2ovs_kinds() -> list[str]:
    """Every fault kind the lab's registry has for the ML2/OVS lab (underlay and Neutron; not ML2/OVN's)."""
    from steth.lab import faults

    return sorted(n for n, k in faults.KINDS.items() if k.area in ("underlay", "neutron"))


@pytest.mark.parametrize("kind", [k for k in ml2ovs_kinds() if k not in NOT_ON_A_VM_PATH])
def test_doctor_names_the_injected_fault(neutron_lab, fault, kind):
    """The method's property, for every kind of the registry: on an affected VM doctor never exits 0, and
    names the fault as the root cause; an unaffected VM stays healthy."""
    assert kind in BY_KIND, f"fault kind {kind} has no doctor case: add one to CASES (or to NOT_ON_A_VM_PATH, why)"
    _, params, affected, check, cause, unaffected = BY_KIND[kind]
    lab = neutron_lab
    name, _, asked = affected.partition(":")
    all_agents_alive(lab)
    healthy(lab, name)  # start from a healthy path (the previous fault's repair may still be settling)
    fault(kind, *params)
    ref = fip(lab) if asked == "fip" else vm_ref(lab, name)

    def run():
        return doctor(lab, ref)

    # a dead agent shows only after agent_down_time: poll until the cause is named (bounded)
    rc, rows, err = eventually(
        run,
        lambda res: res[0] == 1 and (root(res[1]) or {}).get("check") == check,
        timeout=SETTLE,
        what=f"doctor {ref} names {check!r}",
    )
    assert rc != 0
    first = root(rows)
    assert cause.lower() in first["cause"].lower(), first
    assert first["evidence"] and first["next_step"], first
    diagnosis = rows[-1]
    assert diagnosis["check"] == "diagnosis" and diagnosis["verdict"] == "cause found"
    assert first["cause"] in diagnosis["evidence"]
    if unaffected:
        healthy(lab, unaffected)


def test_every_fault_kind_of_the_registry_has_a_doctor_case():
    """A new fault kind without a doctor case (or a reason it breaks no VM's path) fails here."""
    kinds = set(ml2ovs_kinds())
    assert kinds == set(BY_KIND) | set(NOT_ON_A_VM_PATH), (
        f"without a case: {sorted(kinds - set(BY_KIND) - set(NOT_ON_A_VM_PATH))}; "
        f"cases for unknown kinds: {sorted(set(BY_KIND) - kinds)}"
    )
    assert not set(BY_KIND) & set(NOT_ON_A_VM_PATH)
