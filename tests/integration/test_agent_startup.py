"""steth-agent refuses to start, with a message naming the problem, when its settings are unusable."""

from __future__ import annotations

import subprocess

import pytest

from .conftest import AGENT_BIN, agent_has_state_dir, skip_unless_root

skip_unless_root()
pytestmark = pytest.mark.root


@pytest.fixture(scope="module")
def run_agent(tmp_path_factory):
    """Run steth-agent to completion. It binds 127.0.0.1 on port 9 unless told otherwise, so even if it
    wrongly started it would listen nowhere reachable; the timeout only guards against that."""
    state_dir = tmp_path_factory.mktemp("startup-state")

    def _run(*args: str, ns: str | None = None) -> subprocess.CompletedProcess:
        argv = [str(AGENT_BIN), "--bind", "127.0.0.1", "--port", "9", *args]
        if agent_has_state_dir():
            # an agent that gets as far as start-up undoes the leases recorded in its state dir:
            # never let it use the host's default one
            argv += ["--state-dir", str(state_dir)]
        if ns:
            argv = ["ip", "netns", "exec", ns, *argv]
        return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)

    return _run


def test_missing_token_file(run_agent, tmp_path):
    missing = tmp_path / "no-such-dir" / "token"
    r = run_agent("--token-file", str(missing))
    assert r.returncode == 2
    assert str(missing) in r.stderr
    assert "cannot read token file" in r.stderr


def test_token_file_is_a_directory(run_agent, tmp_path):
    r = run_agent("--token-file", str(tmp_path))
    assert r.returncode == 2 and str(tmp_path) in r.stderr


@pytest.mark.parametrize("content", ["", "short\n", " " * 40 + "\n", "a" * 15 + "\n"])
def test_too_short_token(run_agent, tmp_path, content):
    path = tmp_path / "token"
    path.write_text(content)
    r = run_agent("--token-file", str(path))
    assert r.returncode == 2
    assert str(path) in r.stderr
    assert "shorter than 16" in r.stderr


def test_cert_without_key(run_agent, tmp_path, token):
    r = run_agent("--token-file", str(token[1]), "--tls-cert-file", str(tmp_path / "cert.pem"))
    assert r.returncode == 2 and "tls_cert_file and tls_key_file" in r.stderr


def test_ca_without_cert(run_agent, tmp_path, token):
    r = run_agent("--token-file", str(token[1]), "--tls-ca-file", str(tmp_path / "ca.pem"))
    assert r.returncode == 2 and "tls_ca_file" in r.stderr


@pytest.mark.parametrize("missing", ["cert", "key", "ca"])
def test_missing_tls_file_is_named(run_agent, tmp_path, token, missing):
    files = {}
    for which in ("cert", "key", "ca"):
        files[which] = tmp_path / f"{which}.pem"
        if which != missing:
            files[which].write_text("placeholder\n")
    r = run_agent(
        "--token-file",
        str(token[1]),
        "--tls-cert-file",
        str(files["cert"]),
        "--tls-key-file",
        str(files["key"]),
        "--tls-ca-file",
        str(files["ca"]),
    )
    assert r.returncode == 2
    assert f"cannot read tls_{missing}_file {files[missing]}" in r.stderr


def test_tls_files_that_are_not_pem_are_named(run_agent, tmp_path, token):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_text("not a certificate\n")
    key.write_text("not a key\n")
    r = run_agent("--token-file", str(token[1]), "--tls-cert-file", str(cert), "--tls-key-file", str(key))
    assert r.returncode == 2
    assert str(cert) in r.stderr and str(key) in r.stderr


def test_bad_option_value(run_agent, token):
    r = run_agent("--token-file", str(token[1]), "--port", "70000")
    assert r.returncode != 0
    assert "--port" in r.stderr and "70000" in r.stderr


def test_address_not_on_this_node(run_agent, net, token):
    """Inside the agent namespace, the root side's address is not local: binding it fails."""
    r = run_agent("--token-file", str(token[1]), "--insecure-http", "--bind", net.root_ip, "--port", "9698", ns=net.ns)
    assert r.returncode != 0
    assert net.root_ip in r.stderr


def test_plain_http_needs_insecure_http(run_agent, token):
    r = run_agent("--token-file", str(token[1]))
    assert r.returncode == 2
    assert "serves HTTPS only" in r.stderr and "--insecure-http" in r.stderr and "steth pki init" in r.stderr


def test_insecure_http_and_a_certificate_contradict(run_agent, tmp_path, token):
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_text("x\n")
    key.write_text("x\n")
    r = run_agent(
        "--token-file", str(token[1]), "--insecure-http", "--tls-cert-file", str(cert), "--tls-key-file", str(key)
    )
    assert r.returncode == 2 and "contradict" in r.stderr
