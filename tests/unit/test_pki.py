"""steth pki: the certificates it makes (SANs, key usage, CA signature) and the files (modes, no overwrite)."""

from __future__ import annotations

import ipaddress
import json
import os
import stat
import subprocess
import sys

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from steth.controller.commands.pki import parse_nodes
from steth.errors import UsageError
from steth.pki import certs, store


def load(path: str) -> x509.Certificate:
    with open(path, "rb") as fh:
        return x509.load_pem_x509_certificate(fh.read())


def mode(path: str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def pki(tmp_path):
    d = str(tmp_path / "pki")
    layout = store.init(d, {"compute-1": ["10.0.0.21", "compute-1.mgmt.example.org"], "net-1": ["fd00::11"]})
    return layout


def test_ca_is_a_ca(pki):
    ca = load(pki.ca_cert)
    bc = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca and bc.value.path_length == 0
    ku = ca.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.key_cert_sign and ku.crl_sign and not ku.digital_signature
    assert certs.signed_by(ca, ca)  # self-signed


def test_node_certificate_names_node_and_addresses(pki):
    cert = load(pki.node_cert("compute-1"))
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["compute-1", "compute-1.mgmt.example.org"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("10.0.0.21")]
    assert cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == "compute-1"
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.digital_signature and not ku.value.key_cert_sign
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    v6 = load(pki.node_cert("net-1")).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert v6.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("fd00::11")]


def test_every_leaf_is_signed_by_the_ca_and_no_other(pki, tmp_path):
    ca = load(pki.ca_cert)
    for path in (pki.node_cert("compute-1"), pki.node_cert("net-1"), pki.client_cert):
        cert = load(path)
        assert certs.signed_by(cert, ca), path
        assert cert.issuer == ca.subject
        assert cert.not_valid_after_utc <= ca.not_valid_after_utc
    other = store.init(str(tmp_path / "other"), {})
    assert not certs.signed_by(load(pki.node_cert("compute-1")), load(other.ca_cert))


def test_client_certificate_is_for_client_auth_only(pki):
    cert = load(pki.client_cert)
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert certs.info(cert).dns_names == [certs.CLIENT_NAME]


def test_keys_are_0600_certificates_0644_and_match(pki):
    for name in ("compute-1", "net-1"):
        assert mode(pki.node_key(name)) == 0o600
        assert mode(pki.node_cert(name)) == 0o644
        key = certs.load_key(open(pki.node_key(name), "rb").read())
        assert key.public_key() == load(pki.node_cert(name)).public_key()
    assert mode(pki.ca_key) == 0o600 and mode(pki.client_key) == 0o600
    assert mode(pki.ca_cert) == 0o644
    assert not [f for f in os.listdir(os.path.join(pki.directory, "nodes")) if ".tmp-" in f]


def test_keys_are_0600_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        layout = store.init(str(tmp_path / "p"), {"a": ["10.0.0.1"]})
    finally:
        os.umask(old)
    assert mode(layout.node_key("a")) == 0o600 and mode(layout.ca_key) == 0o600


def test_init_refuses_to_overwrite_and_writes_nothing(pki):
    before = open(pki.ca_key, "rb").read()
    with pytest.raises(UsageError) as exc:
        store.init(pki.directory, {"compute-9": ["10.0.0.29"]})
    assert "ca.pem" in str(exc.value) and "--force" in str(exc.value)
    assert open(pki.ca_key, "rb").read() == before
    assert not os.path.exists(pki.node_cert("compute-9"))
    store.init(pki.directory, {"compute-9": ["10.0.0.29"]}, force=True)
    assert open(pki.ca_key, "rb").read() != before
    assert certs.signed_by(load(pki.node_cert("compute-9")), load(pki.ca_cert))


def test_issue_adds_a_node_and_refuses_to_replace_it(pki):
    store.issue_node(pki.directory, "compute-2", ["10.0.0.22"])
    cert = load(pki.node_cert("compute-2"))
    assert certs.signed_by(cert, load(pki.ca_cert))
    assert certs.info(cert).addresses == ["10.0.0.22"] and mode(pki.node_key("compute-2")) == 0o600
    with pytest.raises(UsageError, match="already exist"):
        store.issue_node(pki.directory, "compute-2", ["10.0.0.23"])
    store.issue_node(pki.directory, "compute-2", ["10.0.0.23"], force=True)
    assert certs.info(load(pki.node_cert("compute-2"))).addresses == ["10.0.0.23"]
    assert pki.nodes() == ["compute-1", "compute-2", "net-1"]


def test_issue_without_a_ca_says_to_init(tmp_path):
    with pytest.raises(UsageError, match="steth pki init"):
        store.issue_node(str(tmp_path), "a", ["10.0.0.1"])
    assert not os.listdir(tmp_path)


@pytest.mark.parametrize(
    "name,addresses,message",
    [
        ("bad name", ["10.0.0.1"], "cannot name a certificate"),
        ("a\n", ["10.0.0.1"], "cannot name a certificate"),
        ("../etc", ["10.0.0.1"], "cannot name a certificate"),
        ("a", ["10.0.0.300"], "neither an IP address nor a DNS name"),
        ("a", ["not valid!"], "neither an IP address nor a DNS name"),
    ],
)
def test_bad_names_and_addresses_are_refused(tmp_path, name, addresses, message):
    with pytest.raises(UsageError, match=message):
        store.init(str(tmp_path / "p"), {name: addresses})
    assert not os.path.exists(tmp_path / "p")


def test_parse_nodes():
    assert parse_nodes(["a=10.0.0.1,b=10.0.0.2", "a=fd00::1", "a=10.0.0.1"]) == {
        "a": ["10.0.0.1", "fd00::1"],
        "b": ["10.0.0.2"],
    }
    with pytest.raises(UsageError, match="NAME=ADDRESS"):
        parse_nodes(["a"])
    with pytest.raises(UsageError, match="NAME=ADDRESS"):
        parse_nodes(["=10.0.0.1"])


def steth(*args: str, config: str = "/nonexistent") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "steth.controller.cli", "--config-file", config, *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_init_from_config_nodes_issue_and_list(tmp_path):
    conf = tmp_path / "steth.conf"
    conf.write_text("[DEFAULT]\n[nodes]\nnetwork-1 = 10.0.0.11\ncompute-1 = 10.0.0.21:9700\n")
    d = str(tmp_path / "pki")
    r = steth("pki", "init", "--dir", d, config=str(conf))
    assert r.returncode == 0, r.stderr
    assert "[tls]" in r.stdout and f"ca_file = {d}/ca.pem" in r.stdout
    assert certs.info(load(f"{d}/nodes/compute-1.pem")).addresses == ["10.0.0.21"]
    r = steth("pki", "init", "--dir", d, config=str(conf))
    assert r.returncode == 2 and "already exist" in r.stderr and "--force" in r.stderr
    r = steth("pki", "issue", "compute-2", "--dir", d, config=str(conf))
    assert r.returncode == 2 and "compute-2 is not in [nodes]" in r.stderr and "--address" in r.stderr
    assert steth("pki", "issue", "compute-2", "--address", "10.0.0.22", "--dir", d, config=str(conf)).returncode == 0
    r = steth("pki", "list", "--dir", d, "-f", "value", "-c", "File", "-c", "Usage", config=str(conf))
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[:2] == ["ca.pem CA", "client.pem clientAuth"]
    assert "nodes/compute-2.pem serverAuth" in r.stdout
    # a new CA (--force) leaves compute-2's certificate from the old one: list says so
    assert steth("pki", "init", "--dir", d, "--force", config=str(conf)).returncode == 0
    r = steth("pki", "list", "--dir", d, "-f", "json", config=str(conf))
    state = {row["File"]: row["State"] for row in json.loads(r.stdout)}
    assert state["nodes/compute-1.pem"] == "ok" and state["nodes/compute-2.pem"] == "not signed by this CA"
    r = steth("pki", "init", "--dir", str(tmp_path / "x"), "--node", "a=300.1.1.1", config=str(conf))
    assert r.returncode == 2 and "300.1.1.1" in r.stderr and not os.path.exists(tmp_path / "x")


def test_cli_init_without_nodes_says_how_to_give_them(tmp_path):
    r = steth("pki", "init", "--dir", str(tmp_path / "p"), config=str(tmp_path / "missing.conf"))
    assert r.returncode == 2 and "no nodes to certify" in r.stderr and "--node NAME=ADDRESS" in r.stderr
    assert not os.path.exists(tmp_path / "p")
