"""`steth pki init|issue|list`: the CA and certificates for mTLS between the controller and the agents."""

from __future__ import annotations

import argparse
import datetime
import os
from collections.abc import Iterable

from ...errors import ConfigError, UsageError
from ...pki import certs, store
from ...pki.certs import LEAF_DAYS
from .base import StethCommand, StethLister


def parse_nodes(values: Iterable[str]) -> dict[str, list[str]]:
    """``--node a=10.0.0.1,b=10.0.0.2 --node a=fd00::1`` -> {a: [10.0.0.1, fd00::1], b: [10.0.0.2]}."""
    nodes: dict[str, list[str]] = {}
    for value in values:
        for item in (i.strip() for i in value.split(",")):
            if not item:
                continue
            name, sep, address = (p.strip() for p in item.partition("="))
            if not sep or not name or not address:
                raise UsageError(f"--node {item!r} is not NAME=ADDRESS", "e.g. --node compute-1=10.0.0.21")
            nodes.setdefault(name, [])
            if address not in nodes[name]:
                nodes[name].append(address)
    return nodes


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dir", default=store.DEFAULT_DIR, help=f"PKI directory (default {store.DEFAULT_DIR})")


def add_issuing(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--force", action="store_true", help="replace certificates and keys that exist")
    parser.add_argument(
        "--days", type=int, default=LEAF_DAYS, help=f"validity of node and client certificates (default {LEAF_DAYS})"
    )


def _check_days(days: int) -> None:
    if not 1 <= days <= 3650:
        raise UsageError(f"--days {days} is out of range 1-3650")


def tls_hint(layout: store.Layout) -> list[str]:
    """How to use the files: the controller's [tls] section and each agent's options."""
    return [
        "controller: add to steth.conf",
        "  [tls]",
        "  enabled = true",
        f"  ca_file = {layout.ca_cert}",
        f"  cert_file = {layout.client_cert}",
        f"  key_file = {layout.client_key}",
        "each node NAME: copy ca.pem, nodes/NAME.pem and nodes/NAME.key to it and start",
        "  steth-agent --tls-cert-file NAME.pem --tls-key-file NAME.key --tls-ca-file ca.pem",
        "  (deploy/ansible does this for every node of an inventory)",
    ]


class PkiInit(StethCommand):
    """Create a CA, one certificate per node and the controller's client certificate.

    Nodes and their management addresses come from --node, or else from the controller
    config's [nodes]. Each node certificate names the node (DNS) and its addresses (IP);
    the controller checks an agent's certificate against the node's name in [nodes]."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        add_common(parser)
        parser.add_argument(
            "--node",
            action="append",
            default=[],
            metavar="NAME=ADDR[,NAME=ADDR...]",
            help="a node and one of its addresses or DNS names (repeatable; default: the config's [nodes])",
        )
        add_issuing(parser)
        return parser

    def take_action(self, args: argparse.Namespace) -> int:
        _check_days(args.days)
        nodes = parse_nodes(args.node)
        if not nodes:
            try:
                nodes = {n.name: [n.host] for n in self.config.nodes.values()}
            except ConfigError as exc:
                raise UsageError(
                    f"no nodes to certify: {exc.message}",
                    "give them with --node NAME=ADDRESS, or a controller config with [nodes] (--config-file)",
                ) from None
        layout = store.init(args.dir, nodes, force=args.force, days=args.days)
        print(f"CA: {layout.ca_cert} (key {layout.ca_key}, keep it on the controller)")
        print(f"controller client certificate: {layout.client_cert}")
        for name in sorted(nodes):
            print(f"node {name}: {layout.node_cert(name)} ({', '.join(nodes[name])})")
        print("\n".join(tls_hint(layout)))
        return 0


class PkiIssue(StethCommand):
    """Add (or with --force replace) one node's certificate, signed by the existing CA."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("node", help="node name, as in the controller config's [nodes]")
        parser.add_argument(
            "--address",
            action="append",
            default=[],
            help="an address or DNS name of the node (repeatable; default: its address in [nodes])",
        )
        add_common(parser)
        add_issuing(parser)
        return parser

    def take_action(self, args: argparse.Namespace) -> int:
        _check_days(args.days)
        addresses = list(args.address)
        if not addresses:
            node = self.config.nodes.get(args.node)
            if node is None:
                raise UsageError(
                    f"node {args.node} is not in [nodes] of {self.config.source}",
                    "give its addresses with --address, or add it to [nodes]",
                )
            addresses = [node.host]
        layout = store.issue_node(args.dir, args.node, addresses, force=args.force, days=args.days)
        print(f"node {args.node}: {layout.node_cert(args.node)}, key {layout.node_key(args.node)}")
        return 0


class PkiList(StethLister):
    """The certificates in a PKI directory: who each is for, what it may do, when it expires."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        add_common(parser)
        return parser

    def take_action(self, args: argparse.Namespace):
        layout = store.Layout(args.dir)
        if not os.path.exists(layout.ca_cert):
            raise UsageError(f"no CA in {args.dir}", "run `steth pki init`, or pass --dir")
        paths = [layout.ca_cert, layout.client_cert] + [layout.node_cert(n) for n in layout.nodes()]
        with open(layout.ca_cert, "rb") as fh:
            ca = certs.load_cert(fh.read())
        now = datetime.datetime.now(datetime.UTC)
        rows = []
        for path in paths:
            if not os.path.exists(path):
                continue
            with open(path, "rb") as fh:
                cert = certs.load_cert(fh.read())
            i = certs.info(cert)
            usage = "CA" if i.is_ca else ",".join(i.usages)
            expires = i.not_after.strftime("%Y-%m-%d") if i.not_after else ""
            # a certificate left from an earlier CA (init --force) or expired is no use to the agents
            state = "ok" if certs.signed_by(cert, ca) else "not signed by this CA"
            if i.not_after and i.not_after < now:
                state = "expired"
            names = " ".join(i.dns_names + i.addresses)
            rows.append((os.path.relpath(path, args.dir), i.subject, names, usage, expires, state))
        return ("File", "Subject", "Names", "Usage", "Expires", "State"), rows
