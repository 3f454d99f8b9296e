"""The northd lock probe against a real ovsdb-server serving OVN_Southbound (standalone, a unix socket in
the test's directory): granted when nobody holds ``ovn_northd``, refused while a client holds it, and
given back at once, so the next client gets it without waiting."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from steth.openstack import ovn
from steth.openstack.ovn_model import ClusterMember, OvnConfig
from steth.openstack.ovn_northd import LOCK, probe

from ..conftest import eventually
from .conftest import run, stop_process

SCHEMA = Path("/usr/share/ovn/ovn-sb.ovsschema")

if not (shutil.which("ovsdb-server") and shutil.which("ovsdb-client") and SCHEMA.exists()):
    pytest.skip(
        "needs ovsdb-server, ovsdb-client and ovn-sb.ovsschema (`bash scripts/setup.sh`)", allow_module_level=True
    )


@pytest.fixture(params=["standalone", "clustered"])
def southbound(tmp_path, request):
    db, sock = tmp_path / "sb.db", tmp_path / "sb.sock"
    if request.param == "standalone":
        run(["ovsdb-tool", "create", str(db), str(SCHEMA)])
    else:  # a cluster of one: its only member is the leader
        run(["ovsdb-tool", "create-cluster", str(db), str(SCHEMA), f"unix:{tmp_path / 'raft.sock'}"])
    server = subprocess.Popen(
        ["ovsdb-server", str(db), f"--remote=punix:{sock}", f"--unixctl={tmp_path / 'sb.ctl'}", "--no-chdir",
         f"--log-file={tmp_path / 'sb.log'}"],
        cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while not sock.exists():
            assert server.poll() is None and time.monotonic() < deadline, "ovsdb-server did not start"
            time.sleep(0.02)
        yield f"unix:{sock}"
    finally:
        stop_process(server)


def holder(remote: str) -> subprocess.Popen:
    """A client that takes the lock and keeps it, as the active ovn-northd does (`ovsdb-client lock`)."""
    client = subprocess.Popen(
        ["ovsdb-client", "lock", remote, LOCK], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True
    )
    assert client.stdout is not None
    line = client.stdout.readline()  # it prints when the lock is granted
    assert line.strip() == '{"locked":true}', line
    return client


def test_the_lock_tells_whether_a_northd_holds_it(southbound):
    config = OvnConfig(nb_connection="unix:/nonexistent", sb_connection=southbound)
    members = eventually(lambda: ovn.cluster(config, "sb"), lambda m: m[0].leader or m[0].model == "standalone")
    free = probe(config, members)
    assert free.held is False and free.remote == southbound and not free.error
    client = holder(southbound)
    try:
        taken = probe(config, members)
        assert taken.held is True and not taken.error  # refused: the "northd" keeps it
        assert client.poll() is None  # asking did not disturb the holder
    finally:
        stop_process(client)
    # given back each time: another client gets it at once
    again = holder(southbound)
    stop_process(again)


def test_no_leader_to_ask_is_unknown_not_a_verdict():
    config = OvnConfig(nb_connection="unix:/nonexistent", sb_connection="unix:/nonexistent")
    followers = [ClusterMember("unix:/nonexistent", reachable=True, model="clustered", connected=True)]
    got = probe(config, followers)
    assert got.held is None and "no single SB leader" in got.error
    gone = probe(config, [ClusterMember("unix:/nonexistent", reachable=True, model="standalone")])
    assert gone.held is None and gone.error  # the leader vanished between the two requests
