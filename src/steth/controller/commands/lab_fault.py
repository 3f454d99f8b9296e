"""`steth lab fault add|list|kinds|remove`: the lab's reversible faults.

The fault registry is imported inside each command: `steth lab fault ... --help` does not load it."""

from __future__ import annotations

import argparse
import sys

from ...errors import UsageError
from .base import StethCommand, StethLister, add_name


class LabFaultAdd(StethCommand):
    """Inject a reversible fault into the lab (see `steth lab fault kinds`)."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        from ...lab.faults import KINDS

        parser = super().get_parser(prog_name)
        add_name(parser)
        parser.add_argument("kind", choices=sorted(KINDS), help="fault kind")
        parser.add_argument("--node", help="lab node the fault is on, e.g. compute-1 (ovs-agent-down: its agent)")
        parser.add_argument(
            "--network", help="lab network: management, tenant or storage (Neutron kinds: vlan or vxlan)"
        )
        parser.add_argument("--to", help="peer node (for drop: traffic from --node to --to)")
        parser.add_argument(
            "--mtu",
            type=int,
            help="MTU for mtu / switch-mtu / underlay-mtu (68-65535; "
            "underlay-mtu default: the VM's network MTU + encapsulation overhead - 100)",
        )
        parser.add_argument("--rate", help="rate for rate-limit, e.g. 100mbit")
        parser.add_argument("--vlans", help="VLAN ids, e.g. 105 or 100-110,200")
        parser.add_argument("--vm", help="Neutron lab VM, e.g. vm1 (the Neutron kinds that act on one VM or its port)")
        parser.add_argument("--tag", type=int, help="VLAN tag for port-wrong-tag (default 4094)")
        return parser

    def take_action(self, args: argparse.Namespace) -> int:
        from ...lab import build as lab_build
        from ...lab import faults
        from ...lab.status import require

        if args.mtu is not None and not 68 <= args.mtu <= 65535:
            raise UsageError(f"--mtu {args.mtu} is out of range 68-65535")
        state = require(args.name)
        topo = lab_build.topology_of(state)
        params = {p: getattr(args, p) for p in faults.PARAMS}
        fault = faults.add(state, topo, args.kind, params)
        print(f"{fault['id']}: {fault['description']}")
        return 0


class LabFaultList(StethLister):
    """List the faults injected into the lab."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        add_name(parser)
        return parser

    def take_action(self, args: argparse.Namespace):
        from ...lab.status import require

        state = require(args.name)
        rows = [
            [f["id"], f["kind"], " ".join(f"{k}={v}" for k, v in f["params"].items()), f["description"]]
            for f in state.faults
        ]
        return ["id", "kind", "params", "description"], rows


class LabFaultKinds(StethLister):
    """List the kinds of fault the lab can inject and what each needs."""

    def take_action(self, args: argparse.Namespace):
        from ...lab.faults import KINDS

        return ["kind", "needs", "description"], [
            [k.name, " ".join([*(f"--{p}" for p in k.params), *(f"[--{p}]" for p in k.optional)]), k.help]
            for k in sorted(KINDS.values(), key=lambda k: k.name)
        ]


class LabFaultRemove(StethCommand):
    """Remove one fault (by id) or all of them, restoring the lab."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        add_name(parser)
        parser.add_argument("id", nargs="?", help="fault id from `steth lab fault list`")
        parser.add_argument("--all", action="store_true", help="remove every fault")
        return parser

    def take_action(self, args: argparse.Namespace) -> int:
        from ...lab import faults
        from ...lab.status import require

        if bool(args.id) == bool(args.all):
            raise UsageError("give a fault id or --all (not both)")
        state = require(args.name)
        problems = faults.remove_all(state) if args.all else faults.remove(state, args.id)
        for p in problems:
            print(f"warning: {p}", file=sys.stderr)
        print("all faults removed" if args.all else f"{args.id} removed")
        return 1 if problems else 0
