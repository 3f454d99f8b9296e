"""The lab's own PKI: a certificate per lab node (its name and management address), agent options
and a [tls] section the controller accepts."""

from __future__ import annotations

import os

from steth.controller.config import load
from steth.lab import build, tls
from steth.lab.state import LabState
from steth.lab.topology import build as build_topology
from steth.pki import certs, store


def test_lab_pki_agent_args_and_config(tmp_path, monkeypatch):
    monkeypatch.setenv("STETH_LAB_ROOT", str(tmp_path))
    topo = build_topology("t1", 2)
    state = LabState(lab="t1", computes=2, cidrs=tuple(str(n.cidr) for n in topo.networks))
    state.save()
    node = topo.node("compute-2")
    args = tls.agent_args(state, topo, node)
    layout = tls.pki_layout(state)
    assert args == [
        "--tls-cert-file",
        layout.node_cert("compute-2"),
        "--tls-key-file",
        layout.node_key("compute-2"),
        "--tls-ca-file",
        layout.ca_cert,
    ]
    info = store.read_info(layout.node_cert("compute-2"))
    assert info.dns_names == ["compute-2"] and info.addresses == [str(topo.address(node, topo.management))]
    assert sorted(layout.nodes()) == sorted(n.name for n in topo.nodes)
    ca = certs.load_cert(open(layout.ca_cert, "rb").read())
    assert certs.signed_by(certs.load_cert(open(layout.client_cert, "rb").read()), ca)
    # made once: a second call (lab agent start) reuses the same CA
    before = open(layout.ca_cert, "rb").read()
    tls.agent_args(state, topo, topo.node("network"))
    assert open(layout.ca_cert, "rb").read() == before
    token = tmp_path / "lab-t1" / "token"
    token.write_text("t" * 32)
    conf = build.write_controller_config(state)
    cfg = load(conf)
    assert cfg.tls.enabled and cfg.tls.ca_file == layout.ca_cert and cfg.tls.cert_file == layout.client_cert
    assert os.path.exists(cfg.tls.key_file) and oct(os.stat(cfg.tls.key_file).st_mode & 0o777) == "0o600"
