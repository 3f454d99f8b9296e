"""schemathesis against the agent's published OpenAPI, in a network namespace of its own.

The agent and the fuzzer share a fresh namespace holding only `lo` (nothing
outside is reachable), and the agent runs in a private mount namespace whose
/run/netns is empty (no other namespace of this host can be probed by name).
With the token: no server error (5xx but the documented 501/503 of a host that
lacks a kernel module or iperf3), no undocumented status code, no response
outside its schema, no wrong content type or headers. Without it: 401 on every
/v1 route but /v1/health. Bounded: --max-time, a per-request timeout.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import AGENT_BIN, skip_unless_root

skip_unless_root()

PORT = 9698
FUZZ_SECONDS = 90
BIN = Path(sys.executable).parent
CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_schema_conformance,response_headers_conformance"
)
CONFIG = """\
# 501: the kernel cannot (no 8021q module); 503: iperf3 is not installed. Documented answers about the
# host, not failures of the agent. 500 stays a failure.
[checks.not_a_server_error]
expected-statuses = ["2xx", "3xx", "4xx", "501", "503"]
"""

PROBE_WITHOUT_TOKEN = """
import json, sys, urllib.request, urllib.error
base = sys.argv[1]
spec = json.load(urllib.request.urlopen(base + "/openapi.json", timeout=10))
out = {}
for path, ops in spec["paths"].items():
    for method in ops:
        url = base + path.replace("{", "x").replace("}", "")
        req = urllib.request.Request(url, method=method.upper(), data=b"{}" if method in ("post", "put") else None,
                                     headers={"Content-Type": "application/json"})
        try:
            status = urllib.request.urlopen(req, timeout=10).status
        except urllib.error.HTTPError as exc:
            status = exc.code
        out[f"{method.upper()} {path}"] = status
print(json.dumps(out))
"""


def in_ns(ns: str, *argv: str, timeout: float = 60, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", "netns", "exec", ns, *argv], capture_output=True, text=True, timeout=timeout, **kw)


@pytest.fixture(scope="module")
def fuzz_agent(tmp_path_factory):
    """(namespace, base URL, token, state dir) of an agent alone in a fresh namespace; removed afterwards."""
    ns = f"stethfz-{secrets.token_hex(3)}"
    d = tmp_path_factory.mktemp("fuzz")
    state = d / "state"
    state.mkdir(mode=0o700)
    token = secrets.token_hex(32)
    token_file = d / "token"
    token_file.write_text(token)
    token_file.chmod(0o600)
    subprocess.run(["ip", "netns", "add", ns], check=True)
    agent = None
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        argv = [str(AGENT_BIN), "--insecure-http", "--bind", "127.0.0.1", "--port", str(PORT),
                "--token-file", str(token_file),
                "--state-dir", str(state), "--ovsdb-connection", f"unix:{d}/no-ovs.sock",
                "--capture-max-seconds", "5", "--iperf-max-servers", "2"]  # fmt: skip
        # ip and unshare exec in place, sh execs the agent: the PID is the agent's
        script = 'mount -t tmpfs steth-fuzz /run/netns && exec "$@"'
        log = open(d / "agent.log", "wb")
        agent = subprocess.Popen(
            ["ip", "netns", "exec", ns, "unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
             *argv],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        base = f"http://127.0.0.1:{PORT}"
        deadline = time.monotonic() + 30
        while True:
            health = f"import urllib.request; urllib.request.urlopen('{base}/v1/health', timeout=2)"
            probe = in_ns(ns, str(BIN / "python"), "-c", health)
            if probe.returncode == 0:
                break
            assert agent.poll() is None, (d / "agent.log").read_text()
            assert time.monotonic() < deadline, "agent did not answer /v1/health in 30 s"
            time.sleep(0.2)
        yield ns, base, token, state, d
    finally:
        if agent is not None:
            agent.terminate()
            try:
                agent.wait(30)
            except subprocess.TimeoutExpired:
                agent.kill()
                agent.wait(10)
        left = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout.split()
        for pid in left:  # processes the agent started in its namespace (none expected)
            try:
                os.kill(int(pid), 9)
            except ProcessLookupError:
                pass
        subprocess.run(["ip", "netns", "del", ns], check=False)


def test_without_token_every_v1_route_but_health_is_401(fuzz_agent):
    ns, base, _, _, _ = fuzz_agent
    done = in_ns(ns, str(BIN / "python"), "-c", PROBE_WITHOUT_TOKEN, base)
    assert done.returncode == 0, done.stderr
    statuses = json.loads(done.stdout)
    assert len(statuses) >= 25
    assert statuses.pop("GET /v1/health") == 200
    wrong = {op: s for op, s in statuses.items() if op.split()[1].startswith("/v1/") and s != 401}
    assert wrong == {}


def test_schemathesis_finds_nothing_with_the_token(fuzz_agent):
    ns, base, token, state, d = fuzz_agent
    config = d / "schemathesis.toml"
    config.write_text(CONFIG)
    done = in_ns(
        ns,
        str(BIN / "schemathesis"), "--config-file", str(config), "run", f"{base}/openapi.json",
        "-H", f"X-Steth-Token: {token}", "--checks", CHECKS, "--max-time", str(FUZZ_SECONDS),
        "--max-examples", "20", "--request-timeout", "30", "--seed", "16", "--workers", "1",
        "--continue-on-failure", "--max-failures", "100", "--no-color",
        timeout=FUZZ_SECONDS + 120, cwd=d,
    )  # fmt: skip
    summary = done.stdout[-6000:]
    assert done.returncode == 0, summary
    assert "Tested: " in done.stdout and "failures" not in done.stdout.splitlines()[-1], summary
    # the agent undid whatever the fuzzer made it change
    leases = json.loads((state / "leases.json").read_text()) if (state / "leases.json").exists() else []
    assert leases == [] or all(lease["expires_at"] > time.time() for lease in leases)
