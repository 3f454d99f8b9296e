"""`steth capture`: packets of one interface, or of several hops at once merged into one pcapng.

    steth capture AGENT IFACE [--netns NS] [--filter BPF] [--duration S] [--count N] [--snaplen N] [-w FILE]
    steth capture --hop AGENT:IFACE[@NETNS] --hop ... [--filter BPF] [--duration S] -w FILE.pcapng

Without -w a line per packet as it arrives; with -w a pcap (one hop, FILE not
ending in .pcapng; written as it arrives) or a pcapng (several hops, one
interface block each, packets in time order). A table of packets per hop
ends the output. Ctrl-C stops every capture and still writes what was captured.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import BinaryIO

from pydantic import ValidationError

from ...errors import EXIT_OK, EXIT_PROBLEM, EXIT_UNREACHABLE, UsageError
from ...wire.capture import MAX_SNAPLEN
from ...wire.pcap import write_pcap
from ..capture import CaptureRun, Hop, HopCapture, plan_hops
from ..client import AgentClient, run
from ..decode import summary_line
from .base import StethCommand
from .interfaces import ifname_arg
from .ping import request_error


def _positive(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text!r} must be more than 0")
        return value

    return parse


def _print_table(columns: list[str], rows: list[list], out) -> None:
    cells = [columns] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    for i, r in enumerate(cells):
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip(), file=out)
        if i == 0:
            print("  ".join("-" * w for w in widths), file=out)


class CaptureCommand(StethCommand):
    """Capture packets on an interface of a node (or on several hops at once, merged into one pcapng)."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("agent", nargs="?", help="node to capture on (or use --hop)")
        parser.add_argument("interface", nargs="?", type=ifname_arg, help="interface on that node")
        parser.add_argument(
            "--netns",
            help="namespace of the interface on that node (qdhcp-..., qrouter-..., "
            "snat-..., fip-..., any named namespace); default: the agent's",
        )
        parser.add_argument(
            "--hop",
            action="append",
            metavar="AGENT:IFACE[@NETNS]",
            help="capture on this hop; repeat for every hop: all run at the same time and "
            "are merged into one pcapng (one interface per hop, named node/interface)",
        )
        parser.add_argument(
            "--port",
            metavar="PORT_OR_SERVER",
            help="every hop of a Neutron port's path (VM tap, qvb/qvo, uplinks, the qdhcp "
            "namespace's tap), found through the OpenStack API like `check dhcp`",
        )
        parser.add_argument(
            "--physical-interface",
            default="eth1",
            metavar="IFACE",
            help="with --port: the nodes' interface carrying tenant traffic (default eth1)",
        )
        parser.add_argument(
            "--filter",
            default="",
            metavar="BPF",
            help="capture filter, tcpdump syntax (e.g. 'icmp or arp'); checked by the agent",
        )
        parser.add_argument(
            "--duration",
            type=_positive(float),
            default=60.0,
            metavar="S",
            help="stop after this many seconds (default 60; the agent's limit applies)",
        )
        parser.add_argument("--count", type=_positive(int), metavar="N", help="stop after N packets (per hop)")
        parser.add_argument(
            "--snaplen",
            type=_positive(int),
            default=MAX_SNAPLEN,
            metavar="N",
            help=f"bytes kept of each packet (default {MAX_SNAPLEN})",
        )
        parser.add_argument(
            "--max-bytes",
            type=_positive(int),
            metavar="N",
            help="stop when a hop's pcap reaches N bytes (default: the agent's limit)",
        )
        parser.add_argument(
            "-w",
            "--write",
            metavar="FILE",
            help="write FILE (pcap for one hop; pcapng for several hops or a FILE ending in "
            ".pcapng) instead of a line per packet",
        )
        from .openstack import add_openstack_options

        add_openstack_options(parser)
        return parser

    def _port_hops(self, args: argparse.Namespace, config) -> list[Hop]:
        """The path of every port of PORT_OR_SERVER, as `check dhcp` plans it."""
        from .check import plan_port_path
        from .openstack import connect_from

        cloud = connect_from(args)
        hops: list[Hop] = []
        for port in cloud.ports_of(args.port):
            plan, _found, shown = plan_port_path(config, cloud, port, args.physical_interface)
            if plan is None:
                raise UsageError(
                    f"port {port.id} has no interface on br-int of {port.binding_host} ({shown.detail})",
                    "is the VM plugged? `steth check dhcp` tells more",
                )
            hops += [Hop(h.node, h.interface, h.netns) for h in plan.hops]
        return hops

    def take_action(self, args: argparse.Namespace) -> int:
        if args.agent and not args.interface and not args.hop:
            raise UsageError("give the interface after the agent", "e.g. `steth capture compute-1 eth1`")
        config = self.config
        port_hops = self._port_hops(args, config) if args.port else None
        if port_hops is not None and args.filter:
            # uplinks carry the port's frames with their 802.1Q tag in the frame when sent, and a filter
            # without `vlan` does not look past a tag: match the same expression behind one as well
            args.filter = f"({args.filter}) or (vlan and ({args.filter}))"
        hops = plan_hops(
            hops=args.hop, agent=args.agent, interface=args.interface, netns=args.netns, port_hops=port_hops
        )
        path = args.write
        pcapng = bool(path) and (len(hops) > 1 or path.endswith(".pcapng"))
        if path and len(hops) > 1 and not path.endswith(".pcapng"):
            print(f"steth: note: {len(hops)} hops are written as pcapng to {path}", file=sys.stderr)
        out = sys.stdout
        raw: dict[str, BinaryIO] = {}

        def on_packets(h: HopCapture, packets) -> None:
            for p in packets:
                print(summary_line(p, h.hop.label), file=out)
            out.flush()

        def on_bytes(h: HopCapture, chunk: bytes) -> None:
            fh = raw.get("fh")
            if fh is None:
                fh = raw["fh"] = open(path, "wb")
            fh.write(chunk)
            fh.flush()

        async def go() -> CaptureRun:
            async with AgentClient(config) as client:
                cap = CaptureRun(
                    client,
                    config,
                    hops,
                    filter=args.filter,
                    duration=args.duration,
                    count=args.count,
                    snaplen=args.snaplen,
                    max_bytes=args.max_bytes,
                    keep_packets=pcapng,
                    immediate=not path,  # a live view shows each packet as it passes
                    on_packets=None if path else on_packets,
                    on_bytes=on_bytes if path and not pcapng else None,
                )
                try:
                    cap.requests()
                except ValidationError as exc:
                    raise request_error(exc) from None
                loop = asyncio.get_running_loop()
                signals = (signal.SIGINT, signal.SIGTERM)
                for s in signals:
                    loop.add_signal_handler(s, cap.interrupt)
                try:
                    await cap.start()
                    what = ", ".join(str(h.hop) for h in cap.running)
                    print(
                        f"steth: capturing on {what}"
                        + (f" (filter {args.filter})" if args.filter else "")
                        + f" for up to {args.duration:g} s; Ctrl-C stops",
                        file=sys.stderr,
                        flush=True,
                    )
                    await cap.stream()
                finally:
                    for s in signals:
                        loop.remove_signal_handler(s)
                return cap

        try:
            cap = run(go())
        finally:
            if "fh" in raw:
                raw["fh"].close()
        if pcapng:
            with open(path, "wb") as fh:
                written = cap.write_pcapng(fh)
            print(f"steth: wrote {written} packets of {len(hops)} hop(s) to {path} (pcapng)", file=sys.stderr)
        elif path:
            if "fh" not in raw:  # nothing arrived at all: still leave a valid (empty) pcap
                with open(path, "wb") as fh:
                    write_pcap(fh, [])
            print(f"steth: wrote {sum(h.count for h in cap.hops)} packets to {path} (pcap)", file=sys.stderr)
        if not path:
            print("", file=out)
        _print_table(*cap.table(), out)
        unreachable, failed = cap.exit_reasons()
        if unreachable:
            return EXIT_UNREACHABLE
        return EXIT_PROBLEM if failed else EXIT_OK
