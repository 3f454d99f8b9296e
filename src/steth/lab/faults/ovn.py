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
