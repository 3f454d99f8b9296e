"""An agent serving HTTPS and requiring client certificates; the controller's client against it."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import socket
import ssl
import urllib.error
from http.client import HTTPException
from pathlib import Path

import pytest

import steth
from steth.controller import api
from steth.controller.client import AgentClient
from steth.controller.config import ControllerConfig, NodeConfig, TlsConfig
from steth.errors import AgentAuthError, AgentError, AgentUnreachableError
from steth.wire.models import AgentInfo, OvsCheckPortsRequest, PingRequest

from .conftest import NO_TOKEN, http, run, skip_unless_root

skip_unless_root()
pytestmark = pytest.mark.root

TLS_PORT = 9700

if shutil.which("openssl") is None:
    pytest.skip("needs openssl", allow_module_level=True)


class Pki:
    """A CA, the agent's certificate (SAN = its IP), a client certificate, and a client certificate
    from a second CA the agent does not trust; all made with the openssl CLI in a temporary directory."""

    def __init__(self, d: Path, server_ip: str) -> None:
        self.dir = d
        self.ca, self.ca_key = d / "ca.pem", d / "ca.key"
        self.server, self.server_key = d / "server.pem", d / "server.key"
        self.client, self.client_key = d / "client.pem", d / "client.key"
        self.other_ca, self.other_ca_key = d / "other-ca.pem", d / "other-ca.key"
        self.rogue, self.rogue_key = d / "rogue.pem", d / "rogue.key"
        self._ca(self.ca, self.ca_key, "steth-it test CA")
        self._ca(self.other_ca, self.other_ca_key, "steth-it other CA")
        self._leaf(
            self.server,
            self.server_key,
            "steth-agent",
            self.ca,
            self.ca_key,
            f"subjectAltName=IP:{server_ip},DNS:it-agent\nextendedKeyUsage=serverAuth\n",
        )
        self._leaf(
            self.client, self.client_key, "steth-controller", self.ca, self.ca_key, "extendedKeyUsage=clientAuth\n"
        )
        # a client certificate from a CA the agent does not trust
        self._leaf(
            self.rogue, self.rogue_key, "rogue", self.other_ca, self.other_ca_key, "extendedKeyUsage=clientAuth\n"
        )

    def _key(self, path: Path) -> None:
        run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(path)])

    def _ca(self, cert: Path, key: Path, cn: str) -> None:
        self._key(key)
        run(
            [
                "openssl",
                "req",
                "-x509",
                "-new",
                "-key",
                str(key),
                "-out",
                str(cert),
                "-days",
                "2",
                "-subj",
                f"/CN={cn}",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ]
        )

    def _leaf(self, cert: Path, key: Path, cn: str, ca: Path, ca_key: Path, ext: str) -> None:
        self._key(key)
        csr = cert.with_suffix(".csr")
        extfile = cert.with_suffix(".ext")
        extfile.write_text(
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
            "authorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash\n" + ext
        )
        run(["openssl", "req", "-new", "-key", str(key), "-out", str(csr), "-subj", f"/CN={cn}"])
        run(
            [
                "openssl",
                "x509",
                "-req",
                "-in",
                str(csr),
                "-CA",
                str(ca),
                "-CAkey",
                str(ca_key),
                "-CAcreateserial",
                "-out",
                str(cert),
                "-days",
                "2",
                "-extfile",
                str(extfile),
            ]
        )


@pytest.fixture(scope="module")
def pki(net, tmp_path_factory) -> Pki:
    return Pki(tmp_path_factory.mktemp("pki"), net.agent_ip)


def client_context(
    pki: Pki, *, cert: bool = True, ca: Path | None = None, max_version: ssl.TLSVersion | None = None
) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(ca or pki.ca))
    if cert:
        ctx.load_cert_chain(str(pki.client), str(pki.client_key))
    if max_version is not None:
        ctx.maximum_version = max_version
    return ctx


@pytest.fixture(scope="module")
def tls_agent(start_agent, pki, no_ovs_connection):
    extra = [
        "--tls-cert-file",
        str(pki.server),
        "--tls-key-file",
        str(pki.server_key),
        "--tls-ca-file",
        str(pki.ca),
        "--ovsdb-connection",
        no_ovs_connection,
    ]
    with start_agent(TLS_PORT, extra=extra, context=client_context(pki)) as a:
        yield a


def test_https_with_client_certificate_works(tls_agent, net):
    assert tls_agent.base_url == f"https://{net.agent_ip}:{TLS_PORT}"
    r = tls_agent.get("/v1/info")
    assert r.status == 200
    assert r.body["version"] == steth.__version__
    assert net.agent_if in [i["name"] for i in r.body["interfaces"]]


def test_token_is_still_required_over_tls(tls_agent):
    assert tls_agent.get("/v1/info", token=NO_TOKEN).status == 401
    assert tls_agent.get("/v1/info", token="0" * 64).status == 401
    assert tls_agent.get("/v1/health", token=NO_TOKEN).status == 200


def _exchange(ctx: ssl.SSLContext, host: str, port: int) -> bytes:
    """A raw TLS connection: handshake, one HTTP request, the first bytes of the answer."""
    with socket.create_connection((host, port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=host) as tls:
            tls.sendall(b"GET /v1/health HTTP/1.1\r\nHost: agent\r\nConnection: close\r\n\r\n")
            return tls.recv(4096)


def test_raw_exchange_with_client_certificate(tls_agent, pki, net):
    assert _exchange(client_context(pki), net.agent_ip, TLS_PORT).startswith(b"HTTP/1.1 200")


def test_without_client_certificate_the_handshake_fails(tls_agent, pki, net):
    # TLS 1.2: the server's refusal ends the handshake itself
    ctx12 = client_context(pki, cert=False, max_version=ssl.TLSVersion.TLSv1_2)
    with socket.create_connection((net.agent_ip, TLS_PORT), timeout=10) as raw:
        with pytest.raises(ssl.SSLError):  # the server hangs up mid-handshake
            ctx12.wrap_socket(raw, server_hostname=net.agent_ip).close()
    # the same TLS 1.2 connection with the certificate is fine: the refusal above was about the certificate
    assert _exchange(client_context(pki, max_version=ssl.TLSVersion.TLSv1_2), net.agent_ip, TLS_PORT).startswith(
        b"HTTP/1.1 200"
    )
    # TLS 1.3: the client's half of the handshake ends first; the server's alert arrives on the first read
    ctx13 = client_context(pki, cert=False)
    with pytest.raises((ssl.SSLError, ConnectionError)):
        answer = _exchange(ctx13, net.agent_ip, TLS_PORT)
        assert not answer, "no HTTP answer may come without a client certificate"
        raise ConnectionError("closed without an answer")
    # and through urllib, as a user would
    with pytest.raises((urllib.error.URLError, ssl.SSLError, ConnectionError, HTTPException)):
        http("GET", tls_agent.base_url + "/v1/health", context=ctx13, timeout=10)


def test_client_certificate_from_another_ca_is_refused(tls_agent, pki, net):
    ctx = ssl.create_default_context(cafile=str(pki.ca))
    ctx.load_cert_chain(str(pki.rogue), str(pki.rogue_key))
    with pytest.raises((ssl.SSLError, ConnectionError)):
        if not _exchange(ctx, net.agent_ip, TLS_PORT):
            raise ConnectionError("closed without an answer")


def test_server_certificate_is_verified(tls_agent, pki, net):
    """Trusting another CA, the client refuses the agent's certificate."""
    ctx = client_context(pki, ca=pki.other_ca)
    with pytest.raises(ssl.SSLCertVerificationError):
        _exchange(ctx, net.agent_ip, TLS_PORT)


def test_plain_http_to_the_tls_port_fails(tls_agent, net):
    with pytest.raises((urllib.error.URLError, ConnectionError, HTTPException)):
        http("GET", f"http://{net.agent_ip}:{TLS_PORT}/v1/health", timeout=10)


# ---- the controller's side ---------------------------------------------------------


def controller_config(pki: Pki, net, token_file: Path, *, cert: bool = True) -> ControllerConfig:
    tls = TlsConfig(
        enabled=True,
        ca_file=str(pki.ca),
        cert_file=str(pki.client) if cert else None,
        key_file=str(pki.client_key) if cert else None,
    )
    node = NodeConfig(name="it-agent", host=net.agent_ip, port=TLS_PORT)
    return ControllerConfig(
        nodes={node.name: node}, networks={}, token_file=str(token_file), request_timeout=10, tls=tls
    )


def call(config: ControllerConfig, fn, *args, token: str | None = None):
    async def go():
        async with AgentClient(config, token=token) as c:
            return await fn(c, config.nodes["it-agent"], *args)

    return asyncio.run(go())


def test_controller_client_over_tls(tls_agent, pki, net, token):
    config = controller_config(pki, net, token[1])
    info = call(config, api.info)
    assert isinstance(info, AgentInfo)
    assert info.version == steth.__version__
    eth0 = next(i for i in info.interfaces if i.name == net.agent_if)
    assert net.agent_ip in [a.address for a in eth0.addresses]
    assert call(config, api.health).version == steth.__version__
    # every typed call parses what the agent sends (one contract on both sides)
    assert {i.name for i in call(config, api.interfaces)} >= {"lo", net.agent_if, net.peer_if}
    assert call(config, api.interface, net.peer_if).mtu > 0
    assert net.ns in {n.name for n in call(config, api.namespaces)}
    pong = call(config, api.ping, PingRequest(targets=[net.peer_ip], count=1))
    assert pong.results[0].verdict.value == "ok"
    ovs = call(config, api.ovs_check_ports, OvsCheckPortsRequest(bridge="br-int", ports=["p1"]))
    assert ovs.verdict.value == "error" and ovs.ovs_available is False


def test_controller_with_wrong_token_gets_auth_error(tls_agent, pki, net, token):
    config = controller_config(pki, net, token[1])
    with pytest.raises(AgentAuthError) as exc:
        call(config, api.info, token="w" * 64)
    assert exc.value.agent == "it-agent"


def test_controller_without_client_certificate_is_unreachable(tls_agent, pki, net, token):
    """Named as a missing client certificate and the settings to fix, not "connection reset"."""
    config = controller_config(pki, net, token[1], cert=False)
    with pytest.raises(AgentUnreachableError) as exc:
        call(config, api.info)
    text = str(exc.value)
    assert "client certificate" in text and "cert_file" in text and "key_file" in text, text
    assert "reset" not in text.lower(), text


def test_controller_trusting_another_ca_names_ca_file(tls_agent, pki, net, token):
    """A wrong [tls] ca_file is named as such, not as "a non-JSON answer"."""
    config = controller_config(pki, net, token[1])
    config = dataclasses.replace(config, tls=dataclasses.replace(config.tls, ca_file=str(pki.other_ca)))
    with pytest.raises(AgentUnreachableError) as exc:
        call(config, api.info)
    text = str(exc.value)
    assert "not trusted" in text and "ca_file" in text and str(pki.other_ca) in text, text
    assert "non-JSON" not in text, text


def test_controller_without_tls_against_a_tls_agent_says_so(tls_agent, pki, net, token):
    config = controller_config(pki, net, token[1])
    config = dataclasses.replace(config, tls=dataclasses.replace(config.tls, enabled=False))
    with pytest.raises(AgentError) as exc:
        call(config, api.info)
    assert "[tls] enabled = true" in str(exc.value), str(exc.value)
