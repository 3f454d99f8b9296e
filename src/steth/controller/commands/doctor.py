"""`steth doctor VM|PORT|IP [--to ADDRESS[:PORT]]`: one command for "why can't this VM get an address
or reach the internet" — every link of the path checked in order, the first broken one named."""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

from ...errors import EXIT_NOT_PROVEN, EXIT_OK, EXIT_PROBLEM, EXIT_UNREACHABLE, UsageError
from ...report import html
from ...wire.verdict import Verdict
from ..client import AgentClient, run
from ..doctor import chains
from ..doctor.backend import Backend, detect
from ..doctor.diagnose import diagnose
from ..doctor.evidence import Evidence
from ..doctor.facts import Target, gather
from ..doctor.model import CheckResult, Diagnosis
from ..doctor.registry import Chain
from .base import StethLister, progress_printer

COLUMNS = ["#", "plane", "check", "verdict", "evidence", "cause", "next_step"]


def verdict_of(d: Diagnosis) -> str:
    if d.healthy:
        return "healthy"
    if d.root_cause:
        return "cause found"
    return "inconclusive" if d.inconclusive else "not proven"


def rows_of(checks: list[CheckResult], d: Diagnosis) -> list[list[object]]:
    rows: list[list[object]] = [
        [
            i + 1,
            c.plane,
            c.check,
            c.verdict.value,
            c.evidence,
            c.cause if c.failed else "",
            c.next_step if c.verdict != Verdict.OK else "",
        ]
        for i, c in enumerate(checks)
    ]
    root = d.root_cause
    rows.append(
        [
            "",
            "",
            "diagnosis",
            verdict_of(d),
            d.summary,
            root.cause if root else "",
            root.next_step if root else "",
        ]
    )
    return rows


class Doctor(StethLister):
    """Why can't this VM get an address, or reach the internet? Walks the whole path of one port:
    Neutron's records (port, binding, agents, DHCP, security groups, router, floating IP), then
    the data plane through the steth agents (br-int port and tag, tunnel/VLAN path and MTU between
    the compute and network nodes, a DHCP trace, pings from the qdhcp/qrouter namespaces, NAT
    rules, the router's gateway and --to), and the VM's own packet: an ICMP echo (a TCP SYN for
    --to ADDRESS:PORT; without --to, to the subnet's gateway) injected as the VM on its br-int
    port (on Linux bridge: into its brq bridge) and captured at once on every hop (tap/qvb/qvo or
    vxlan-<vni>, both uplinks, qr-, qg-, the external NIC),
    naming the last hop that saw the request and the reply. Prints every check with its evidence
    and names the first broken link as the root cause, with the next step. The checks follow the
    cloud's backend, read from Neutron's agents (--backend overrides). Healthy needs positive
    proof: the VM's own packet went through and back. Exit 0 healthy, 1 cause found, 2 bad input
    or a backend doctor has no chain for yet, 3 a check could not run (agent unreachable),
    4 not proven (nothing found broken, but a link of the path could not be proven good)."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "ref",
            metavar="VM|PORT|IP",
            help="server name or ID, port name or ID, MAC, fixed IP, or floating IP address",
        )
        parser.add_argument(
            "--to",
            metavar="ADDRESS[:PORT]",
            help="also check that the VM can reach ADDRESS (ICMP), or ADDRESS:PORT (TCP), "
            "through its router: security group egress, SNAT, the router's path",
        )
        parser.add_argument(
            "--backend",
            choices=[b.value for b in Backend],
            help="the Neutron backend whose chain of checks to walk (default: detected from Neutron's agents: "
            "OVN Controller agents -> ovn, Linux bridge agents -> linuxbridge, L3 agents in DVR mode -> "
            "ovs-dvr, else ovs)",
        )
        parser.add_argument("--html", metavar="FILE", help="also write the report as a self-contained HTML page")
        return parser

    def take_action(self, args: argparse.Namespace) -> tuple[list[str], list[list[object]]]:
        target = Target.parse(args.to) if args.to else None
        if args.backend:
            _chain(Backend(args.backend), "was asked for with --backend")  # before asking the cloud anything
        t0 = time.monotonic()
        progress = progress_printer("doctor")
        progress(f"asking Neutron about {args.ref}")
        cloud = self.cloud
        facts = gather(cloud, args.ref, target)
        if args.backend:
            backend, how = Backend(args.backend), "--backend"
        else:
            backend, how = detect(facts.agents)
        chain = _chain(backend, f"was detected ({how})")
        progress(f"{backend.value} backend ({how}): probing the path through the agents")
        config = self.config

        async def collect() -> Evidence:
            async with AgentClient(config) as client:
                return await chain.collect(client, config, facts)

        evidence = run(collect()) if facts.port is not None else Evidence()
        progress("judging the chain")
        checks = chain.judge(facts, evidence)
        d = diagnose(checks, require_proof=chain.proves)
        if d.healthy:
            self.exit_status = EXIT_OK
        elif d.root_cause is not None:
            self.exit_status = EXIT_PROBLEM
        elif d.inconclusive:
            self.exit_status = EXIT_UNREACHABLE
        else:
            self.exit_status = EXIT_NOT_PROVEN
        rows = rows_of(checks, d)
        what = facts.port.id if facts.port else args.ref
        head = [
            f"steth doctor {args.ref}"
            + (f" --to {target.describe()}" if target else "")
            + f": port {what}, {backend.value} chain ({time.monotonic() - t0:.1f} s)",
            d.summary,
        ]
        if d.root_cause:
            head.append(f"next step: {d.root_cause.next_step}")
        if d.not_proven:
            head.append("not proven: " + "; ".join(d.not_proven))
        if d.symptoms:
            head.append("symptoms of it: " + "; ".join(d.symptoms))
        if facts.other_ports:
            head.append(f"the server has more ports, not examined: {', '.join(facts.other_ports)}")
        if args.html:

            def cls(row: Sequence[object]) -> str:
                if row[2] == "diagnosis":
                    return "cause" if not d.healthy else "ok"
                return str(row[3])

            html.write(args.html, html.table_page(f"steth doctor {args.ref}", head, COLUMNS, rows, d.healthy, cls))
        self.summary = head  # under the table, or on stderr with -f json/yaml so stdout stays parseable
        return COLUMNS, rows


def _chain(backend: Backend, how: str) -> Chain:
    chain = chains.chain_for(backend)
    if chain is None:
        have = ", ".join(b.value for b in chains.available())
        raise UsageError(
            f"the {backend.value} backend {how}, but doctor's chain of checks for {backend.value} is not available yet",
            f"doctor walks these backends today: {have}; --backend {Backend.OVS.value} forces the ML2/OVS chain, "
            "whose checks may not fit this cloud",
        )
    return chain
