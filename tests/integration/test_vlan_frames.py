"""802.1Q probe frames on real sockets: a sender and a listener in two fresh namespaces joined by a
Linux bridge in a third (the lab's switch, in miniature), and the agent's /v1/vlan routes.

Every namespace is created here with a random suffix and deleted at the end.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import NS_PREFIX, ip, netns_names, skip_unless_root

skip_unless_root()

pytestmark = [pytest.mark.root]
HELPER = str(Path(__file__).with_name("vlan_helper.py"))


class Trunk:
    """Namespaces a and b, each with eth1 plugged into bridge br0 in namespace s."""

    def __init__(self) -> None:
        suffix = secrets.token_hex(3)
        self.a, self.b, self.s = (f"{NS_PREFIX}v{suffix}-{x}" for x in "abs")

    def build(self) -> None:
        for ns in (self.a, self.b, self.s):
            ip("netns", "add", ns)
        ip("link", "add", "br0", "type", "bridge", ns=self.s)
        ip("link", "set", "br0", "up", ns=self.s)
        for ns, port in ((self.a, "pa"), (self.b, "pb")):
            ip("link", "add", port, "type", "veth", "peer", "name", "eth1", "netns", ns, ns=self.s)
            ip("link", "set", port, "master", "br0", "up", ns=self.s)
            ip("link", "set", "eth1", "up", ns=ns)

    def remove(self) -> None:
        for ns in (self.a, self.b, self.s):
            ip("netns", "del", ns, check=False)


@pytest.fixture(scope="module")
def trunk():
    t = Trunk()
    try:
        t.build()
        yield t
    finally:
        t.remove()
    assert not {t.a, t.b, t.s} & netns_names()


def helper(ns: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        ["ip", "netns", "exec", ns, sys.executable, HELPER, *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_helper(ns: str, *args: str) -> dict:
    p = helper(ns, *args)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    return json.loads(out.splitlines()[-1])


class Capture:
    """A listener started in ``ns``; ``result()`` after the senders are done."""

    def __init__(self, ns: str, run_id: str, seconds: float, expect: int = 0) -> None:
        """Ends after ``seconds``, or soon after ``expect`` frames (a bound, not a timing assertion)."""
        self.proc = helper(ns, "listen", "eth1", run_id, str(seconds), str(expect))
        line = self.proc.stdout.readline()  # bound and filtered before this line: no race with the sender
        assert json.loads(line or "{}").get("ready"), self.proc.stderr.read()

    def result(self) -> dict:
        out, err = self.proc.communicate(timeout=90)
        assert self.proc.returncode == 0, err
        return json.loads(out.splitlines()[-1])


def test_every_tagged_vlan_heard_with_its_tag_and_untagged_too(trunk):
    run_id = secrets.token_hex(8)
    cap = Capture(trunk.b, run_id, 20, expect=4095)
    sent = run_helper(trunk.a, "send", "eth1", run_id, "node-a", "untagged,1-4094")
    assert sent == {"sent": 4095, "errors": 0, "mac": sent["mac"]}
    got = cap.result()
    # every VLAN arrived with the tag it was sent with (recovered from PACKET_AUXDATA), untagged as 0
    assert got["heard"] == {"node-a/eth1": list(range(0, 4095))}
    assert got["mismatched"] == {}
    assert got["frames"] == 4095 and got["kernel_drops"] == 0


def test_unrelated_traffic_and_other_runs_ignored(trunk):
    run_id = secrets.token_hex(8)
    cap = Capture(trunk.b, run_id, 20, expect=3)
    assert run_helper(trunk.a, "noise", "eth1")["sent"] == 1200
    run_helper(trunk.a, "send", "eth1", run_id, "node-a", "100-102")
    got = cap.result()
    assert got["heard"] == {"node-a/eth1": [100, 101, 102]}
    assert got["frames"] == 3
    # only probe-ethertype frames pass the BPF filter: the bad magic and the other run's frames were
    # looked at and ignored; IPv4, ARP and tagged IPv4 never reached the socket
    assert got["ignored"] == 600


def test_burst_from_two_senders_at_once_not_dropped(trunk):
    run_id = secrets.token_hex(8)
    cap_a = Capture(trunk.a, run_id, 20, expect=4094)
    cap_b = Capture(trunk.b, run_id, 20, expect=4094)
    senders = [
        helper(trunk.a, "send", "eth1", run_id, "node-a", "1-4094"),
        helper(trunk.b, "send", "eth1", run_id, "node-b", "1-4094"),
    ]
    for p in senders:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0 and json.loads(out)["sent"] == 4094, err
    got_a, got_b = cap_a.result(), cap_b.result()
    # each hears the other's whole burst, and not its own frames
    assert got_a["heard"] == {"node-b/eth1": list(range(1, 4095))}
    assert got_b["heard"] == {"node-a/eth1": list(range(1, 4095))}
    assert got_a["kernel_drops"] == got_b["kernel_drops"] == 0


def test_pruned_vlan_on_the_bridge_is_not_heard(trunk):
    rule = ["FORWARD", "-o", "pb", "-p", "802_1Q", "--vlan-id", "105", "-j", "DROP"]
    subprocess.run(["ip", "netns", "exec", trunk.s, "ebtables", "-A", *rule], check=True)
    try:
        run_id = secrets.token_hex(8)
        cap = Capture(trunk.b, run_id, 20, expect=10)  # 11 sent, one pruned
        run_helper(trunk.a, "send", "eth1", run_id, "node-a", "untagged,100-110")
        assert cap.result()["heard"] == {"node-a/eth1": [0, *range(100, 105), *range(106, 111)]}
    finally:
        subprocess.run(["ip", "netns", "exec", trunk.s, "ebtables", "-D", *rule], check=False)
