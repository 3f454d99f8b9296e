"""Booted Debian containers (systemd-nspawn -b) as the nodes of a deployment test.

Each node is a copy of a Debian root made from Debian's packages (deploy/container/debian-base.sh,
cached in $STETH_DEPLOY_CACHE, default /var/tmp/steth-deploy), booted with systemd inside a network
namespace of its own that a /30 veth joins to this host::

    root namespace                       namespace steth-dp-<r>-<i>  (systemd-nspawn -b inside)
    sdp<r><i> 10.248.X.(4i+1)/30 ------- eth0 10.248.X.(4i+2)/30

Everything made here carries the steth-dp-/sdp prefix and the run's random <r>, and is removed
by the fixture (containers stopped by their recorded PID) whatever the tests did.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("STETH_DEPLOY_CACHE", "/var/tmp/steth-deploy"))
BASE_TAR = CACHE / "debian-systemd.tar"
BOOT_TIMEOUT = 90.0  # a bound for a loaded 2-core machine, not a timing check


def need(*tools: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("deployment tests need root (namespaces, containers)", allow_module_level=True)
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (scripts/setup.sh installs them)", allow_module_level=True)


def sh(*argv: str, timeout: float = 120, check: bool = True, **kw) -> subprocess.CompletedProcess:
    done = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, **kw)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return done


@dataclass
class Node:
    name: str
    netns: str
    root_link: str
    address: str
    root_address: str
    rootfs: Path
    proc: subprocess.Popen
    log: Path
    leader: int = 0  # host PID of the container's systemd

    def run(self, *argv: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        """A command inside the container (its mount, UTS, IPC, network and PID namespaces)."""
        return sh(
            "nsenter", "-t", str(self.leader), "-m", "-u", "-i", "-n", "-p", "--", *argv, check=check, timeout=timeout
        )


@pytest.fixture(scope="session")
def base_tar() -> Path:
    """The Debian root with systemd, built once and cached (mmdebstrap downloads from Debian)."""
    if not BASE_TAR.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        sh(str(ROOT / "deploy" / "container" / "debian-base.sh"), str(BASE_TAR), "--systemd", timeout=900)
    return BASE_TAR


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory) -> Path:
    """steth and its dependencies as wheels (the way the Ansible role installs nodes without an index)."""
    d = tmp_path_factory.mktemp("wheels")
    sh(sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check", str(ROOT), "-w", str(d), timeout=600)
    assert any(p.name.startswith("steth-") for p in d.iterdir())
    return d


def _free_octet() -> int:
    used = set()
    for cmd in (["ip", "-j", "-4", "addr"], ["ip", "-j", "-4", "route"]):
        text = json.dumps(json.loads(sh(*cmd).stdout))
        used |= {int(part.split(".")[0]) for part in text.split("10.248.")[1:] if part.split(".")[0].isdigit()}
    free = [x for x in range(1, 255) if x not in used]
    if not free:
        pytest.skip("no free 10.248.X.0/24 on this host")
    return free[secrets.randbelow(len(free))]


def _leader(nspawn_pid: int) -> int:
    """The container's init: the child of systemd-nspawn's child (nspawn forks twice)."""
    for _ in range(3):
        try:
            children = Path(f"/proc/{nspawn_pid}/task/{nspawn_pid}/children").read_text().split()
        except OSError:
            return 0
        if not children:
            return 0
        comm = Path(f"/proc/{children[0]}/comm").read_text().strip()
        if comm == "systemd":
            return int(children[0])
        nspawn_pid = int(children[0])
    return 0


def _boot(node: Node) -> None:
    deadline = time.monotonic() + BOOT_TIMEOUT
    state = ""
    while time.monotonic() < deadline:
        if node.proc.poll() is not None:
            raise AssertionError(f"systemd-nspawn exited {node.proc.returncode}: {node.log.read_text()[-2000:]}")
        node.leader = node.leader or _leader(node.proc.pid)
        if node.leader:
            state = node.run("systemctl", "is-system-running", check=False).stdout.strip()
            if state in ("running", "degraded"):
                return
        time.sleep(0.5)
    raise AssertionError(f"container {node.name} did not boot in {BOOT_TIMEOUT:g} s (state {state!r})")


def _stop(node: Node) -> None:
    if node.proc.poll() is None:
        node.proc.send_signal(signal.SIGTERM)  # nspawn asks the container's systemd to power off
        try:
            node.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            node.proc.kill()
            node.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def nodes(base_tar, tmp_path_factory) -> Iterator[list[Node]]:
    """Three booted containers: network-1, compute-1, compute-2."""
    run_id = secrets.token_hex(2)
    octet = _free_octet()
    work = tmp_path_factory.mktemp("containers")
    made: list[Node] = []
    created_ns: list[str] = []
    created_links: list[str] = []
    try:
        for i, name in enumerate(["network-1", "compute-1", "compute-2"]):
            ns, link = f"steth-dp-{run_id}-{i}", f"sdp{run_id}{i}"
            root_ip, node_ip = f"10.248.{octet}.{4 * i + 1}", f"10.248.{octet}.{4 * i + 2}"
            sh("ip", "netns", "add", ns)
            created_ns.append(ns)
            sh("ip", "link", "add", link, "type", "veth", "peer", "name", "eth0", "netns", ns)
            created_links.append(link)
            sh("ip", "addr", "add", f"{root_ip}/30", "dev", link)
            sh("ip", "link", "set", link, "up")
            sh("ip", "-n", ns, "addr", "add", f"{node_ip}/30", "dev", "eth0")
            sh("ip", "-n", ns, "link", "set", "eth0", "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            rootfs = work / name
            rootfs.mkdir()
            sh("tar", "-C", str(rootfs), "-xf", str(base_tar), timeout=300)
            log = work / f"{name}.log"
            with open(log, "wb") as fh:
                proc = subprocess.Popen(
                    [
                        "systemd-nspawn",
                        "--quiet",
                        "--register=no",
                        "--keep-unit",
                        f"--network-namespace-path=/run/netns/{ns}",
                        # a node's systemd has it (nspawn keeps it only for networks it makes itself)
                        "--capability=CAP_NET_ADMIN",
                        f"--machine={name}",
                        "-D",
                        str(rootfs),
                        "-b",
                        "--console=pipe",
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=fh,
                    stderr=subprocess.STDOUT,
                )
            made.append(Node(name, ns, link, node_ip, root_ip, rootfs, proc, log))
        for node in made:
            _boot(node)
        yield made
    finally:
        for node in made:
            _stop(node)
        for link in created_links:
            sh("ip", "link", "del", link, check=False)
        for ns in created_ns:
            sh("ip", "netns", "del", ns, check=False)
        shutil.rmtree(work, ignore_errors=True)
