"""Neutron lab fault kinds: parameter checks, defaults, records and undo steps (no lab, no root)."""

from __future__ import annotations

import ipaddress
import json

import pytest

from steth.errors import LabError, UsageError
from steth.host import undo
from steth.host.proc import ProcRecord
from steth.lab import faults
from steth.lab.faults import dataplane, l3, neutron_undo, ports
from steth.lab.neutron.record import FloatingIPRecord, NeutronRecord, Ports, VMRecord
from steth.lab.state import LabState
from steth.lab.topology import build

NEW_KINDS = (
    "sg-missing-rule",
    "underlay-mtu",
    "ovs-agent-down",
    "l3-agent-down",
    "port-admin-down",
    "port-bound-elsewhere",
    "vm-spoofing",
    "router-gateway-removed",
    "subnet-detached",
    "nat-removed",
    "fip-disassociated",
)
OLD_KINDS = ("dnsmasq-stopped", "vxlan-block", "port-unplugged", "port-wrong-tag", "rogue-dhcp")
ROUTER_KINDS = (
    "router-no-forward",
    "router-route-removed",
    "router-forward-drop",
    "router-gateway-down",
    "router-port-wrong-tag",
    "dhcp-port-unplugged",
)


@pytest.fixture
def lab(tmp_path, monkeypatch):
    monkeypatch.setenv("STETH_LAB_ROOT", str(tmp_path))
    state = LabState(lab="ut", computes=2, cidrs=("10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16"))
    NeutronRecord(
        dir=str(tmp_path / "neutron"),
        ports=Ports(api=1, amqp=2, dist=3, epmd=4),
        networks={"vlan": "net-a", "vxlan": "net-b"},
        procs={"ovs-agent-compute-1": ProcRecord(pid=999999999, start_ticks=1, argv=("x",))},
        vms=[VMRecord(name="vm1", node="compute-1", network="vlan", plug="direct", port_id="p1", namespace="ns-vm1")],
    ).save(state)
    return state, build("ut", 2)


@pytest.mark.parametrize("name", NEW_KINDS + OLD_KINDS + ROUTER_KINDS)
def test_kinds_registered_with_help(name):
    fk = faults.KINDS[name]
    assert fk.help and fk.area == "neutron" and name in faults.NEUTRON_KINDS
    assert fk.apply.__module__.rsplit(".", 1)[1] in ("dataplane", "ports", "agents", "l3", "router_dp")
    assert set(fk.params) | set(fk.optional) <= set(faults.PARAMS)


@pytest.mark.parametrize(
    "ntype,mtu,default,need",
    [("vxlan", 1450, 1400, 1500), ("vlan", 1500, 1400, 1500), ("vxlan", 8950, 8900, 9000), ("flat", 1500, 1400, 1500)],
)
def test_default_underlay_mtu(ntype, mtu, default, need):
    assert dataplane.default_underlay_mtu(ntype, mtu) == default
    assert dataplane.underlay_need(ntype, mtu) == need
    dataplane.check_underlay_mtu(default, ntype, mtu)


@pytest.mark.parametrize("mtu", [1500, 9000, 67, 70000])
def test_underlay_mtu_that_is_no_fault_or_impossible_is_refused(mtu):
    with pytest.raises(UsageError):
        dataplane.check_underlay_mtu(mtu, "vxlan", 1450)


def test_unknown_network_type():
    with pytest.raises(LabError):
        dataplane.underlay_need("ipip", 1500)


def test_spoof_address_is_host_250_of_the_subnet():
    assert ports.spoof_address("192.168.201.0/24") == ipaddress.ip_interface("192.168.201.250/24")
    with pytest.raises(LabError):
        ports.spoof_address("192.168.1.0/28")
    with pytest.raises(LabError):
        ports.spoof_address("fd00::/64")


@pytest.mark.parametrize(
    "kind_,params,error",
    [
        ("sg-missing-rule", {"vm": "vm9"}, UsageError),
        ("port-admin-down", {"vm": "vm9"}, UsageError),
        ("vm-spoofing", {"vm": "nope"}, UsageError),
        ("underlay-mtu", {"vm": "vm9"}, UsageError),
        ("ovs-agent-down", {"node": "compute-7"}, UsageError),
        ("ovs-agent-down", {"node": "compute-2"}, LabError),  # no recorded agent
        ("ovs-agent-down", {"node": "compute-1"}, LabError),  # recorded, but not running
        ("l3-agent-down", {}, LabError),  # no L3 agent in this lab
        ("port-bound-elsewhere", {}, UsageError),  # --vm missing
    ],
)
def test_bad_input_leaves_no_fault(lab, kind_, params, error):
    state, topo = lab
    with pytest.raises(error):
        faults.add(state, topo, kind_, params)
    assert state.faults == [] and LabState.load("ut").faults == []


def test_hints_name_the_choices(lab):
    state, topo = lab
    with pytest.raises(UsageError) as exc:
        faults.add(state, topo, "port-admin-down", {"vm": "vm9"})
    assert "vm1" in exc.value.hint
    with pytest.raises(LabError) as exc:
        faults.add(state, topo, "l3-agent-down", {})
    assert "l3-agent-network" in exc.value.message


def test_optional_parameters_reach_the_kind_and_unused_ones_do_not(lab, monkeypatch):
    state, topo = lab
    seen: dict = {}

    def probe(ctx):
        seen.clear()
        seen.update(ctx.params)
        return "ok"

    monkeypatch.setitem(faults.KINDS, "probe", faults.FaultKind("probe", "h", ("vm",), probe, ("mtu",)))
    faults.add(state, topo, "probe", {"vm": "vm1", "mtu": 1300, "tag": 5, "node": None})
    assert seen == {"vm": "vm1", "mtu": 1300}
    faults.add(state, topo, "probe", {"vm": "vm1", "mtu": None})
    assert seen == {"vm": "vm1"}


def test_claim_refuses_a_second_fault_on_the_same_resource(lab, monkeypatch):
    state, topo = lab
    monkeypatch.setitem(
        faults.KINDS,
        "claimer",
        faults.FaultKind("claimer", "h", ("node",), lambda ctx: ctx.claim(f"{ctx.params['node']}/eth1 MTU") or "ok"),
    )
    first = faults.add(state, topo, "claimer", {"node": "compute-1"})
    assert first["claims"] == ["compute-1/eth1 MTU"]
    with pytest.raises(UsageError) as exc:
        faults.add(state, topo, "claimer", {"node": "compute-1"})
    assert first["id"] in exc.value.hint
    faults.add(state, topo, "claimer", {"node": "compute-2"})
    faults.remove(state, first["id"])
    faults.add(state, topo, "claimer", {"node": "compute-1"})


def test_failed_kind_runs_the_steps_it_recorded(lab, monkeypatch):
    state, topo = lab
    ran = []
    monkeypatch.setitem(undo._HANDLERS, "test-step", lambda s: ran.append(s["n"]))

    def half_done(ctx):
        ctx.record({"kind": "test-step", "n": 1})
        ctx.record({"kind": "test-step", "n": 2})
        raise LabError("API down")

    monkeypatch.setitem(faults.KINDS, "half", faults.FaultKind("half", "h", (), half_done))
    with pytest.raises(LabError):
        faults.add(state, topo, "half", {})
    assert ran == [2, 1] and state.faults == []


def test_neutron_undo_steps_are_json_and_run_against_the_recorded_api(lab, monkeypatch):
    state, _ = lab
    calls = []

    class Net:
        def update_port(self, *a, **kw):
            calls.append(("update_port", a, kw))

        def security_groups(self, name):
            return [f"sg-{name}"]

        def delete_security_group(self, obj, ignore_missing):
            calls.append(("delete", obj, ignore_missing))

        def get_port(self, pid):
            return type("P", (), {"status": "ACTIVE"})()

    class Conn:
        network = Net()

    ports = []
    monkeypatch.setattr(neutron_undo, "_connect", lambda s: ports.append(s["api_port"]) or Conn())
    steps = [
        neutron_undo.step(state, "update_port", "p1", security_group_ids=["a", "b"]),
        neutron_undo.delete_named(state, "security_group", "ut-f1-empty"),
        neutron_undo.wait_port(state, "p1", "ACTIVE", timeout=1),
    ]
    steps = json.loads(json.dumps(steps))  # as a later process reads them
    assert undo.run_all(steps) == []
    assert calls == [("delete", "sg-ut-f1-empty", True), ("update_port", ("p1",), {"security_group_ids": ["a", "b"]})]
    assert ports == [1, 1, 1]


def test_wait_port_reports_a_port_that_never_comes_back(lab, monkeypatch):
    state, _ = lab

    class Conn:
        class network:  # noqa: N801
            @staticmethod
            def get_port(pid):
                return type("P", (), {"status": "DOWN"})()

    monkeypatch.setattr(neutron_undo, "_connect", lambda s: Conn())
    problem = undo.run(neutron_undo.wait_port(state, "p1", timeout=0.2))
    assert problem and "DOWN, not ACTIVE" in problem


# ---- nat-removed: the L3 agent's NAT rules in iptables-save output ----------------------

SAVE = """# Generated by iptables-save v1.8.9 (nf_tables) on Sun Nov 22 03:10:00 2026
*filter
:INPUT ACCEPT [0:0]
-A INPUT -j neutron-l3-agent-INPUT
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:neutron-l3-agent-OUTPUT - [0:0]
:neutron-l3-agent-PREROUTING - [0:0]
:neutron-l3-agent-float-snat - [0:0]
:neutron-l3-agent-snat - [0:0]
-A PREROUTING -j neutron-l3-agent-PREROUTING
-A neutron-l3-agent-OUTPUT -d 198.51.100.20/32 -j DNAT --to-destination 192.168.101.5
-A neutron-l3-agent-POSTROUTING ! -o qg-1234 -m conntrack ! --ctstate DNAT -j ACCEPT
-A neutron-l3-agent-PREROUTING -d 169.254.169.254/32 -i qr-+ -p tcp -m tcp --dport 80 -j REDIRECT --to-ports 9697
-A neutron-l3-agent-PREROUTING -d 198.51.100.20/32 -j DNAT --to-destination 192.168.101.5
-A neutron-l3-agent-float-snat -s 192.168.101.5/32 -j SNAT --to-source 198.51.100.20 --random-fully
-A neutron-l3-agent-snat -j neutron-l3-agent-float-snat
-A neutron-l3-agent-snat -o qg-1234 -j SNAT --to-source 198.51.100.10 --random-fully
-A neutron-l3-agent-snat -m mark ! --mark 0x2/0xffff -m conntrack --ctstate DNAT -j SNAT --to-source 198.51.100.10 --random-fully
-A neutron-postrouting-bottom -m comment --comment "Perform source NAT on outgoing traffic." -j neutron-l3-agent-snat
COMMIT
"""


def test_nat_rules_selects_snat_chains_and_dnat_rules_with_positions():
    rules = l3.nat_rules(SAVE)
    assert [(c, pos) for c, pos, _ in rules] == [
        ("neutron-l3-agent-OUTPUT", 1),
        ("neutron-l3-agent-PREROUTING", 2),
        ("neutron-l3-agent-float-snat", 1),
        ("neutron-l3-agent-snat", 1),
        ("neutron-l3-agent-snat", 2),
        ("neutron-l3-agent-snat", 3),
    ]
    assert rules[1][2] == "-d 198.51.100.20/32 -j DNAT --to-destination 192.168.101.5"
    # the metadata REDIRECT, the POSTROUTING ACCEPT, the jump to snat and the filter table stay
    assert not any("REDIRECT" in s or "ACCEPT" in s or "neutron-l3-agent-INPUT" in s for _, _, s in rules)


def test_nat_scripts_delete_then_reinsert_at_the_old_places():
    rules = l3.nat_rules(SAVE)
    delete = l3.nat_delete_script(rules).splitlines()
    assert delete[0] == "*nat" and delete[-1] == "COMMIT" and len(delete) == len(rules) + 2
    assert "-D neutron-l3-agent-snat -j neutron-l3-agent-float-snat" in delete
    restore = l3.nat_restore_script(list(reversed(rules))).splitlines()
    assert restore[1:-1] == [
        "-I neutron-l3-agent-OUTPUT 1 -d 198.51.100.20/32 -j DNAT --to-destination 192.168.101.5",
        "-I neutron-l3-agent-PREROUTING 2 -d 198.51.100.20/32 -j DNAT --to-destination 192.168.101.5",
        "-I neutron-l3-agent-float-snat 1 -s 192.168.101.5/32 -j SNAT --to-source 198.51.100.20 --random-fully",
        "-I neutron-l3-agent-snat 1 -j neutron-l3-agent-float-snat",
        "-I neutron-l3-agent-snat 2 -o qg-1234 -j SNAT --to-source 198.51.100.10 --random-fully",
        "-I neutron-l3-agent-snat 3 -m mark ! --mark 0x2/0xffff -m conntrack --ctstate DNAT -j SNAT "
        "--to-source 198.51.100.10 --random-fully",
    ]


def test_nat_rules_of_an_empty_or_filter_only_save():
    assert l3.nat_rules("") == []
    assert l3.nat_rules("*filter\n-A neutron-l3-agent-snat -j ACCEPT\nCOMMIT\n") == []


@pytest.mark.parametrize(
    "kind_,params", [("router-gateway-removed", {}), ("subnet-detached", {"network": "vlan"}), ("nat-removed", {})]
)
def test_router_kinds_without_a_router_say_so(lab, kind_, params):
    state, topo = lab
    with pytest.raises(LabError) as exc:
        faults.add(state, topo, kind_, params)
    assert "has no router" in exc.value.message and state.faults == []


def test_fip_disassociated_of_a_vm_without_one(lab):
    state, topo = lab
    rec = NeutronRecord.require(state)
    rec.floating_ips = {"vm3": FloatingIPRecord(id="x", address="198.51.100.20", port_id="p3")}
    rec.save(state)
    with pytest.raises(UsageError) as exc:
        faults.add(state, topo, "fip-disassociated", {"vm": "vm1"})
    assert "vm1 has no floating IP" in exc.value.message and "vm3" in exc.value.hint


def test_every_kind_is_registered_on_its_own_function():
    """A helper put between a @kind decorator and its function would register the helper instead."""
    from steth.lab.faults import KINDS

    for name, k in KINDS.items():
        assert k.apply.__name__.startswith("_"), (name, k.apply.__name__)
        assert k.apply.__code__.co_argcount == 1, name


@pytest.mark.parametrize("first", ["steth.lab.faults.l3", "steth.lab.faults.underlay", "steth.lab.faults.registry"])
def test_registration_does_not_depend_on_import_order(first):
    """Whichever kind module is imported first, the package registers the same kinds in the same areas."""
    import subprocess
    import sys

    code = (
        f"import {first}\nimport steth.lab.faults as f\n"
        "print(sorted(f.KINDS)); print(f.NEUTRON_KINDS); print(f.kinds_in('underlay'))"
    )
    got = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    want = f"{sorted(faults.KINDS)}\n{faults.NEUTRON_KINDS}\n{faults.kinds_in('underlay')}\n"
    assert got == want
    assert set(faults.NEUTRON_KINDS) == set(NEW_KINDS + OLD_KINDS + ROUTER_KINDS) | {"flood-flows-removed"}
    assert set(faults.kinds_in("underlay")) == {"link-down", "mtu", "switch-mtu", "drop", "vlan-prune", "rate-limit"}


def test_kind_modules_import_no_other_kind_module():
    """No cycle and no order dependence: a kind module imports the registry and shared lookups only."""
    import ast
    import pathlib

    import steth.lab.faults as pkg

    kinds = {"underlay", "dataplane", "ports", "agents", "l3"}
    for name in kinds:
        tree = ast.parse((pathlib.Path(pkg.__file__).parent / f"{name}.py").read_text())
        imported = {
            (node.module or "").split(".")[-1] if node.level else node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
        } | {a.name.split(".")[-1] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for a in node.names}
        assert not (imported & (kinds - {name})), (name, imported & kinds)


def test_a_kind_with_an_unknown_area_is_refused():
    with pytest.raises(ValueError):
        faults.kind("x", "h", params=(), area="nowhere")


@pytest.mark.parametrize(
    "kind_,params,words",
    [
        ("vlan-prune", {"node": "compute-1", "vlans": "nope"}, "--vlans"),
        ("rate-limit", {"node": "compute-1", "network": "tenant", "rate": "fast"}, "--rate"),
    ],
)
def test_underlay_kinds_check_their_values_before_touching_the_host(lab, kind_, params, words):
    state, topo = lab
    with pytest.raises(UsageError) as exc:
        faults.add(state, topo, kind_, params)
    assert words in exc.value.message and state.faults == []
