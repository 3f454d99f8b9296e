"""`steth lab up|down|status|config|demo` and `steth lab agent stop|start`.

The lab's modules (builder, status, faults) are imported inside each command's action: they
load netlink and the wire models, which `steth lab ... --help` does not need."""

from __future__ import annotations

import argparse
import os
import sys

from ...errors import UsageError
from ...lab.topology import AGENT_PORT
from .base import StethCommand, StethLister, add_name, progress_printer

progress = progress_printer("lab")


class LabUp(StethCommand):
    """Build the lab: a network node and N compute nodes as namespaces, switches, an agent on each.

    With --neutron also a real Neutron (ML2/Open vSwitch) with per-node OVS and agents,
    a VLAN and a VXLAN network, VMs with DHCP leases, and a router (SNAT, a floating IP on vm1)
    to an "internet" namespace (203.0.113.10 with TCP 80, DNS on 203.0.113.53)."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        add_name(parser)
        parser.add_argument("--computes", type=int, default=2, help="number of compute nodes (default 2)")
        parser.add_argument(
            "--static-neighbours",
            choices=["auto", "yes", "no"],
            default="auto",
            help="pin ARP entries between lab nodes; auto: when a full mesh would overflow "
            "the kernel's shared ARP table (more than ~12 nodes)",
        )
        parser.add_argument(
            "--neutron",
            action="store_true",
            help="also run a real Neutron (ML2/Open vSwitch) with per-node OVS and agents, a VLAN "
            "and a VXLAN network, VMs with DHCP leases and a router to an 'internet' namespace "
            "(needs scripts/setup.sh)",
        )
        parser.add_argument(
            "--backend",
            choices=["ovs", "ovn", "linuxbridge"],
            default="ovs",
            help="with --neutron: ovs (ML2/Open vSwitch with agents, default) or ovn (ML2/OVN: NB and SB "
            "as 3-member Raft clusters, ovn-northd, ovn-controller per node, a Geneve and a VLAN network "
            "with OVN DHCP, router with SNAT on the network node as gateway chassis) or linuxbridge (ML2/Linux "
            "bridge agents, kernel VXLAN with l2population, iptables security groups, DHCP and L3 agents; "
            "VLAN networks are refused: no 8021q on this kernel)",
        )
        parser.add_argument(
            "--dvr",
            action="store_true",
            help="with --neutron (ovs): distributed routers: an L3 agent in dvr mode on every compute node "
            "(qrouter-, fip- with the floating IP), dvr_snat on the network node (snat-)",
        )
        return parser

    def take_action(self, args: argparse.Namespace) -> int:
        if args.backend != "ovs" and not args.neutron:
            raise UsageError("--backend needs --neutron", "e.g. `steth lab up --neutron --backend ovn`")
        if args.dvr and (not args.neutron or args.backend != "ovs"):
            raise UsageError("--dvr needs --neutron with the ovs backend", "e.g. `steth lab up --neutron --dvr`")
        from ...lab import build as lab_build

        state = lab_build.up(
            args.name,
            args.computes,
            progress=progress,
            static_neighbours=args.static_neighbours,
            neutron=args.neutron,
            backend=args.backend,
            dvr=args.dvr,
        )
        conf = lab_build.config_path(state)
        print(f"lab {state.lab} is up: network node and {state.computes} compute nodes, agents on port {AGENT_PORT}")
        print(f"controller config: {conf}")
        print(f"use it with:  export STETH_CONFIG={conf}   (or --config-file {conf})")
        print("then e.g.:    steth agent list")
        if args.neutron:
            from ...lab import neutron

            rec = neutron.NeutronRecord.require(state)
            print(
                f"Neutron: cloud {neutron.cloud_name(state)} of {neutron.clouds_path(state)}, named in the "
                f"config's [openstack] (STETH_CONFIG is the one export)   (up in {rec.up_seconds} s)"
            )
        return 0


class LabDown(StethCommand):
    """Remove the lab: exactly what `lab up` recorded, nothing else."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        add_name(parser)
        return parser

    def take_action(self, args: argparse.Namespace) -> int:
        from ...lab import build as lab_build

        state = lab_build.down(args.name, progress=progress)
        if state is None:
            print(f"there is no lab called {args.name}; nothing to do")
        else:
            print(f"lab {args.name} removed ({len(state.namespaces)} namespaces, {len(state.agents)} agents)")
        return 0


class LabStatus(StethLister):
    """Show the lab's nodes: namespace, interfaces and addresses, agent PID and state.

    A lab built with --neutron also lists its Neutron networks, VMs (node, plugging, port, MAC,
    fixed IP, the address the VM leased, port status), Neutron agents and lab processes; for
    those rows the `agent` column holds the details. `--view vm` (network, router, floating-ip,
    agent, process; netns: with --dvr, each node's qrouter-/fip-/snat-) lists one kind of row
    with a column per fact, for scripts: `-f json --view vm`.
    """

    VIEWS = ("nodes", "network", "vm", "router", "floating-ip", "internet", "agent", "process", "netns")

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        add_name(parser)
        parser.add_argument(
            "--view",
            choices=self.VIEWS,
            help="one kind of row, each fact in a column of its own (default: every row, details in one column)",
        )
        return parser

    def take_action(self, args: argparse.Namespace):
        from ...lab.status import require, status

        if args.view and args.view != "nodes":
            from ...lab.status import neutron_status

            kind = [r for r in neutron_status(require(args.name)) if r.kind == args.view]
            facts = list(dict.fromkeys(k for r in kind for k in r.fields))
            columns = ["name", "namespace", *facts, "state"]
            return columns, [[r.name, r.namespace, *(r.fields.get(k, "") for k in facts), r.state] for r in kind]

        _, rows = status(args.name)
        columns = ["node", "role", "namespace", "interfaces", "agent", "agent_pid", "agent_state"]
        fmt_json = getattr(args, "formatter", "table") in ("json", "yaml")
        data = []
        for r in rows:
            ifaces = (
                r.interfaces
                if fmt_json
                else "\n".join(f"{name} {' '.join(addrs)}".strip() for name, addrs in sorted(r.interfaces.items()))
            )
            data.append([r.node, r.role, r.namespace, ifaces, r.agent_address, r.agent_pid, r.agent_state])
        if args.view == "nodes":
            return columns, data
        # with --neutron: networks, VMs (port, MAC, fixed IP, leased address), Neutron agents, processes
        from ...lab.status import neutron_status

        state = require(args.name)
        for n in neutron_status(state):
            data.append([n.name, n.kind, n.namespace, {} if fmt_json else "", n.detail, n.pid, n.state])
        return columns, data


class LabConfig(StethCommand):
    """Print the controller config for the lab, or write it to a file with -o."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        add_name(parser)
        parser.add_argument("-o", "--output", help="write the config to this file instead of stdout")
        return parser

    def take_action(self, args: argparse.Namespace) -> int:
        from ...lab import build as lab_build
        from ...lab.status import require

        state = require(args.name)
        text = lab_build.controller_config_text(state)
        if args.output:
            if os.path.exists(args.output) and os.path.samefile(args.output, lab_build.config_path(state)):
                return 0
            with open(args.output, "w", encoding="utf-8") as fh:
                fh.write(text)
            print(f"wrote {args.output}", file=sys.stderr)
        else:
            sys.stdout.write(text)
        return 0


class LabAgent(StethCommand):
    """Stop or start one lab node's agent (to see how steth reports a dead agent)."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        add_name(parser)
        parser.add_argument("action", choices=["stop", "start"])
        parser.add_argument("node", help="lab node, e.g. compute-1")
        return parser

    def take_action(self, args: argparse.Namespace) -> int:
        from ...lab import build as lab_build
        from ...lab.status import require

        state = require(args.name)
        builder = lab_build.LabBuilder(state)
        node = builder.topo.node(args.node)
        if args.action == "stop":
            stopped = builder.stop_agent(node)
            print(f"agent on {node.name} {'stopped' if stopped else 'was not running'}")
            return 0
        rec = state.agent(node.name)
        if lab_build.agent_running(rec):
            raise UsageError(f"the agent on {node.name} is already running (pid {rec.pid})")
        builder.start_agent(node)
        problems = lab_build.wait_for_agents(state, timeout=20)
        if node.name in problems:
            raise UsageError(f"agent on {node.name} did not start: {problems[node.name]}")
        print(f"agent on {node.name} started")
        return 0


class LabDemo(StethCommand):
    """Build the lab, run every check against it, show the results, and remove it (unless --keep)."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        add_name(parser)
        parser.add_argument("--computes", type=int, default=2, help="number of compute nodes (default 2)")
        parser.add_argument("--keep", action="store_true", help="leave the lab up afterwards")
        parser.add_argument(
            "--neutron",
            action="store_true",
            help="also bring up the lab's Neutron (1-2 minutes, ~2 GB) and show `steth doctor`: "
            "a healthy VM, then the same VM with a fault injected",
        )
        return parser

    def _step(self, title: str, argv: list[str]) -> int:
        print(f"\n$ steth {' '.join(argv)}    # {title}", flush=True)
        rc = self.app.run_subcommand(argv)
        sys.stdout.flush()
        print(f"(exit status {rc})")
        return rc

    def take_action(self, args: argparse.Namespace) -> int:
        from ...lab import build as lab_build
        from ...lab.build import topology_of

        print(
            f"$ steth lab up --name {args.name} --computes {args.computes}{' --neutron' if args.neutron else ''}",
            flush=True,
        )
        state = lab_build.up(args.name, args.computes, progress=progress, neutron=args.neutron)
        topo = topology_of(state)
        computes = ",".join(n.name for n in topo.nodes if n.role == "compute")
        self.app.options.config_file = lab_build.config_path(state)
        failures = 0
        try:
            failures += self._step("every agent alive, with its address on each network", ["agent", "list"]) != 0
            failures += (
                self._step(
                    "an interface as the agent sees it", ["interface", "show", "network", topo.management.node_ifname]
                )
                != 0
            )
            failures += (
                self._step(
                    f"network node to every compute on the {topo.networks[1].name} network",
                    ["ping", "network", computes, "--network", topo.networks[1].name],
                )
                != 0
            )
            failures += (
                self._step("every node to every node on every network, all at once", ["check", "mesh", "--count", "3"])
                != 0
            )
            failures += self._step("path MTU between every pair on every network", ["check", "mtu"]) != 0
            failures += (
                self._step(
                    "every VLAN carried to every node's tenant trunk (raw 802.1Q frames)",
                    ["check", "vlan", "--network", "tenant", "--vlans", "untagged,1-4094"],
                )
                != 0
            )
            self._step("the original command names still work", ["print-agents-info", "-c", "name", "-c", "alive"])
            if args.neutron:
                failures += self._doctor(state, args.name)
        finally:
            if args.keep:
                print(
                    f"\nlab {args.name} kept: export STETH_CONFIG={lab_build.config_path(state)}; "
                    f"remove it with `steth lab down --name {args.name}`"
                )
            else:
                print(f"\n$ steth lab down --name {args.name}")
                lab_build.down(args.name, progress=progress)
        print(f"\ndemo: {'all checks passed' if not failures else f'{failures} check(s) found problems'}")
        return 1 if failures else 0

    def _doctor(self, state, name: str) -> int:
        """doctor on a healthy VM, then with a fault it must name (its exit 1 is the expected answer)."""
        import os

        from ...lab import faults, neutron
        from ...lab.build import topology_of

        os.environ.update(OS_CLIENT_CONFIG_FILE=neutron.clouds_path(state), OS_CLOUD=neutron.cloud_name(state))
        external = neutron.NeutronRecord.require(state).external
        internet = external.internet_host if external else "203.0.113.10"
        vm = f"{name}-vm2"
        failures = self._step("Neutron's agents", ["neutron", "agent", "list"]) != 0
        failures += (
            self._step(
                "a VM's whole path, and can it reach the internet host?",
                ["doctor", vm, "--to", internet, "-c", "check", "-c", "verdict", "-c", "evidence"],
            )
            != 0
        )
        fault = faults.add(state, topology_of(state), "sg-missing-rule", {"vm": "vm2"})
        print(f"\n$ steth lab fault add sg-missing-rule --vm vm2 --name {name}\n{fault['id']}: {fault['description']}")
        try:
            rc = self._step(
                "the same question with the fault: doctor names the root cause (exit 1)",
                ["doctor", vm, "--to", internet, "-c", "check", "-c", "verdict"],
            )
            failures += rc != 1
        finally:
            faults.remove(state, fault["id"])
            print(f"$ steth lab fault remove {fault['id']} --name {name}")
        return failures
