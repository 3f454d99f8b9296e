"""iperf3: one-shot servers under leases, and a client whose ``-J`` report is parsed into flows.

A server is started on a free port of the agent's range, bound to the
requested address, with ``-1`` (it serves one test and exits). Its lease is
recorded before the process is started; the lease kills it when it runs out,
when the controller releases it, at agent shutdown and after a crash. The
start call returns only once the server's socket is listening, so a client
never races it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import Any

from ..host import proc, sockets, undo
from ..wire.iperf import (
    IperfClientRequest,
    IperfClientResult,
    IperfFlow,
    IperfServer,
    IperfServerRequest,
    IperfServerStop,
    Protocol,
)
from ..wire.models import Verdict
from ..wire.validators import parse_ports as parse_ports  # re-exported: the range syntax of --iperf-ports

IPERF3 = "iperf3"
LISTEN_TIMEOUT = 5.0  # seconds for a fresh server to start listening
CLIENT_MARGIN = 15.0  # seconds a client may take beyond duration + connect timeout before it is killed


class IperfRefused(Exception):
    """A request the agent will not (or cannot) carry out; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def available() -> bool:
    return shutil.which(IPERF3) is not None


def _require_iperf3() -> None:
    if not available():
        raise IperfRefused(503, "iperf3 is not installed on this node (install the iperf3 package)")


# ---- client ------------------------------------------------------------------


def client_argv(req: IperfClientRequest) -> list[str]:
    argv = [
        IPERF3,
        "-c",
        req.server,
        "-p",
        str(req.port),
        "-J",
        "-t",
        f"{req.duration:g}",
        "-P",
        str(req.parallel),
        "--connect-timeout",
        str(int(req.connect_timeout * 1000)),
    ]
    if req.protocol == Protocol.UDP:
        argv.append("-u")
    if req.bandwidth is not None:
        argv += ["-b", str(req.bandwidth)]
    if req.reverse:
        argv.append("-R")
    if req.bidir:
        argv.append("--bidir")
    if req.bind:
        argv += ["-B", req.bind]
    return argv


def _num(d: dict, key: str) -> Any:
    v = d.get(key)
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _flow(direction: str, sender: str, sent: dict, received: dict, udp: bool) -> IperfFlow:
    flow = IperfFlow(
        direction=direction,
        sender=sender,
        bits_per_second=float(_num(received, "bits_per_second") or 0.0),
        sent_bits_per_second=float(_num(sent, "bits_per_second") or 0.0),
        bytes=int(_num(received, "bytes") or 0),
    )
    if udp:
        flow.jitter_ms = _num(received, "jitter_ms")
        flow.lost_packets = _num(received, "lost_packets")
        flow.packets = _num(received, "packets") or _num(sent, "packets")
        loss = _num(received, "lost_percent")
        flow.loss_pct = round(float(loss), 3) if loss is not None else None
    else:
        flow.retransmits = _num(sent, "retransmits")
    return flow


def parse_report(data: Any, req: IperfClientRequest, started_at: float, ended_at: float) -> IperfClientResult:
    """An ``iperf3 -J`` client report -> result with one flow per direction (iperf3's error as ``error``)."""
    base = dict(
        server=req.server,
        port=req.port,
        protocol=req.protocol,
        duration=req.duration,
        started_at=started_at,
        ended_at=ended_at,
    )
    if not isinstance(data, dict):
        return IperfClientResult(**base, verdict=Verdict.ERROR, error="iperf3 wrote no JSON report")
    if data.get("error"):
        return IperfClientResult(**base, verdict=Verdict.ERROR, error=f"iperf3: {data['error']}")
    end = data.get("end") or {}
    udp = req.protocol == Protocol.UDP
    if "sum_sent" not in end or "sum_received" not in end:
        return IperfClientResult(**base, verdict=Verdict.ERROR, error="iperf3 report has no totals (end.sum_*)")
    flows = []
    if req.reverse:
        flows.append(_flow("reverse", "server", end["sum_sent"], end["sum_received"], udp))
    else:
        flows.append(_flow("forward", "client", end["sum_sent"], end["sum_received"], udp))
    if req.bidir and "sum_sent_bidir_reverse" in end:
        flows.append(
            _flow("reverse", "server", end["sum_sent_bidir_reverse"], end.get("sum_received_bidir_reverse", {}), udp)
        )
    cpu = end.get("cpu_utilization_percent") or {}
    return IperfClientResult(
        **base,
        flows=flows,
        verdict=Verdict.OK,
        cpu_client_pct=_round(_num(cpu, "host_total")),
        cpu_server_pct=_round(_num(cpu, "remote_total")),
    )


def _round(v: float | None) -> float | None:
    return round(float(v), 2) if v is not None else None


def run_client(req: IperfClientRequest) -> IperfClientResult:
    """Run the test to completion (blocking); the subprocess is killed if it overruns."""
    _require_iperf3()
    limit = req.duration + req.connect_timeout + CLIENT_MARGIN
    started = time.time()
    try:
        done = proc.run(client_argv(req), timeout=limit)
    except subprocess.TimeoutExpired:
        return IperfClientResult(
            server=req.server,
            port=req.port,
            protocol=req.protocol,
            duration=req.duration,
            started_at=started,
            ended_at=time.time(),
            verdict=Verdict.ERROR,
            error=f"iperf3 did not finish within {limit:g} s and was killed",
        )
    ended = time.time()
    try:
        data = json.loads(done.stdout) if done.stdout.strip() else None
    except ValueError:
        data = None
    if data is None:
        why = (done.stderr or done.stdout).strip()[:300] or f"exit status {done.returncode}"
        return IperfClientResult(
            server=req.server,
            port=req.port,
            protocol=req.protocol,
            duration=req.duration,
            started_at=started,
            ended_at=ended,
            verdict=Verdict.ERROR,
            error=f"iperf3: {why}",
        )
    return parse_report(data, req, started, ended)


# ---- servers -----------------------------------------------------------------


@dataclass
class _Server:
    lease_id: str
    bind: str
    port: int
    rec: proc.ProcRecord
    log_path: str


class IperfServers:
    """The agent's iperf3 servers: at most ``max_servers`` running, ports from ``ports``, each under a lease."""

    def __init__(
        self,
        leases: Any,
        state_dir: str,
        ports: tuple[int, int],
        max_servers: int,
        reserved_ports: tuple[int, ...] = (),
    ) -> None:
        self.leases = leases
        self.dir = os.path.join(state_dir, "iperf")
        self.ports = ports
        self.max_servers = max_servers
        self.reserved = set(reserved_ports)
        self._servers: dict[str, _Server] = {}
        self._lock = threading.Lock()
        self._clients = threading.BoundedSemaphore(max_servers)

    @property
    def ports_text(self) -> str:
        return f"{self.ports[0]}-{self.ports[1]}"

    def _prune(self) -> None:
        """Forget servers whose lease is gone; release leases of servers that already exited (one-shot done)."""
        for lease_id, srv in list(self._servers.items()):
            if self.leases.get(lease_id) is None:
                del self._servers[lease_id]
            elif not proc.is_running(srv.rec):
                del self._servers[lease_id]
                self.leases.release(lease_id)

    def _view(self, srv: _Server) -> IperfServer:
        lease = self.leases.get(srv.lease_id)
        return IperfServer(
            lease_id=srv.lease_id,
            bind=srv.bind,
            port=srv.port,
            pid=srv.rec.pid,
            expires_in=round(lease.remaining, 1) if lease else 0.0,
        )

    def list(self) -> list[IperfServer]:
        with self._lock:
            self._prune()
            return [self._view(s) for s in self._servers.values()]

    def start(self, req: IperfServerRequest) -> IperfServer:
        _require_iperf3()
        with self._lock:
            self._prune()
            if len(self._servers) >= self.max_servers:
                raise IperfRefused(
                    429,
                    f"this node already runs {len(self._servers)} iperf3 servers, the most "
                    f"allowed (--iperf-max-servers {self.max_servers}); retry when a test "
                    f"has finished",
                )
            if req.port is not None:
                if not self.ports[0] <= req.port <= self.ports[1]:
                    raise IperfRefused(
                        422, f"port: {req.port} is outside this agent's iperf3 range {self.ports_text} (--iperf-ports)"
                    )
                if req.port in self.reserved:
                    raise IperfRefused(409, f"port {req.port} is the agent's own port; choose another")
                return self._start_on(req, req.port, explicit=True)
            in_use = sockets.ports_in_use() | {s.port for s in self._servers.values()} | self.reserved
            for port in range(self.ports[0], self.ports[1] + 1):
                if port in in_use:
                    continue
                try:
                    return self._start_on(req, port, explicit=False)
                except _PortTaken:
                    continue
            raise IperfRefused(
                409,
                f"no free port in the iperf3 range {self.ports_text} on this node "
                f"(all in use); widen --iperf-ports or wait",
            )

    def _start_on(self, req: IperfServerRequest, port: int, explicit: bool) -> IperfServer:
        if explicit and sockets.is_listening(req.bind, port):
            raise IperfRefused(409, f"port {port} on {req.bind} is already in use on this node")
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        lease = self.leases.open(f"iperf3 server {req.bind}:{port}", req.lease_seconds)
        log_path = os.path.join(self.dir, f"server-{lease.id}.log")
        self.leases.add_undo(lease, undo.path(log_path))
        argv = [IPERF3, "-s", "-1", "-B", req.bind, "-p", str(port)]
        try:
            rec = proc.spawn(argv, log_path=log_path)
        except OSError as exc:
            self.leases.release(lease.id)
            raise IperfRefused(500, f"cannot start iperf3: {exc}") from None
        self.leases.add_undo(lease, undo.process(rec))
        try:
            self._wait_listening(rec, req.bind, port, log_path)
        except BaseException:
            self.leases.release(lease.id)
            raise
        srv = _Server(lease.id, req.bind, port, rec, log_path)
        self._servers[lease.id] = srv
        return self._view(srv)

    @staticmethod
    def _wait_listening(rec: proc.ProcRecord, bind: str, port: int, log_path: str) -> None:
        deadline = time.monotonic() + LISTEN_TIMEOUT
        delay = 0.002
        while True:
            if sockets.is_listening(bind, port):
                return
            if not proc.is_running(rec):
                text = _read(log_path)
                if "in use" in text:
                    raise _PortTaken(port)
                if "assign requested address" in text:
                    raise IperfRefused(422, f"bind: {bind} is not an address of this node (iperf3: {text})")
                raise IperfRefused(500, f"iperf3 server exited at once: {text or 'no output'}")
            if time.monotonic() > deadline:
                raise IperfRefused(
                    500,
                    f"iperf3 server did not listen on {bind}:{port} within "
                    f"{LISTEN_TIMEOUT:g} s: {_read(log_path) or 'no output'}",
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

    def stop(self, lease_id: str) -> IperfServerStop:
        with self._lock:
            srv = self._servers.pop(lease_id, None)
        if srv is None and self.leases.get(lease_id) is None:
            return IperfServerStop(lease_id=lease_id, released=False)
        problems = self.leases.release(lease_id)
        return IperfServerStop(lease_id=lease_id, released=True, problems=problems)

    def client(self, req: IperfClientRequest) -> IperfClientResult:
        if not self._clients.acquire(blocking=False):
            raise IperfRefused(
                429,
                f"this node already runs {self.max_servers} iperf3 clients, the most allowed "
                f"(--iperf-max-servers); retry when a test has finished",
            )
        try:
            return run_client(req)
        finally:
            self._clients.release()


class _PortTaken(Exception):
    pass


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            text = fh.read().strip()
    except OSError:
        return ""
    return " ".join(line.strip() for line in text.splitlines() if line.strip())[:400]
