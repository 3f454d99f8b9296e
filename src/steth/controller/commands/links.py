"""`steth link setup|teardown|add-vlan` (setup-link, teardown-link, add-vlan-to-interface).

The original tool's commands that change a host, made safe: the agent holds every
change in a lease and undoes it when the lease ends (--lease, default 300 s), when
the agent stops, or when it starts again after a crash.
"""

from __future__ import annotations

import argparse
import datetime

from pydantic import ValidationError

from ...errors import AgentRequestError, CapabilityMissing
from ...wire.vlan import LinkChange, LinkSetupRequest, LinkTeardownRequest, VlanInterfaceRequest
from .. import api
from ..client import with_agents
from ..inventory import resolve_node
from .base import StethShowOne, ifname_arg, request_error

DEFAULT_LEASE = 300.0


def _fields(node: str, change: LinkChange):
    expires = ""
    if change.expires_at:
        expires = datetime.datetime.fromtimestamp(change.expires_at, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    fields = {
        "agent": node,
        "interface": change.interface,
        "lease_id": change.lease_id or "",
        "expires": expires,
        "changes": "\n".join(change.changes),
        "detail": change.detail,
    }
    return tuple(fields), tuple(fields.values())


class _LinkCommand(StethShowOne):
    def call(self, agent: str, fn, req):
        config = self.config
        node = resolve_node(config, agent)

        try:
            return _fields(node.name, with_agents(config, lambda client: fn(client, node, req)))
        except AgentRequestError as exc:
            if exc.status == 501:  # the kernel cannot: a finding about the host, not a usage error
                raise CapabilityMissing(
                    exc.message.split(": ", 1)[-1] if ": " in exc.message else exc.message, exc.hint
                ) from None
            raise

    @staticmethod
    def lease_option(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--lease",
            type=float,
            default=DEFAULT_LEASE,
            metavar="SECONDS",
            help=f"undo the change after this many seconds (1-3600, default {DEFAULT_LEASE:g})",
        )


class LinkSetup(_LinkCommand):
    """Bring IFACE up with address CIDR on a node, for --lease seconds (then undone by the agent).

    Other addresses are left alone unless --flush (they are put back when the lease ends).
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("agent", metavar="AGENT")
        parser.add_argument("interface", metavar="IFACE", type=ifname_arg)
        parser.add_argument("cidr", metavar="CIDR", help="address with prefix length, e.g. 10.0.0.5/24")
        parser.add_argument("--flush", action="store_true", help="remove IFACE's other global addresses for the lease")
        self.lease_option(parser)
        return parser

    def take_action(self, args: argparse.Namespace):
        try:
            req = LinkSetupRequest(interface=args.interface, cidr=args.cidr, lease=args.lease, flush=args.flush)
        except ValidationError as exc:
            raise request_error(exc) from None
        return self.call(args.agent, api.link_setup, req)


class LinkTeardown(_LinkCommand):
    """Undo what setup-link / add-vlan-to-interface made on IFACE now (before the lease ends).

    An interface steth did not create or change is refused unless --force (then it is deleted).
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("agent", metavar="AGENT")
        parser.add_argument("interface", metavar="IFACE", type=ifname_arg)
        parser.add_argument("--force", action="store_true", help="delete IFACE even though steth did not create it")
        return parser

    def take_action(self, args: argparse.Namespace):
        return self.call(args.agent, api.link_teardown, LinkTeardownRequest(interface=args.interface, force=args.force))


class LinkAddVlan(_LinkCommand):
    """Create the VLAN sub-interface IFACE.VLAN_ID on a node, for --lease seconds (needs the 8021q module).

    To verify VLANs without changing hosts use `steth check vlan` / `check-vlan-interface`.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("agent", metavar="AGENT")
        parser.add_argument("interface", metavar="IFACE", type=ifname_arg)
        parser.add_argument("vlan_id", metavar="VLAN_ID", type=int)
        self.lease_option(parser)
        return parser

    def take_action(self, args: argparse.Namespace):
        try:
            req = VlanInterfaceRequest(interface=args.interface, vlan_id=args.vlan_id, lease=args.lease)
        except ValidationError as exc:
            raise request_error(exc) from None
        return self.call(args.agent, api.link_add_vlan, req)
