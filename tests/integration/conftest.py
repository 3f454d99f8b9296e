"""Real steth-agent processes in fresh network namespaces, against the real kernel.

Topology built once per session (names carry a random suffix so parallel runs
never clash, and nothing of another run or lab is ever touched)::

    root namespace                agent namespace steth-it-<r>          peer namespace steth-it-<r>-p
    sti-<hex4> 10.251.X.1/30 ---- eth0 10.251.X.2/30   (agent listens here)
                                  eth1 10.252.X.1/29 ------------------ eth0 10.252.X.2/29
                                  route 10.253.X.0/24 via 10.252.X.2    (forwarding off: black hole)

10.252.X.3-6 are unused addresses of the peer link and 10.253.X.0/24 is routed
only inside these namespaces towards a peer that drops it, so "no answer"
targets never leave the test's own namespaces.

Every process started here is stopped by its own PID, and every namespace and
link created here is deleted, even when tests fail.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import json
import os
import random
import secrets
import shutil
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.client import HTTPException
from pathlib import Path
from typing import Any

import pytest

from ..conftest import eventually  # noqa: F401  (re-exported for the integration tests)

IS_ROOT = os.geteuid() == 0
BIN_DIR = Path(sys.executable).parent
AGENT_BIN = BIN_DIR / "steth-agent"
AGENT_PORT = 9698
NS_PREFIX = "steth-it-"
LINK_PREFIX = "sti-"
START_TIMEOUT = 30.0  # a bound for a loaded machine (labs starting dozens of agents), not a timing check


def skip_unless_root() -> None:
    """Module-level guard for every integration test module."""
    if not IS_ROOT:
        pytest.skip("integration tests need root (network namespaces)", allow_module_level=True)
    if shutil.which("ip") is None:
        pytest.skip("integration tests need iproute2 (`ip`)", allow_module_level=True)


# ---- commands (argv only, never a shell) -------------------------------------


def run(argv: list[str], *, check: bool = True, timeout: float = 30.0) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc


def ip(*args: str, ns: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """`ip [-n NS] ARGS...`."""
    return run(["ip", *(["-n", ns] if ns else []), *args], check=check)


def ip_json(*args: str, ns: str | None = None) -> Any:
    out = ip("-j", *args, ns=ns).stdout
    return json.loads(out) if out.strip() else []


def netns_names() -> set[str]:
    return {entry["name"] for entry in ip_json("netns", "list")}


def root_link_names() -> set[str]:
    return {link["ifname"] for link in ip_json("link", "show")}


# ---- HTTP (urllib, never through a proxy) --------------------------------------

NO_TOKEN = object()


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]

    @property
    def fields(self) -> list[str]:
        """The fields a 422 names (its detail's loc without body/query/path, dotted)."""
        detail = self.body.get("detail") if isinstance(self.body, dict) else None
        if not isinstance(detail, list):
            return []
        return [".".join(str(p) for p in e["loc"] if p not in ("body", "query", "path")) or "request" for e in detail]

    @property
    def detail(self) -> str:
        """The error's text; a 422's list of {loc, msg, type} as "field: msg; ..." (loc without body/query/path)."""
        if not isinstance(self.body, dict):
            return str(self.body)
        detail = self.body.get("detail", "")
        if isinstance(detail, list):
            return "; ".join(f"{field}: {e['msg']}" for field, e in zip(self.fields, detail, strict=True))
        return detail


def http(
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    body: Any = None,
    raw: bytes | None = None,
    context: ssl.SSLContext | None = None,
    timeout: float = 30.0,
) -> Reply:
    """One request (``body`` sent as JSON, or ``raw`` bytes as they are); 4xx/5xx come back as a
    Reply, transport failures raise."""
    handlers: list[Any] = [urllib.request.ProxyHandler({})]
    if context is not None:
        handlers.append(urllib.request.HTTPSHandler(context=context))
    opener = urllib.request.build_opener(*handlers)
    data = raw
    hdrs = dict(headers or {})
    if body is not None:
        data = json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with opener.open(req, timeout=timeout) as resp:
            status, raw, rh = resp.status, resp.read(), dict(resp.headers)
    except urllib.error.HTTPError as exc:
        status, raw, rh = exc.code, exc.read(), dict(exc.headers)
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode(errors="replace")
    return Reply(status, parsed, rh)


@dataclass
class Agent:
    """A running steth-agent: where it listens, its token, its process."""

    base_url: str
    token: str
    proc: subprocess.Popen
    log_path: Path
    context: ssl.SSLContext | None = None

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float = 60.0,
    ) -> Reply:
        """``token``: None = the right one in X-Steth-Token; NO_TOKEN = none; a string = that one."""
        hdrs = dict(headers or {})
        if token is None:
            hdrs.setdefault("X-Steth-Token", self.token)
        elif token is not NO_TOKEN:
            hdrs["X-Steth-Token"] = token
        return http(method, self.base_url + path, headers=hdrs, body=body, context=self.context, timeout=timeout)

    def get(self, path: str, **kw: Any) -> Reply:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any, **kw: Any) -> Reply:
        return self.request("POST", path, body, **kw)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


def stop_process(proc: subprocess.Popen, timeout: float = 5.0) -> None:
    """SIGTERM then SIGKILL, by the Popen's own PID only."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)


@functools.lru_cache(maxsize=1)
def agent_has_state_dir() -> bool:
    """Whether this steth-agent takes --state-dir (where it records, and at start-up undoes, its leases)."""
    return "--state-dir" in run([str(AGENT_BIN), "--help"], check=False).stdout


@contextlib.contextmanager
def running_agent(
    ns: str,
    bind: str,
    port: int,
    token: str,
    token_file: Path,
    log_path: Path,
    extra: list[str] | None = None,
    context: ssl.SSLContext | None = None,
) -> Iterator[Agent]:
    """Start `ip netns exec NS steth-agent ...` (ip execs in place: the PID is the agent's), wait for
    /v1/health (bounded), yield it, and stop it by PID afterwards whatever happened."""
    argv = [
        "ip",
        "netns",
        "exec",
        ns,
        str(AGENT_BIN),
        "--bind",
        bind,
        "--port",
        str(port),
        "--token-file",
        str(token_file),
        *(extra or []),
    ]
    if context is None:  # no TLS: plain HTTP must be asked for (the agent serves HTTPS only by default)
        argv.append("--insecure-http")
    if agent_has_state_dir() and "--state-dir" not in (extra or []):
        # never the shared default: an agent undoes at start-up what others recorded there
        state_dir = log_path.parent / f"state-{port}"
        state_dir.mkdir(mode=0o700, exist_ok=True)
        argv += ["--state-dir", str(state_dir)]
    scheme = "https" if context is not None else "http"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    agent = Agent(f"{scheme}://{bind}:{port}", token, proc, log_path, context)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"steth-agent exited with {proc.returncode}: {agent.log()}")
            try:
                if http("GET", agent.base_url + "/v1/health", context=context, timeout=2).status == 200:
                    break
            except (OSError, HTTPException):
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"steth-agent did not answer /v1/health within {START_TIMEOUT:g} s: {agent.log()}")
            time.sleep(0.1)
        # `ip netns exec` execs in place: the PID we will stop is the agent itself, not a wrapper
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0")
        assert any(arg.endswith(b"steth-agent") for arg in cmdline), cmdline
        yield agent
    finally:
        stop_process(proc)


# ---- the namespaces ------------------------------------------------------------


@dataclass
class Net:
    suffix: str
    octet: int
    ns: str  # the agent's namespace
    peer_ns: str
    root_link: str

    agent_if: str = "eth0"  # agent side of the management link
    peer_if: str = "eth1"  # agent side of the peer link

    @property
    def root_ip(self) -> str:
        return f"10.251.{self.octet}.1"

    @property
    def agent_ip(self) -> str:
        return f"10.251.{self.octet}.2"

    @property
    def agent_peer_ip(self) -> str:
        return f"10.252.{self.octet}.1"

    @property
    def peer_ip(self) -> str:
        return f"10.252.{self.octet}.2"

    @property
    def unused_peer_ip(self) -> str:
        """In the peer link's /29, assigned to nobody."""
        return f"10.252.{self.octet}.6"

    @property
    def blackhole_net(self) -> ipaddress.IPv4Network:
        """Routed to the peer inside these namespaces only; the peer does not forward: no answer."""
        return ipaddress.ip_network(f"10.253.{self.octet}.0/24")

    def ip(self, *args: str, ns: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        return ip(*args, ns=ns, check=check)


def _root_addresses_in(prefix: str) -> dict[str, str]:
    """{address: link} of root-namespace IPv4 addresses starting with ``prefix``."""
    found = {}
    for entry in ip_json("-4", "addr", "show"):
        for a in entry.get("addr_info", []):
            if a.get("local", "").startswith(prefix):
                found[a["local"]] = entry["ifname"]
    return found


def _claim_octet(link: str) -> int:
    """Put 10.251.X.1/30 on ``link`` for an X no other link of this host uses (another run may)."""
    for _ in range(10):
        used = {int(a.split(".")[2]) for a in _root_addresses_in("10.251.")}
        for r in ip_json("-4", "route", "show"):
            dst = str(r.get("dst", ""))
            if dst.startswith("10.251."):
                used.add(int(dst.split(".")[2].split("/")[0]))
        x = random.choice([x for x in range(1, 255) if x not in used])
        ip("addr", "add", f"10.251.{x}.1/30", "dev", link)
        # a parallel run may have picked the same X in the same instant: then both step back and retry
        if set(_root_addresses_in(f"10.251.{x}.").values()) == {link}:
            return x
        ip("addr", "del", f"10.251.{x}.1/30", "dev", link, check=False)
        time.sleep(random.random() / 10)
    raise AssertionError("could not claim a free 10.251.X.0/30")


def _free_link_name() -> str:
    existing = root_link_names()
    for _ in range(100):
        name = f"{LINK_PREFIX}{secrets.token_hex(2)}"
        if name not in existing:
            return name
    raise AssertionError("no free sti-XXXX link name")


def _sysctl_ns(ns: str, key: str, value: str) -> None:
    run(["ip", "netns", "exec", ns, "sysctl", "-q", "-w", f"{key}={value}"], check=False)


def _wait_links_up(ns: str, names: list[str], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        links = {link["ifname"]: link for link in ip_json("addr", "show", ns=ns)}
        pending = [
            n
            for n in names
            if links.get(n, {}).get("operstate") != "UP"
            or any(a.get("tentative") for a in links.get(n, {}).get("addr_info", []))
        ]
        if not pending:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"links {pending} in {ns} did not come up")
        time.sleep(0.05)


RUN_NETNS = Path("/run/netns")


def session_entries(prefix: str) -> list[str]:
    """Entries under /run/netns named ``prefix`` or ``prefix-...`` (this session's names only)."""
    try:
        return sorted(n for n in os.listdir(RUN_NETNS) if n == prefix or n.startswith(prefix + "-"))
    except FileNotFoundError:
        return []


def remove_netns(name: str) -> None:
    """`ip netns del`; if an empty, unmounted entry stays (what pyroute2 leaves when it re-creates a
    namespace from inside another mount namespace, as agents without the fix do), unlink it too."""
    ip("netns", "del", name, check=False)
    with contextlib.suppress(FileNotFoundError):
        if not os.path.ismount(RUN_NETNS / name):
            (RUN_NETNS / name).unlink()


def cleanup(prefix: str, namespaces: list[str], links: list[str]) -> None:
    """Delete exactly what this session created (reverse order); never fails the teardown itself."""
    for ns in reversed(namespaces):
        remove_netns(ns)
    for ns in session_entries(prefix):  # e.g. a test's extra namespace brought back by a foreign agent
        remove_netns(ns)
    for link in links:
        if link in root_link_names():
            ip("link", "del", link, check=False)


_SESSION_PID = os.getpid()


def _interrupt(signum, frame):
    if os.getpid() != _SESSION_PID:
        # a forked copy of this process (pyroute2 forks for namespace work and stops its children with
        # SIGTERM): die as by default, never unwind into pytest and run the session's teardown twice
        os._exit(128 + signum)
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.fixture(scope="session")
def net() -> Iterator[Net]:
    """Agent namespace + peer namespace + veths, deleted at the end of the session."""
    if not IS_ROOT:
        pytest.skip("needs root (network namespaces)")
    # `timeout`, CI runners and `kill` send SIGTERM: tear down as on Ctrl-C instead of dying on the spot
    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _interrupt)
    suffix = secrets.token_hex(3)
    agent_ns, peer_ns, root_link = f"{NS_PREFIX}{suffix}", f"{NS_PREFIX}{suffix}-p", _free_link_name()
    namespaces: list[str] = []
    links: list[str] = []
    try:
        for ns in (agent_ns, peer_ns):
            ip("netns", "add", ns)
            namespaces.append(ns)
            # link-local IPv6 addresses usable at once, so the address list does not change under a test
            _sysctl_ns(ns, "net.ipv6.conf.default.accept_dad", "0")
            _sysctl_ns(ns, "net.ipv6.conf.all.accept_dad", "0")
            ip("link", "set", "lo", "up", ns=ns)
        # the agent's eth0 is created directly inside its namespace (root has an eth0 of its own)
        ip("link", "add", root_link, "type", "veth", "peer", "name", "eth0", "netns", agent_ns)
        links.append(root_link)
        net = Net(suffix=suffix, octet=_claim_octet(root_link), ns=agent_ns, peer_ns=peer_ns, root_link=root_link)
        ip("-n", net.ns, "link", "add", net.peer_if, "type", "veth", "peer", "name", "eth0", "netns", net.peer_ns)
        ip("link", "set", net.root_link, "up")
        ip("addr", "add", f"{net.agent_ip}/30", "dev", net.agent_if, ns=net.ns)
        ip("addr", "add", f"{net.agent_peer_ip}/29", "dev", net.peer_if, ns=net.ns)
        ip("addr", "add", f"{net.peer_ip}/29", "dev", "eth0", ns=net.peer_ns)
        ip("link", "set", net.agent_if, "up", ns=net.ns)
        ip("link", "set", net.peer_if, "up", ns=net.ns)
        ip("link", "set", "eth0", "up", ns=net.peer_ns)
        _sysctl_ns(net.peer_ns, "net.ipv4.ip_forward", "0")
        ip("route", "add", str(net.blackhole_net), "via", net.peer_ip, ns=net.ns)
        _wait_links_up(net.ns, [net.agent_if, net.peer_if])
        _wait_links_up(net.peer_ns, ["eth0"])
        yield net
    finally:
        cleanup(agent_ns, namespaces, links)
    # reached only when nothing failed above: prove nothing is left behind
    assert not session_entries(agent_ns), "namespaces left behind"
    assert not set(links) & root_link_names(), "links left behind"


@pytest.fixture(scope="session")
def token(tmp_path_factory) -> tuple[str, Path]:
    value = secrets.token_hex(32)
    path = tmp_path_factory.mktemp("token") / "token"
    path.write_text(value + "\n")
    path.chmod(0o600)
    return value, path


@pytest.fixture(scope="session")
def no_ovs_connection(tmp_path_factory) -> str:
    """An OVSDB address that does not exist (this host may or may not run OVS itself)."""
    return f"unix:{tmp_path_factory.mktemp('no-ovs')}/absent/db.sock"


@pytest.fixture(scope="session")
def agent(net, token, no_ovs_connection, tmp_path_factory) -> Iterator[Agent]:
    """The agent every route test talks to: plain HTTP on 10.251.X.2:9698, no OVS."""
    value, path = token
    log = tmp_path_factory.mktemp("agent") / "agent.log"
    with running_agent(
        net.ns, net.agent_ip, AGENT_PORT, value, path, log, extra=["--ovsdb-connection", no_ovs_connection]
    ) as a:
        yield a


@pytest.fixture(scope="session")
def start_agent(net, token, tmp_path_factory):
    """Factory: ``with start_agent(port, extra=[...], context=ctx) as a`` runs another agent in the namespace."""
    value, path = token

    def _start(port: int, extra: list[str] | None = None, context: ssl.SSLContext | None = None):
        log = tmp_path_factory.mktemp(f"agent-{port}") / "agent.log"
        return running_agent(net.ns, net.agent_ip, port, value, path, log, extra=extra, context=context)

    return _start
