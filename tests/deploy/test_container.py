"""deploy/container: the image built with podman from Debian's packages, run as a node would run it
(the node's network, the unit's four capabilities, read-only root, state volume), answering the
controller over mutual TLS."""

from __future__ import annotations

import json
import re
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from steth.pki import store

from .conftest import ROOT, _free_octet, need, sh

need("podman", "mmdebstrap")
pytestmark = [pytest.mark.root, pytest.mark.deploy]

STETH = str(Path(sys.executable).parent / "steth")
CAPS = "NET_ADMIN,NET_RAW,SYS_ADMIN,SETGID"


def runtime() -> list[str]:
    """crun refuses this machine's hybrid cgroups ("cgroups in hybrid mode not supported, drop all
    controllers from cgroupv2", measured on a Firecracker VM): runc where it is installed."""
    return ["--runtime", "runc"] if shutil.which("runc") else []


def limits() -> list[str]:
    """Without CAP_SYS_RESOURCE podman's default rlimits cannot be set ("error setting rlimit type 7"):
    limits no higher than this process's own."""
    import resource

    nofile = min(resource.getrlimit(resource.RLIMIT_NOFILE)[1], 65536)
    return [f"--ulimit=nofile={nofile}:{nofile}", "--ulimit=nproc=4096:4096"]


@pytest.fixture(scope="module")
def image():
    tag = f"localhost/steth-agent:test-{secrets.token_hex(3)}"
    sh(str(ROOT / "deploy" / "container" / "build.sh"), tag, *runtime(), *limits(), timeout=1200)
    try:
        yield tag
    finally:
        sh("podman", "rmi", "-f", tag, check=False)


@pytest.fixture(scope="module")
def node_ns():
    """A namespace standing for the node's host network, joined to this host by a /30 veth."""
    run_id = secrets.token_hex(2)
    octet = _free_octet()
    ns, link = f"steth-dp-{run_id}-ct", f"sdp{run_id}c"
    root_ip, node_ip = f"10.248.{octet}.1", f"10.248.{octet}.2"
    sh("ip", "netns", "add", ns)
    try:
        sh("ip", "link", "add", link, "type", "veth", "peer", "name", "eth0", "netns", ns)
        sh("ip", "addr", "add", f"{root_ip}/30", "dev", link)
        sh("ip", "link", "set", link, "up")
        sh("ip", "-n", ns, "addr", "add", f"{node_ip}/30", "dev", "eth0")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        yield ns, node_ip
    finally:
        sh("ip", "link", "del", link, check=False)
        sh("ip", "netns", "del", ns, check=False)


@pytest.fixture(scope="module")
def running(image, node_ns, tmp_path_factory):
    ns, node_ip = node_ns
    tmp = tmp_path_factory.mktemp("container")
    etc = tmp / "etc"
    layout = store.init(str(etc / "pki"), {"ct-node": [node_ip]})
    (etc / "pki" / "nodes" / "ct-node.key").rename(etc / "pki" / "node.key")
    (etc / "pki" / "nodes" / "ct-node.pem").rename(etc / "pki" / "node.pem")
    token = etc / "token"
    token.write_text(secrets.token_hex(32) + "\n")
    token.chmod(0o600)
    (etc / "steth-agent.conf").write_text(
        f"[DEFAULT]\nbind = {node_ip}\ntoken_file = /etc/steth/token\n"
        "tls_cert_file = /etc/steth/pki/node.pem\ntls_key_file = /etc/steth/pki/node.key\n"
        "tls_ca_file = /etc/steth/pki/ca.pem\n"
    )
    (tmp / "steth.conf").write_text(
        f"[DEFAULT]\ntoken_file = {token}\nrequest_timeout = 5\n[nodes]\nct-node = {node_ip}\n"
        f"[tls]\nenabled = true\nca_file = {layout.ca_cert}\ncert_file = {layout.client_cert}\n"
        f"key_file = {layout.client_key}\n"
    )
    name = f"steth-dp-ct-{secrets.token_hex(3)}"
    volume = f"{name}-state"
    sh(
        "podman",
        *runtime(),  # a global option of podman
        "run",
        *limits(),
        "-d",
        "--name",
        name,
        f"--network=ns:/run/netns/{ns}",
        "--cap-drop=all",
        f"--cap-add={CAPS}",
        "--security-opt=no-new-privileges",
        "--read-only",
        "-v",
        f"{etc}:/etc/steth:ro",
        "-v",
        f"{volume}:/var/lib/steth-agent",
        image,
        timeout=120,
    )
    try:
        yield name, tmp
    finally:
        sh("podman", "rm", "-f", "-t", "10", name, check=False, timeout=60)
        sh("podman", "volume", "rm", "-f", volume, check=False)


def agent_list(conf: Path) -> tuple[int, list[dict]]:
    r = subprocess.run(
        [STETH, "--config-file", str(conf), "agent", "list", "-f", "json"], capture_output=True, text=True, timeout=60
    )
    return r.returncode, json.loads(r.stdout) if r.stdout.strip() else []


def test_the_container_agent_answers_over_mtls(running):
    name, tmp = running
    deadline = time.monotonic() + 60  # a bound on start-up, not a timing check
    rc, rows = agent_list(tmp / "steth.conf")
    while rc != 0 and time.monotonic() < deadline:
        time.sleep(1)
        rc, rows = agent_list(tmp / "steth.conf")
    logs = sh("podman", "logs", name, check=False).stderr
    assert rc == 0, (rows, logs)
    assert rows[0]["name"] == "ct-node" and rows[0]["alive"] is True


def test_the_container_has_only_the_units_capabilities(running):
    name, _ = running
    status = sh("podman", "exec", name, "cat", "/proc/1/status").stdout
    cap_bnd = int(re.search(r"^CapBnd:\s+(\w+)", status, re.M).group(1), 16)
    assert cap_bnd == (1 << 12) | (1 << 13) | (1 << 21) | (1 << 6)  # NET_ADMIN NET_RAW SYS_ADMIN SETGID
    assert re.search(r"^NoNewPrivs:\s+1", status, re.M)
    inspect = json.loads(sh("podman", "inspect", name).stdout)[0]
    assert inspect["HostConfig"]["ReadonlyRootfs"] is True
    mounts = {m["Destination"]: m for m in inspect["Mounts"]}
    assert mounts["/var/lib/steth-agent"]["Type"] == "volume"
    assert mounts["/etc/steth"]["RW"] is False
    # the state directory is writable (the agent records its leases there), the root is not
    assert sh("podman", "exec", name, "touch", "/var/lib/steth-agent/probe-write").returncode == 0
    assert sh("podman", "exec", name, "touch", "/opt/steth/x", check=False).returncode != 0
