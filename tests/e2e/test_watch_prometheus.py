"""End to end: `steth watch` on the lab, scraped by a real Prometheus (Debian's), alerts fired by lab faults.

The test starts its own Prometheus on loopback (a free port, storage in a temporary
directory) with a generated configuration that scrapes every lab agent with the lab's
token, and the repository's alert rules with shorter windows (`for:` 3 s, rate over
10 s) so a fault shows within seconds; it stops that Prometheus by its PID afterwards.
Alerts are read back through Prometheus' HTTP API. Waits are bounded polls, never timing
assertions.
"""

from __future__ import annotations

import configparser
import json
import re
import shutil
import socket
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from ..conftest import eventually, steth
from .conftest import LAB

pytestmark = [pytest.mark.root, pytest.mark.e2e]

PROMETHEUS = shutil.which("prometheus")
RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "steth-rules.yml"
DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "steth-watch.json"
SRC, DST, NET = "compute-1", "compute-2", "tenant"


def fast_rules(text: str) -> str:
    """The deployed rules with test-sized durations: `for:` 3 s, rate windows of 10 s."""
    text = re.sub(r"for: \d+[smh]", "for: 3s", text)
    return re.sub(r"\[\d+[smh]\]", "[10s]", text)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api(base: str, path: str, **params: str):
    url = f"{base}/api/v1/{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=10) as resp:
        body = json.load(resp)
    assert body["status"] == "success", body
    return body["data"]


def firing(base: str) -> set[tuple[str, str, str, str]]:
    """(alertname, source, destination, network) of every firing alert."""
    alerts = api(base, "alerts")["alerts"]
    return {
        (
            a["labels"]["alertname"],
            a["labels"].get("source", ""),
            a["labels"].get("destination", ""),
            a["labels"].get("network", ""),
        )
        for a in alerts
        if a["state"] == "firing"
    }


@pytest.fixture(scope="module")
def prometheus(lab, tmp_path_factory):
    if PROMETHEUS is None:
        pytest.skip("prometheus missing: `bash scripts/setup.sh` installs Debian's prometheus")
    conf = configparser.ConfigParser()
    conf.read(lab["conf"])
    port = conf["DEFAULT"].get("agent_port", "9698")
    nodes = {k: v for k, v in conf["nodes"].items() if k not in conf.defaults()}
    targets = [f"{addr}:{port}" if ":" not in addr else addr for addr in nodes.values()]
    work = tmp_path_factory.mktemp("prometheus")
    (work / "rules.yml").write_text(fast_rules(RULES.read_text()))
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "1s"},
        "rule_files": [str(work / "rules.yml")],
        "scrape_configs": [
            {
                "job_name": "steth-agent",
                "authorization": {"type": "Bearer", "credentials_file": conf["DEFAULT"]["token_file"]},
                "static_configs": [{"targets": targets}],
            }
        ],
    }
    if conf.has_section("tls") and conf["tls"].getboolean("enabled"):  # the lab's agents serve mutual TLS
        tls = conf["tls"]
        config["scrape_configs"][0] |= {
            "scheme": "https",
            "tls_config": {"ca_file": tls["ca_file"], "cert_file": tls["cert_file"], "key_file": tls["key_file"]},
        }
    (work / "prometheus.yml").write_text(json.dumps(config))  # JSON is YAML
    listen = f"127.0.0.1:{free_port()}"
    argv = [
        PROMETHEUS,
        f"--config.file={work / 'prometheus.yml'}",
        f"--storage.tsdb.path={work / 'data'}",
        f"--web.listen-address={listen}",
        "--storage.tsdb.retention.time=1h",
    ]
    with open(work / "prometheus.log", "wb") as log:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://{listen}"
    try:

        def ready():
            try:
                return api(base, "status/buildinfo")["version"]
            except OSError:
                assert proc.poll() is None, (work / "prometheus.log").read_text()
                return None

        eventually(ready, bool, 60, "Prometheus answering")
        yield {"base": base, "targets": targets, "pid": proc.pid}
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def run(lab, *args: str):
    return steth(*args, env=lab["env"], timeout=120)


def test_watch_scraped_by_prometheus_and_faults_fire_the_right_alerts(lab, prometheus):
    base = prometheus["base"]
    r = run(lab, *"watch apply --interval 1 --timeout 0.5 --mtu --vlans 100-109 --vlan-every 2 -f json".split())
    assert r.rc == 0, r.err
    applied = r.json()
    assert {row["name"] for row in applied} == {"network", "compute-1", "compute-2"}
    assert all(row["verdict"] == "ok" and row["peers"] == 2 for row in applied), applied
    faults: list[str] = []
    try:
        # every agent scraped, and the whole 3-node mesh on 3 networks reported
        def scraped():
            return {t["labels"]["instance"]: t["health"] for t in api(base, "targets")["activeTargets"]}

        eventually(scraped, lambda t: len(t) == 3 and set(t.values()) == {"up"}, 60, "every agent scraped")
        eventually(
            lambda: api(base, "query", query="count(steth_watch_peer_up == 1)")["result"],
            lambda res: res and res[0]["value"][1] == str(3 * 2 * 3),
            60,
            "18 pairs up",
        )
        assert firing(base) == set()
        for panel in json.loads(DASHBOARD.read_text())["panels"]:
            for target in panel.get("targets", []):
                api(base, "query", query=target["expr"].replace("$network", NET))  # every dashboard query is valid

        # drop SRC -> DST: a pair problem, not DST's
        r = run(lab, "lab", "fault", "add", "drop", "--name", LAB, "--node", SRC, "--to", DST, "--network", NET)
        assert r.rc == 0, r.err
        faults.append(r.out.split(":")[0])
        eventually(lambda: firing(base), lambda f: ("StethPairLoss", SRC, DST, NET) in f, 90, "StethPairLoss")
        alerts = firing(base)
        assert not any(a[0] == "StethNodeUnreachable" for a in alerts), alerts
        assert {a for a in alerts if a[0] == "StethPairLoss"} == {("StethPairLoss", SRC, DST, NET)}
        status = run(lab, "watch", "status")
        assert status.rc == 1, status.err
        assert f"{NET}: only {SRC} cannot reach {DST}: a problem of that pair's path" in status.out
        assert run(lab, "lab", "fault", "remove", "--name", LAB, faults.pop()).rc == 0
        eventually(lambda: firing(base), lambda f: not f, 90, "alerts resolved after the drop was removed")

        # a lower MTU on DST's tenant interface: full-size probes to it are lost, small ones pass
        r = run(lab, "lab", "fault", "add", "mtu", "--name", LAB, "--node", DST, "--network", NET, "--mtu", "1400")
        assert r.rc == 0, r.err
        faults.append(r.out.split(":")[0])
        want = {("StethMtuBlackHole", src, DST, NET) for src in ("network", SRC)}
        eventually(lambda: firing(base), lambda f: want <= f, 90, "StethMtuBlackHole toward the node")
        assert not any(a[0] in ("StethPairLoss", "StethNodeUnreachable") for a in firing(base))
        assert run(lab, "lab", "fault", "remove", "--name", LAB, faults.pop()).rc == 0
        eventually(lambda: firing(base), lambda f: not f, 90, "alerts resolved after the MTU was restored")

        # VLAN 105 pruned on the switch port toward DST: its probers' heartbeats no longer reach it there
        r = run(lab, "lab", "fault", "add", "vlan-prune", "--name", LAB, "--node", DST, "--vlans", "105")
        assert r.rc == 0, r.err
        faults.append(r.out.split(":")[0])
        want = {("StethVlanMissing", src, DST, NET) for src in ("network", SRC)}
        eventually(lambda: firing(base), lambda f: want <= f, 90, "StethVlanMissing toward the node")
        assert {a[0] for a in firing(base)} == {"StethVlanMissing"}
        status = run(lab, "watch", "status")
        assert f"{NET}: frames from {SRC} to {DST} no longer arrive on VLANs 105" in status.out, status.out
        assert run(lab, "lab", "fault", "remove", "--name", LAB, faults.pop()).rc == 0
        eventually(lambda: firing(base), lambda f: not f, 90, "alerts resolved after the VLAN was restored")
    finally:
        for fid in faults:
            run(lab, "lab", "fault", "remove", "--name", LAB, fid)
        stopped = run(lab, "watch", "stop")
        assert stopped.rc == 0, stopped.err
    # the watch is over on every agent
    status = run(lab, "watch", "status", "-f", "json")
    assert {row["error"] for row in status.json()} == {"not watching"}
