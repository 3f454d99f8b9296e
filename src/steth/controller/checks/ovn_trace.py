"""`steth ovn trace PORT --to ADDRESS[:PORT]`: OVN's logical view of one flow, summarised.

The microflow is filled from Neutron and the NB (inport, MACs, IPs; the router port's MAC when the
destination is off-subnet), ``ovn-trace --detailed`` runs it against the Southbound DB, and its stages
are read back: delivered (to which port) or dropped (at which datapath and logical stage); an ACL drop
names the security group rule (the ACL's external_ids) or Neutron's default drop group.
"""

from __future__ import annotations

import ipaddress
import re
import subprocess
from dataclasses import dataclass, field
from typing import Any

from ...errors import OvnError, UsageError
from ...openstack.ovn_model import NbSnapshot

STAGE_RE = re.compile(r"^\s*(\d+)\. (\w+) \([^)]*\): (.*), priority (\d+), uuid ([0-9a-f]+)\s*$")
# a multicast (flood) nests its egress pipelines, indented under `multicast(dp=..., mcgroup=...)`
PIPELINE_RE = re.compile(r'^\s*(ingress|egress)\(dp="([^"]+)"')
OUTPUT_RE = re.compile(r'/\* output to "([^"]+)"')
ACL_PRIORITY_OFFSET = 1000  # northd puts an ACL of priority P at logical flow priority P + 1000
TIMEOUT = 30.0


@dataclass
class Stage:
    pipeline: str  # ingress | egress
    datapath: str
    table: int
    name: str  # ls_in_acl ...
    match: str
    priority: int
    actions: list[str] = field(default_factory=list)


@dataclass
class TraceResult:
    flow: str
    datapath: str
    stages: list[Stage]
    delivered_to: str = ""  # the logical port the packet leaves by ("" when dropped)
    drop: Stage | None = None
    acl: str = ""  # which rule or group dropped it, for an ACL stage

    @property
    def delivered(self) -> bool:
        return bool(self.delivered_to)


def parse(text: str) -> tuple[list[Stage], str]:
    """The stages of `ovn-trace --detailed` output and the last port it outputs to."""
    stages: list[Stage] = []
    pipeline, datapath, output = "", "", ""
    for line in text.splitlines():
        m = PIPELINE_RE.match(line)
        if m:
            pipeline, datapath = m.group(1), m.group(2)
            continue
        m = STAGE_RE.match(line)
        if m:
            stages.append(Stage(pipeline, datapath, int(m.group(1)), m.group(2), m.group(3), int(m.group(4))))
            continue
        o = OUTPUT_RE.search(line)
        if o:
            output = o.group(1)
        if stages and line.startswith("    ") and line.strip():
            stages[-1].actions.append(line.strip())
    return stages, output


def _own_actions(stage: Stage) -> list[str]:
    return [a for a in stage.actions if not a.startswith(("/*", "*"))]


def judge(flow: str, datapath: str, text: str, nb: NbSnapshot) -> TraceResult:
    stages, output = parse(text)
    result = TraceResult(flow, datapath, stages)
    last = stages[-1] if stages else None
    if last is not None and last.pipeline == "egress" and output and "output;" in " ".join(last.actions):
        result.delivered_to = output
        return result
    dropping = [s for s in stages if any(a.startswith("drop;") for a in _own_actions(s))]
    result.drop = dropping[-1] if dropping else last
    if result.drop is not None and "_acl" in result.drop.name:
        result.acl = acl_of(result.drop, nb)
    return result


def acl_of(stage: Stage, nb: NbSnapshot) -> str:
    """The Neutron security group rule (or the default drop group) whose ACL this logical flow is."""
    prio = stage.priority - ACL_PRIORITY_OFFSET
    for pg in nb.port_groups.values():
        if f"@{pg.name}" not in stage.match:
            continue
        for acl in pg.acls:
            if acl.priority == prio and acl.match in stage.match:
                rule = acl.external_ids.get("neutron:security_group_rule_id")
                if rule:
                    return f"security group rule {rule} ({acl.direction} {acl.match} -> {acl.action})"
                if pg.name == "neutron_pg_drop":
                    return "no security group rule allows it (Neutron's default drop: Port_Group neutron_pg_drop)"
                return f"ACL {acl.direction} {acl.match} -> {acl.action} of {pg.name}"
    return f"logical flow {stage.name} priority {stage.priority}: {stage.match}"


def microflow(port: dict[str, Any], dst: str, proto: str, dport: int | None, nb: NbSnapshot, cidrs: list[str]) -> str:
    """The ovn-trace expression for a packet from Neutron ``port`` to ``dst`` (IPv4)."""
    if not port.get("fixed_ips"):
        raise UsageError(f"port {port['id']} has no fixed IP")
    src = port["fixed_ips"][0]["ip_address"]
    try:
        dst_ip = ipaddress.ip_address(dst)
    except ValueError:
        raise UsageError(f"--to {dst!r} is not an IP address") from None
    if dst_ip.version != 4 or ipaddress.ip_address(src).version != 4:
        raise UsageError("ovn trace handles IPv4 only")
    dst_mac = _next_hop_mac(port, str(dst_ip), nb, cidrs)
    expr = (
        f'inport == "{port["id"]}" && eth.src == {port["mac_address"]} && eth.dst == {dst_mac} && '
        f"ip4.src == {src} && ip4.dst == {dst_ip} && ip.ttl == 64"
    )
    if proto == "icmp":
        return expr + " && icmp4.type == 8 && icmp4.code == 0"
    if dport is None:
        raise UsageError(f"--proto {proto} needs a destination port: --to ADDRESS:PORT")
    return expr + f" && {proto}.src == 40000 && {proto}.dst == {dport}"


def _next_hop_mac(port: dict[str, Any], dst: str, nb: NbSnapshot, cidrs: list[str]) -> str:
    """The destination's own MAC on the same subnet, else the router port's MAC on the port's network."""
    switch = f"neutron-{port['network_id']}"
    on_link = any(ipaddress.ip_address(dst) in ipaddress.ip_network(c) for c in cidrs)
    for lsp in nb.ports.values():
        if lsp.switch != switch:
            continue
        if on_link and lsp.type == "" and any(dst in a.split()[1:] for a in lsp.addresses):
            return lsp.addresses[0].split()[0]
        if not on_link and lsp.type == "router":
            lrp = nb.router_ports.get(lsp.options.get("router-port", ""))
            if lrp is not None:
                return lrp.mac
    where = "no port with that address on its network" if on_link else "no router port on its network"
    raise UsageError(f"cannot fill the destination MAC for {dst}: {where}")


def run_trace(sb_remotes: list[str], datapath: str, flow: str, ssl: tuple[str, str, str] | None = None) -> str:
    """``ovn-trace --detailed`` against the Southbound DB (argv only, bounded); ``ssl``: key, cert, CA."""
    argv = ["ovn-trace", f"--db={','.join(sb_remotes)}"]
    if ssl:
        argv += [f"--private-key={ssl[0]}", f"--certificate={ssl[1]}", f"--ca-cert={ssl[2]}"]
    argv += ["--detailed", datapath, flow]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    except FileNotFoundError:
        raise OvnError("ovn-trace is not installed here", "install Debian's ovn-common (it has ovn-trace)") from None
    except subprocess.TimeoutExpired:
        raise OvnError(f"ovn-trace did not finish within {TIMEOUT:g} s") from None
    if done.returncode != 0:
        raise OvnError(f"ovn-trace failed (exit {done.returncode}): {done.stderr.strip()[-400:]}")
    return done.stdout
