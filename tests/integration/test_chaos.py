"""Chaos: the agent killed with SIGKILL in the middle of host changes, and a state directory on a full
filesystem. At the next start every lease is undone; a change that cannot be recorded is not made."""

from __future__ import annotations

import json
import secrets
import subprocess

import pytest

from .conftest import ip, ip_json, running_agent, skip_unless_root

skip_unless_root()
pytestmark = pytest.mark.root

CHAOS_PORT = 9741
FULL_PORT = 9742


@pytest.fixture
def veth(net):
    """A veth pair in the agent's namespace with one address of its own, made and removed here."""
    name = f"vc{secrets.token_hex(2)}"
    ip("link", "add", name, "type", "veth", "peer", "name", name + "p", ns=net.ns)
    ip("addr", "add", "198.51.100.1/24", "dev", name, ns=net.ns)
    try:
        yield name
    finally:
        ip("link", "del", name, ns=net.ns, check=False)


def addrs(net, ifname: str) -> set[str]:
    found = ip_json("addr", "show", "dev", ifname, ns=net.ns)
    return {f"{a['local']}/{a['prefixlen']}" for a in found[0]["addr_info"] if a.get("scope") == "global"}


def is_up(net, ifname: str) -> bool:
    return "UP" in ip_json("link", "show", "dev", ifname, ns=net.ns)[0]["flags"]


def test_sigkill_after_link_setup_is_undone_at_next_start(net, token, tmp_path, veth):
    value, path = token
    log = tmp_path / "agent.log"  # same directory -> same state directory for both runs
    with running_agent(net.ns, net.agent_ip, CHAOS_PORT, value, path, log) as a:
        r = a.post("/v1/links/setup", {"interface": veth, "cidr": "192.0.2.7/24", "lease": 600})
        assert r.status == 200, r.body
        assert addrs(net, veth) == {"198.51.100.1/24", "192.0.2.7/24"} and is_up(net, veth)
        a.proc.kill()  # no shutdown: the lease is still recorded, the address still there
        a.proc.wait(timeout=10)
        assert "192.0.2.7/24" in addrs(net, veth)
    with running_agent(net.ns, net.agent_ip, CHAOS_PORT, value, path, log):
        # start-up recovery undid the recorded change: the address gone, the link down as it was
        assert addrs(net, veth) == {"198.51.100.1/24"} and not is_up(net, veth)


@pytest.fixture
def full_state_dir(tmp_path):
    """A 1 MiB tmpfs, filled up after the agent starts (mounted here, unmounted here)."""
    mount = tmp_path / "full"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "steth-test-full", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_full_state_dir_refuses_the_change_and_leaves_nothing(net, token, tmp_path, veth, full_state_dir):
    value, path = token
    log = tmp_path / "agent.log"
    extra = ["--state-dir", str(full_state_dir)]
    with running_agent(net.ns, net.agent_ip, FULL_PORT, value, path, log, extra=extra) as a:
        filler = full_state_dir / "filler"
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=64k"], capture_output=True)  # ENOSPC ends it
        before = {p.name: p.read_bytes() for p in full_state_dir.iterdir() if p.name != "filler"}
        r = a.post("/v1/links/setup", {"interface": veth, "cidr": "192.0.2.8/24", "lease": 600})
        assert r.status >= 500 and "space" in json.dumps(r.body).lower(), (r.status, r.body)
        assert addrs(net, veth) == {"198.51.100.1/24"} and not is_up(net, veth)  # nothing changed on the host
        after = {p.name: p.read_bytes() for p in full_state_dir.iterdir() if p.name != "filler"}
        assert after == before  # nothing half-written
        filler.unlink()  # room again: the same request succeeds
        r = a.post("/v1/links/setup", {"interface": veth, "cidr": "192.0.2.8/24", "lease": 600})
        assert r.status == 200 and "192.0.2.8/24" in addrs(net, veth), r.body
        assert a.post("/v1/links/teardown", {"interface": veth}).status == 200


def test_sigkill_during_a_vlan_listen_leaves_nothing(net, token, tmp_path, veth):
    """A listen is a socket of the agent's own: SIGKILL frees it; the interface is as it was (no
    promiscuous mode or flag left), and the next agent knows nothing of the old capture."""
    value, path = token
    log = tmp_path / "agent.log"
    before = ip_json("-d", "link", "show", "dev", veth, ns=net.ns)[0]
    with running_agent(net.ns, net.agent_ip, CHAOS_PORT, value, path, log) as a:
        r = a.post("/v1/vlan/listen", {"interface": veth, "run_id": "c4a05e", "duration": 60})
        assert r.status == 201, r.body
        capture_id = r.body["capture_id"]
        a.proc.kill()
        a.proc.wait(timeout=10)
    with running_agent(net.ns, net.agent_ip, CHAOS_PORT, value, path, log) as a:
        assert a.post(f"/v1/vlan/listen/{capture_id}/collect", {}).status == 404
    after = ip_json("-d", "link", "show", "dev", veth, ns=net.ns)[0]
    assert (after["flags"], after.get("promiscuity")) == (before["flags"], before.get("promiscuity"))


def test_an_odd_run_id_is_refused_not_a_server_error(agent, veth):
    """Found by the test above: 5 hex digits passed validation and failed in bytes.fromhex (500)."""
    r = agent.post("/v1/vlan/listen", {"interface": veth, "run_id": "c4a05", "duration": 1})
    assert r.status == 422 and "even number" in r.detail, r.body
