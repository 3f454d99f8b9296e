"""deploy/ansible against three booted Debian containers: steth installed from a wheelhouse, the PKI,
token and hardened unit distributed, every agent answering the controller over mutual TLS under
systemd; a second run changes nothing; ansible-lint finds nothing."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT, need, sh

need("systemd-nspawn", "mmdebstrap", "ansible-playbook", "nsenter")
pytestmark = [pytest.mark.root, pytest.mark.deploy]

PLAYBOOK = ROOT / "deploy" / "ansible" / "playbook.yml"
PLUGINS = Path(__file__).parent / "ansible_plugins" / "connection"
STETH = str(Path(sys.executable).parent / "steth")


def inventory(nodes, tmp: Path, wheelhouse: Path) -> Path:
    agents = {
        n.name: {
            "ansible_connection": "nsenter",
            "nsenter_pid": n.leader,
            "ansible_become": False,
            "ansible_python_interpreter": "/usr/bin/python3",
            "steth_address": n.address,
        }
        for n in nodes
    }
    octets = nodes[0].address.split(".")
    inv = {
        "all": {
            "vars": {
                "steth_wheelhouse": str(wheelhouse),
                "steth_install_system_packages": False,  # in the image already; the containers have no mirror
                "steth_pki_dir": str(tmp / "pki"),
                "steth_networks": {"management": f"{'.'.join(octets[:3])}.0/24"},
            },
            "children": {
                "steth_controller": {
                    "hosts": {
                        "localhost": {
                            "ansible_connection": "local",
                            "ansible_python_interpreter": "/usr/bin/python3",
                            "steth_controller_install": False,
                            "steth_bin": STETH,
                            "steth_controller_conf": str(tmp / "steth.conf"),
                        }
                    }
                },
                "steth_agents": {"hosts": agents},
            },
        }
    }
    path = tmp / "inventory.json"
    path.write_text(json.dumps(inv, indent=1))
    return path


def playbook(inv: Path, tmp: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "ANSIBLE_CONNECTION_PLUGINS": str(PLUGINS),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCAL_TEMP": str(tmp / "ansible-local"),
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_FORKS": "3",
    }
    env.pop("STETH_CONFIG", None)
    done = subprocess.run(
        ["ansible-playbook", "-i", str(inv), str(PLAYBOOK)],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    name = f"playbook-{len(list(tmp.glob('playbook-*.log')))}.log"
    (tmp / name).write_text(done.stdout + done.stderr)
    keep = os.environ.get("STETH_DEPLOY_LOGS")  # a directory to keep the runs' output in (for a report)
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        (Path(keep) / name).write_text(done.stdout + done.stderr)
    return done


def recap(output: str) -> dict[str, dict[str, int]]:
    """PLAY RECAP lines -> host -> {ok, changed, unreachable, failed, ...}."""
    out = {}
    for m in re.finditer(r"^(\S+)\s+:\s+(.*)$", output.split("PLAY RECAP")[-1], re.M):
        out[m.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
    return out


@pytest.fixture(scope="module")
def deployed(nodes, wheelhouse, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ansible")
    inv = inventory(nodes, tmp, wheelhouse)
    first = playbook(inv, tmp)
    assert first.returncode == 0, first.stdout[-6000:] + first.stderr[-2000:]
    return tmp, inv, first


def test_first_run_changes_every_host(deployed, nodes):
    _, _, first = deployed
    r = recap(first.stdout)
    assert set(r) == {"localhost", *(n.name for n in nodes)}
    for host, counts in r.items():
        assert counts["failed"] == 0 and counts["unreachable"] == 0, (host, counts)
        assert counts["changed"] > 0, (host, counts)


def test_agents_answer_the_controller_over_mtls_under_systemd(deployed, nodes):
    tmp, _, _ = deployed
    conf = (tmp / "steth.conf").read_text()
    assert "[tls]\nenabled = true" in conf
    for n in nodes:
        assert f"{n.name} = {n.address}" in conf
    r = sh(STETH, "--config-file", str(tmp / "steth.conf"), "agent", "list", "-f", "json", timeout=120)
    rows = {row["name"]: row for row in json.loads(r.stdout)}
    assert sorted(rows) == sorted(n.name for n in nodes)
    assert all(row["alive"] is True for row in rows.values()), rows
    for n in nodes:
        assert n.run("systemctl", "is-active", "steth-agent").stdout.strip() == "active"
        assert n.run("systemctl", "is-enabled", "steth-agent").stdout.strip() == "enabled"
        caps = n.run("systemctl", "show", "-p", "CapabilityBoundingSet", "--value", "steth-agent").stdout.split()
        assert sorted(caps) == ["cap_net_admin", "cap_net_raw", "cap_setgid", "cap_sys_admin"], caps
        # the running agent's own capability sets: only those four, effective
        pid = n.run("systemctl", "show", "-p", "MainPID", "--value", "steth-agent").stdout.strip()
        status = n.run("cat", f"/proc/{pid}/status").stdout
        cap_bnd = int(re.search(r"^CapBnd:\s+(\w+)", status, re.M).group(1), 16)
        assert cap_bnd == (1 << 12) | (1 << 13) | (1 << 21) | (1 << 6)  # NET_ADMIN NET_RAW SYS_ADMIN SETGID
        modes = n.run("stat", "-c", "%n %a", "/etc/steth/pki/node.key", "/etc/steth/token", "/etc/steth/pki/ca.pem")
        assert modes.stdout.split("\n")[:3] == [
            "/etc/steth/pki/node.key 600",
            "/etc/steth/token 600",
            "/etc/steth/pki/ca.pem 644",
        ]


def test_without_a_client_certificate_the_agents_refuse(deployed, nodes, tmp_path):
    tmp, _, _ = deployed
    text = (tmp / "steth.conf").read_text()
    no_cert = re.sub(r"^(cert_file|key_file) = .*$", "", text, flags=re.M)
    conf = tmp_path / "steth.conf"
    conf.write_text(no_cert)
    r = subprocess.run(
        [STETH, "--config-file", str(conf), "agent", "list", "-f", "json"], capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 3
    assert not any(row["alive"] for row in json.loads(r.stdout))


def test_second_run_changes_nothing(deployed, nodes):
    tmp, inv, _ = deployed
    second = playbook(inv, tmp)
    assert second.returncode == 0, second.stdout[-6000:]
    r = recap(second.stdout)
    assert set(r) == {"localhost", *(n.name for n in nodes)}
    for host, counts in r.items():
        assert counts["changed"] == 0 and counts["failed"] == 0, (host, counts, second.stdout[-4000:])


def test_ansible_lint_is_clean():
    if not shutil.which("ansible-lint"):
        pytest.skip("needs ansible-lint")
    r = subprocess.run(
        ["ansible-lint", "--nocolor", str(PLAYBOOK), str(ROOT / "deploy" / "ansible" / "roles")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert r.returncode == 0, r.stdout + r.stderr
