"""/v1/watch and /metrics on a real agent: it probes on its own, resumes after a restart, stops when told.

Peers are the test's own namespaces: the peer (answers), an unused address of the
peer link (never answers). No timing assertion: waits are bounded polls.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import AGENT_PORT, NO_TOKEN, eventually, http, running_agent, skip_unless_root

skip_unless_root()
pytestmark = pytest.mark.root

WATCH_PORT = AGENT_PORT + 41


def plan(net, **kw):
    return {
        "source": "agent",
        "interval": 0.5,
        "timeout": 0.3,
        "networks": [
            {
                "name": "peerlink",
                "mtu": 1500,
                "peers": [{"name": "peer", "address": net.peer_ip}, {"name": "nobody", "address": net.unused_peer_ip}],
            }
        ],
        **kw,
    }


def results(agent) -> dict:
    r = agent.get("/v1/watch")
    assert r.status == 200, r.body
    return {x["peer"]: x for x in r.body["results"]}


def metrics(agent, token=None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token or agent.token}"} if token is not NO_TOKEN else {}
    r = http("GET", agent.base_url + "/metrics", headers=headers)
    return r.status, r.body if isinstance(r.body, str) else str(r.body)


def sample(text: str, name: str, **labels: str) -> float | None:
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if not labels and line.startswith(f"{name} "):
            return float(line.rsplit(" ", 1)[1])
        if line.startswith(f"{name}{{") and line.split("}")[0][len(name) + 1 :] == want:
            return float(line.rsplit(" ", 1)[1])
    return None


@pytest.fixture()
def watching_agent(net, token, no_ovs_connection, tmp_path):
    value, path = token
    log = tmp_path / "agent.log"
    with running_agent(
        net.ns, net.agent_ip, WATCH_PORT, value, path, log, extra=["--ovsdb-connection", no_ovs_connection]
    ) as a:
        yield a, log


def test_watch_probes_resumes_after_restart_and_stops(net, token, no_ovs_connection, watching_agent):
    agent, log = watching_agent
    r = agent.request("PUT", "/v1/watch", plan(net))
    assert r.status == 200, r.body
    assert r.body["active"] is True
    got = eventually(lambda: results(agent), lambda r: r["peer"]["sent"] >= 2 and r["nobody"]["sent"] >= 2, 20)
    assert got["peer"]["up"] is True and got["peer"]["lost"] == 0 and got["peer"]["rtt_ms"] > 0
    assert got["peer"]["mtu_ok"] is True  # 1500 fits the veth's MTU
    assert got["nobody"]["up"] is False and got["nobody"]["lost"] == got["nobody"]["sent"]
    assert got["nobody"]["mtu_ok"] is False

    status, text = metrics(agent)
    assert status == 200
    pair = dict(source="agent", destination="nobody", network="peerlink")
    assert sample(text, "steth_watch_probes_lost_total", **pair) >= 2
    assert sample(text, "steth_watch_peer_up", **{**pair, "destination": "peer"}) == 1
    assert sample(text, "steth_watch_mtu_probe_bytes", source="agent", network="peerlink") == 1500
    assert "process_resident_memory_bytes" in text
    assert metrics(agent, NO_TOKEN)[0] == 401

    # a restarted agent resumes the plan from its state directory
    value, path = token
    agent.proc.terminate()
    agent.proc.wait(10)
    with running_agent(
        net.ns, net.agent_ip, WATCH_PORT, value, path, log, extra=["--ovsdb-connection", no_ovs_connection]
    ) as again:
        st = again.get("/v1/watch").body
        assert st["active"] is True and st["plan"]["source"] == "agent"
        eventually(lambda: again.get("/v1/watch").body["rounds"], lambda n: n >= 1, 20, "a round after restart")
        stopped = again.request("DELETE", "/v1/watch")
        assert stopped.status == 200 and stopped.body["active"] is False
        assert again.get("/v1/watch").body["plan"] is None
        assert sample(metrics(again)[1], "steth_watch_active") == 0
    with running_agent(
        net.ns, net.agent_ip, WATCH_PORT, value, path, log, extra=["--ovsdb-connection", no_ovs_connection]
    ) as third:
        assert third.get("/v1/watch").body["active"] is False  # stop removed the plan for good


def test_a_firewall_drop_added_while_watching_shows_as_loss(net, watching_agent):
    """Each probe has its own ICMP identifier: conntrack of earlier rounds does not let later ones pass."""
    agent, _ = watching_agent
    assert agent.request("PUT", "/v1/watch", plan(net)).status == 200
    eventually(lambda: results(agent)["peer"], lambda r: r["up"] is True, 20, "peer answering")
    rule = ["INPUT", "-s", net.agent_peer_ip, "-p", "icmp", "-m", "conntrack", "--ctstate", "NEW"]
    rule += ["-m", "comment", "--comment", "steth-it-watch", "-j", "DROP"]
    subprocess.run(["ip", "netns", "exec", net.peer_ns, "iptables", "-A", *rule], check=True, timeout=30)
    try:
        before = results(agent)["peer"]["lost"]
        eventually(lambda: results(agent)["peer"], lambda r: r["up"] is False and r["lost"] > before, 20, "loss")
    finally:
        subprocess.run(["ip", "netns", "exec", net.peer_ns, "iptables", "-D", *rule], check=True, timeout=30)
    eventually(lambda: results(agent)["peer"], lambda r: r["up"] is True, 20, "peer answering again")
    assert agent.request("DELETE", "/v1/watch").status == 200


def test_a_bad_plan_is_refused_naming_the_field(net, agent):
    r = agent.request("PUT", "/v1/watch", plan(net, interval=0.1))
    assert r.status == 422 and "interval" in r.detail
    assert agent.get("/v1/watch").body["active"] is False


def test_vlan_heartbeat_reports_the_vlans_a_prober_is_not_heard_on(net, watching_agent):
    """The peer namespace plays a prober sending heartbeats on VLANs 100 and 101 only: 102 is reported missing."""
    agent, _ = watching_agent
    body = plan(net, interval=0.5, vlan_every=1)
    body["networks"][0].update(vlans=[100, 101, 102], interface=net.peer_if, probers=["peer"])
    assert agent.request("PUT", "/v1/watch", body).status == 200
    sender = (
        "import sys, time\n"
        "from steth.host import packets\n"
        "from steth.agent.watch_vlan import RUN_ID\n"
        "end = time.monotonic() + float(sys.argv[1])\n"
        "while time.monotonic() < end:\n"
        "    packets.send_probes('eth0', RUN_ID, 'peer', [100, 101])\n"
        "    time.sleep(0.3)\n"
    )
    proc = subprocess.Popen(["ip", "netns", "exec", net.peer_ns, sys.executable, "-c", sender, "30"])
    try:

        def vlan_result():
            return agent.get("/v1/watch").body["vlan_results"]

        got = eventually(vlan_result, lambda r: r and r[0]["at"] is not None, 25, "a heartbeat window")
        assert got == [{"network": "peerlink", "prober": "peer", "missing": [102], "error": None, "at": got[0]["at"]}]
        text = metrics(agent)[1]
        assert sample(text, "steth_watch_vlan_missing", source="peer", destination="agent", network="peerlink") == 1
    finally:
        proc.terminate()
        proc.wait(10)
    assert agent.request("DELETE", "/v1/watch").status == 200
