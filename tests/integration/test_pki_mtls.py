"""`steth pki init` certificates in use: a real agent with its node certificate requiring client
certificates, and the controller (its client and its CLI) with the client certificate."""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import subprocess
import sys
from pathlib import Path

import pytest

import steth
from steth.controller import api
from steth.controller.client import AgentClient
from steth.controller.config import ControllerConfig, NodeConfig, TlsConfig
from steth.errors import AgentUnreachableError
from steth.pki import store

from .conftest import skip_unless_root

skip_unless_root()
pytestmark = pytest.mark.root

PORT = 9721
STETH = str(Path(sys.executable).parent / "steth")


@pytest.fixture(scope="module")
def pki(net, tmp_path_factory) -> store.Layout:
    d = tmp_path_factory.mktemp("pki") / "pki"
    # node-b has the same address as node-a: only the name tells the certificates apart
    return store.init(str(d), {"node-a": [net.agent_ip], "node-b": [net.agent_ip]})


def context(pki: store.Layout, cert: bool = True) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=pki.ca_cert)
    if cert:
        ctx.load_cert_chain(pki.client_cert, pki.client_key)
    return ctx


@pytest.fixture(scope="module")
def agent(start_agent, pki, no_ovs_connection):
    extra = [
        "--tls-cert-file",
        pki.node_cert("node-a"),
        "--tls-key-file",
        pki.node_key("node-a"),
        "--tls-ca-file",
        pki.ca_cert,
        "--ovsdb-connection",
        no_ovs_connection,
    ]
    with start_agent(PORT, extra=extra, context=context(pki)) as a:
        yield a


def config(pki: store.Layout, net, token_file: Path, name: str = "node-a", cert: bool = True) -> ControllerConfig:
    tls = TlsConfig(
        enabled=True,
        ca_file=pki.ca_cert,
        cert_file=pki.client_cert if cert else None,
        key_file=pki.client_key if cert else None,
    )
    node = NodeConfig(name=name, host=net.agent_ip, port=PORT)
    return ControllerConfig(nodes={name: node}, networks={}, token_file=str(token_file), request_timeout=10, tls=tls)


def info(cfg: ControllerConfig):
    async def go():
        async with AgentClient(cfg) as c:
            return await api.info(c, next(iter(cfg.nodes.values())))

    return asyncio.run(go())


def test_controller_with_client_certificate_talks_to_the_agent(agent, pki, net, token):
    assert agent.base_url.startswith("https://")
    got = info(config(pki, net, token[1]))
    assert got.version == steth.__version__
    assert net.agent_if in [i.name for i in got.interfaces]


def test_a_certificate_for_another_name_is_refused_with_a_clear_message(agent, pki, net, token):
    """The agent at that address holds node-a's certificate: a controller expecting node-b says so."""
    with pytest.raises(AgentUnreachableError) as exc:
        info(config(pki, net, token[1], name="node-b"))
    assert "presented a certificate that is not for node-b" in exc.value.message
    assert "steth pki issue node-b" in (exc.value.hint or "")


def test_without_client_certificate_the_agent_refuses(agent, pki, net, token):
    with pytest.raises(AgentUnreachableError) as exc:
        info(config(pki, net, token[1], cert=False))
    assert exc.value.agent == "node-a"


def test_a_client_certificate_of_another_ca_is_refused(agent, pki, net, token, tmp_path):
    other = store.init(str(tmp_path / "other"), {})
    cfg = config(pki, net, token[1])
    tls = TlsConfig(enabled=True, ca_file=pki.ca_cert, cert_file=other.client_cert, key_file=other.client_key)
    with pytest.raises(AgentUnreachableError):
        info(ControllerConfig(nodes=cfg.nodes, networks={}, token_file=str(token[1]), request_timeout=10, tls=tls))


def steth_cli(conf: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "STETH_CONFIG"}
    return subprocess.run(
        [STETH, "--config-file", str(conf), *args], capture_output=True, text=True, timeout=60, env=env
    )


def test_the_cli_with_the_tls_section_pki_init_prints(agent, pki, net, token, tmp_path):
    """The [tls] lines `steth pki init` prints, pasted into steth.conf, are all the controller needs."""
    from steth.controller.commands.pki import tls_hint

    tls = "\n".join(line.strip() for line in tls_hint(pki) if line.startswith("  ") and "steth-agent" not in line)
    tls = "\n".join(line for line in tls.splitlines() if not line.startswith("(") and line)
    conf = tmp_path / "steth.conf"
    conf.write_text(f"[DEFAULT]\ntoken_file = {token[1]}\n[nodes]\nnode-a = {net.agent_ip}:{PORT}\n{tls}\n")
    r = steth_cli(conf, "agent", "list", "-f", "json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert [(row["name"], row["alive"]) for row in rows] == [("node-a", True)]
    wrong = tmp_path / "wrong.conf"
    wrong.write_text(conf.read_text().replace("node-a =", "node-b ="))
    r = steth_cli(wrong, "agent", "list", "-f", "json")
    assert r.returncode == 3
    (row,) = json.loads(r.stdout)
    assert row["alive"] is False and "presented a certificate that is not for node-b" in row["error"]
