"""Fault kinds of the ML2/OVN lab (registered in faults/registry.py, area ovn; undone in reverse order).

* ovn-northd-stopped: ovn-northd frozen (SIGSTOP): NB changes no longer reach the SB.
* ovn-sb-quorum-lost: two of the three SB members frozen: the third has no quorum (no leader).
* ovn-lsp-deleted: a VM port's Logical_Switch_Port deleted in NB behind Neutron's back; the undo
  recreates the row with every column it had and puts it back in its switch and port groups.
"""

from __future__ import annotations

import json
from typing import Any

from ...errors import LabError, UsageError
from ...host import proc, undo
from ..neutron.record import NeutronRecord
from .neutron_base import freeze, lab_vm
from .registry import FaultContext, kind

HINT = "build it with `steth lab up --neutron --backend ovn`"


def ovn_rec(ctx: FaultContext) -> NeutronRecord:
    rec = NeutronRecord.require(ctx.state)
    if rec.backend != "ml2ovn":
        raise UsageError(f"lab {ctx.state.lab} has no ML2/OVN Neutron (its backend is {rec.backend})", HINT)
    return rec


@kind(
    "ovn-northd-stopped",
    "freeze ovn-northd (SIGSTOP): NB changes stop reaching the SB (ML2/OVN lab)",
    params=(),
    area="ovn",
)
def _northd_stopped(ctx: FaultContext) -> str:
    ovn_rec(ctx)
    return freeze(ctx, "ovn-northd", "ovn-northd", HINT).split(": Neutron")[0]


@kind(
    "ovn-sb-quorum-lost",
    "freeze two of the three SB cluster members (SIGSTOP): the third has no quorum (ML2/OVN lab)",
    params=(),
    area="ovn",
)
def _sb_quorum(ctx: FaultContext) -> str:
    members = [m["name"] for m in ovn_rec(ctx).ovn["sb"]]
    frozen = [freeze(ctx, n, n, HINT).split(" stopped")[0] for n in members[1:3]]
    return f"SB members {', '.join(frozen)} stopped (SIGSTOP); {members[0]} is left without quorum"


def nbctl(ctx: FaultContext) -> list[str]:
    remotes = ",".join(m["unix"] for m in ovn_rec(ctx).ovn["nb"])
    return ["ovn-nbctl", f"--db={remotes}", "--timeout=20"]


def _value(v: Any) -> str:
    """An ovsdb JSON value (from `--format=json list`) in ovn-nbctl's set/map syntax."""
    if isinstance(v, list) and v and v[0] == "set":
        return "[" + ",".join(_value(x) for x in v[1]) + "]"
    if isinstance(v, list) and v and v[0] == "map":
        return "{" + ",".join(f"{json.dumps(str(k))}={json.dumps(str(x))}" for k, x in v[1]) + "}"
    if isinstance(v, list) and v and v[0] == "uuid":
        return v[1]
    if isinstance(v, bool):
        return "true" if v else "false"
    return json.dumps(v) if isinstance(v, str) else str(v)


def recreate_argv(base: list[str], row: dict[str, Any], switch: str, groups: list[str]) -> list[str]:
    """One ovn-nbctl transaction that recreates an LSP row as it was, in its switch and port groups."""
    cols = ("name", "type", "addresses", "port_security", "options", "external_ids", "dhcpv4_options", "enabled")
    sets = [f"{c}={_value(row[c])}" for c in cols if c in row and row[c] not in (["set", []], ["map", []])]
    argv = [*base, "--", "--id=@p", "create", "Logical_Switch_Port", *sets, "--", "add", "Logical_Switch", switch]
    argv += ["ports", "@p"]
    for g in groups:
        argv += ["--", "add", "Port_Group", g, "ports", "@p"]
    return argv


def _json_rows(out: str) -> list[dict[str, Any]]:
    data = json.loads(out)
    return [dict(zip(data["headings"], r)) for r in data["data"]]


@kind(
    "ovn-lsp-deleted",
    "delete a VM port's Logical_Switch_Port in NB behind Neutron's back (drift; ML2/OVN lab)",
    params=("vm",),
    area="ovn",
)
def _lsp_deleted(ctx: FaultContext) -> str:
    rec = ovn_rec(ctx)
    vm = lab_vm(ctx)
    ctx.claim(f"lsp:{vm.port_id}")
    base = nbctl(ctx)
    pid = vm.port_id
    got = proc.run([*base, "--format=json", "list", "Logical_Switch_Port", pid], timeout=30)
    if got.returncode != 0:
        raise LabError(f"no Logical_Switch_Port {pid} in NB: {got.stderr.strip()}")
    row = _json_rows(got.stdout)[0]
    switch = f"neutron-{rec.networks[vm.network]}"
    pgs = proc.run([*base, "--format=json", "--columns=name,ports", "list", "Port_Group"], timeout=30)
    uuid = row["_uuid"][1]
    groups = [g["name"] for g in _json_rows(pgs.stdout) if uuid in json.dumps(g["ports"])]
    ctx.record(undo.argv(recreate_argv(base, row, switch, groups)))
    ctx.run([*base, "lsp-del", pid], None)
    return f"{vm.name}: Logical_Switch_Port {pid} deleted from {switch} (was in {', '.join(groups) or 'no group'})"


def sbctl(ctx: FaultContext) -> list[str]:
    remotes = ",".join(m["unix"] for m in ovn_rec(ctx).ovn["sb"])
    return ["ovn-sbctl", f"--db={remotes}", "--timeout=20"]


def _rows(ctx: FaultContext, table: str, *conditions: str) -> list[dict[str, Any]]:
    base = nbctl(ctx)
    argv = (
        [*base, "--format=json", "find", table, *conditions] if conditions else [*base, "--format=json", "list", table]
    )
    got = proc.run(argv, timeout=30)
    if got.returncode != 0:
        raise LabError(f"ovn-nbctl could not read {table}: {got.stderr.strip()}")
    return _json_rows(got.stdout)


def _router(ctx: FaultContext) -> str:
    rec = ovn_rec(ctx)
    if rec.router is None:
        raise LabError(f"lab {ctx.state.lab} has no router", HINT)
    return f"neutron-{rec.router.id}"


@kind(
    "ovn-gateway-chassis-removed",
    "delete the router gateway port's Gateway_Chassis rows in NB: no chassis hosts its SNAT (ML2/OVN lab)",
    params=(),
    area="ovn",
)
def _gateway_chassis_removed(ctx: FaultContext) -> str:
    router = _router(ctx)
    ctx.claim(f"gateway chassis of {router}")
    base = nbctl(ctx)
    gcs = _rows(ctx, "Gateway_Chassis")
    lrps = [p for p in _rows(ctx, "Logical_Router_Port") if p["gateway_chassis"] != ["set", []]]
    done = []
    for lrp in lrps:
        refs = lrp["gateway_chassis"]
        uuids = {r[1] for r in refs[1]} if refs[0] == "set" else {refs[1]}
        for gc in gcs:
            if gc["_uuid"][1] in uuids:
                ctx.record(
                    undo.argv([*base, "lrp-set-gateway-chassis", lrp["name"], gc["chassis_name"], str(gc["priority"])])
                )
                ctx.run([*base, "lrp-del-gateway-chassis", lrp["name"], gc["chassis_name"]], None)
                done.append(f"{gc['chassis_name']} (prio {gc['priority']})")
    if not done:
        raise LabError(f"router {router} has no gateway port with gateway chassis", HINT)
    return f"gateway chassis {', '.join(done)} deleted from {', '.join(p['name'] for p in lrps)}"


@kind(
    "ovn-dhcp-options-deleted",
    "delete the DHCP_Options row of a VM's subnet in NB behind Neutron's back: OVN answers no DHCP there (ML2/OVN lab)",
    params=("vm",),
    area="ovn",
)
def _dhcp_options_deleted(ctx: FaultContext) -> str:
    rec = ovn_rec(ctx)
    vm = lab_vm(ctx)
    subnet = rec.subnets[vm.network]
    ctx.claim(f"dhcp options of {subnet}")
    base = nbctl(ctx)
    rows = [
        r
        for r in _rows(ctx, "DHCP_Options", f"external_ids:subnet_id={subnet}")
        if "port_id" not in json.dumps(r["external_ids"])
    ]
    if not rows:
        raise LabError(f"no DHCP_Options row for subnet {subnet} in NB")
    row = rows[0]
    uuid = row["_uuid"][1]
    users = [p["name"] for p in _rows(ctx, "Logical_Switch_Port", f"dhcpv4_options={uuid}")]
    sets = [f"{c}={_value(row[c])}" for c in ("cidr", "options", "external_ids") if row[c] not in (["map", []],)]
    argv = [*base, "--", "--id=@d", "create", "DHCP_Options", *sets]
    for name in users:
        argv += ["--", "set", "Logical_Switch_Port", name, "dhcpv4_options=@d"]
    ctx.record(undo.argv(argv))
    ctx.run([*base, "dhcp-options-del", uuid], None)
    return f"DHCP_Options {row['cidr']} of subnet {subnet} deleted (used by {len(users)} port(s))"


@kind(
    "ovn-fip-nat-removed",
    "delete the dnat_and_snat NAT row of a VM's floating IP in NB behind Neutron's back (ML2/OVN lab)",
    params=("vm",),
    area="ovn",
)
def _fip_nat_removed(ctx: FaultContext) -> str:
    rec = ovn_rec(ctx)
    vm = lab_vm(ctx)
    fip = rec.floating_ips.get(vm.name)
    if fip is None:
        raise LabError(f"{vm.name} has no floating IP", f"VMs with one: {', '.join(rec.floating_ips) or 'none'}")
    router = _router(ctx)
    ctx.claim(f"nat {fip.address}")
    base = nbctl(ctx)
    rows = _rows(ctx, "NAT", "type=dnat_and_snat", f"external_ip={fip.address}")
    if not rows:
        raise LabError(f"no dnat_and_snat NAT row for {fip.address} in NB")
    row = rows[0]
    cols = ("type", "external_ip", "logical_ip", "logical_port", "external_mac", "external_ids", "options")
    sets = [f"{c}={_value(row[c])}" for c in cols if c in row and row[c] not in (["set", []], ["map", []])]
    ctx.record(
        undo.argv([*base, "--", "--id=@n", "create", "NAT", *sets, "--", "add", "Logical_Router", router, "nat", "@n"])
    )
    ctx.run([*base, "remove", "Logical_Router", router, "nat", row["_uuid"][1]], None)
    return f"{vm.name}: NAT dnat_and_snat {fip.address} -> {row['logical_ip']} deleted from {router}"
