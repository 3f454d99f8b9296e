"""The lab runs with mutual TLS, as a real deployment should: its own PKI in the lab directory.

One CA per lab, a certificate per node (its name and management address), the controller's client
certificate; the agents require client certificates from that CA and the lab's steth.conf has [tls].
"""

from __future__ import annotations

import os
import ssl

from ..pki import store
from .state import LabState
from .topology import Node, Topology


def pki_layout(state: LabState) -> store.Layout:
    return store.Layout(os.path.join(state.directory, "pki"))


def ensure_pki(state: LabState, topo: Topology) -> store.Layout:
    """The lab's PKI, made on first use (kept for the lab's life: `lab agent start` reuses it)."""
    layout = pki_layout(state)
    if not os.path.exists(layout.ca_cert):
        nodes = {n.name: [str(topo.address(n, topo.management))] for n in topo.nodes}
        store.init(layout.directory, nodes, days=30)
    return layout


def agent_args(state: LabState, topo: Topology, node: Node) -> list[str]:
    """steth-agent options serving HTTPS with the node's certificate and requiring client certificates."""
    layout = ensure_pki(state, topo)
    return [
        "--tls-cert-file",
        layout.node_cert(node.name),
        "--tls-key-file",
        layout.node_key(node.name),
        "--tls-ca-file",
        layout.ca_cert,
    ]


def config_lines(state: LabState) -> list[str]:
    """The [tls] section of the lab's steth.conf."""
    layout = pki_layout(state)
    return [
        "",
        "# mutual TLS with the lab's own CA (steth pki init made it)",
        "[tls]",
        "enabled = true",
        f"ca_file = {layout.ca_cert}",
        f"cert_file = {layout.client_cert}",
        f"key_file = {layout.client_key}",
    ]


def client_context(state: LabState) -> ssl.SSLContext:
    """What the controller uses: trusts the lab CA, presents the client certificate."""
    layout = pki_layout(state)
    ctx = ssl.create_default_context(cafile=layout.ca_cert)
    ctx.load_cert_chain(layout.client_cert, layout.client_key)
    return ctx
