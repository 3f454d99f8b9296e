"""Read-only probes from inside a named namespace (qrouter-, qdhcp-): NAT rules and TCP connect."""

from __future__ import annotations

import shutil
import socket
import time

from ..errors import HostError
from ..host import netlink, netns, proc
from ..wire.models import IptablesResponse, TcpConnectRequest, TcpConnectResult, Verdict
from ..wire.vmprobe import RouterState

TABLES = ("nat", "filter", "mangle", "raw")


def iptables_save(namespace: str | None, table: str) -> IptablesResponse:
    """`iptables-save -t TABLE` (the L3 agent's SNAT/DNAT rules live in the qrouter's nat table)."""
    exe = shutil.which("iptables-save")
    if exe is None:
        return IptablesResponse(
            netns=namespace,
            table=table,
            verdict=Verdict.ERROR,
            detail="iptables-save is not installed (package iptables)",
        )
    if namespace and not netns.exists(namespace):
        return IptablesResponse(
            netns=namespace, table=table, verdict=Verdict.FAIL, detail=f"network namespace {namespace} does not exist"
        )
    done = proc.run([exe, "-t", table], netns=namespace, timeout=15)
    if done.returncode != 0:
        return IptablesResponse(
            netns=namespace,
            table=table,
            verdict=Verdict.ERROR,
            detail=f"iptables-save failed: {done.stderr.strip()[:300]}",
        )
    rules = [ln for ln in done.stdout.splitlines() if ln.startswith((":", "-A "))]
    return IptablesResponse(netns=namespace, table=table, rules=rules, detail=f"{len(rules)} lines")


def tcp_connect(req: TcpConnectRequest) -> TcpConnectResult:
    """One TCP handshake (then close) from inside ``req.netns``; refused and timeout are results."""
    family = socket.AF_INET6 if ":" in req.address else socket.AF_INET

    def attempt() -> tuple[bool, float | None, str | None]:
        t0 = time.monotonic()
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(req.timeout)
            try:
                s.connect((req.address, req.port))
            except TimeoutError:
                return False, None, f"no answer within {req.timeout:g} s"
            except OSError as exc:
                return False, None, exc.strerror or str(exc)
            return True, round(time.monotonic() - t0, 4), None

    try:
        ok, seconds, error = netns.call_in(req.netns, attempt)
    except FileNotFoundError:
        ok, seconds, error = False, None, f"network namespace {req.netns} does not exist"
    return TcpConnectResult(
        address=req.address,
        port=req.port,
        netns=req.netns,
        connected=ok,
        seconds=seconds,
        error=error,
        verdict=Verdict.OK if ok else Verdict.FAIL,
    )


def router_state(namespace: str) -> RouterState:
    """What makes a namespace forward: net.ipv4.ip_forward, its routes and its links (read only)."""
    if not netns.exists(namespace):
        return RouterState(
            netns=namespace, exists=False, verdict=Verdict.FAIL, detail=f"network namespace {namespace} does not exist"
        )

    def read_forward() -> bool:
        with open("/proc/sys/net/ipv4/ip_forward") as fh:  # per namespace: read from a thread inside it
            return fh.read().strip() == "1"

    try:
        forward = netns.call_in(namespace, read_forward)
        routes, links = netlink.routes_and_links(namespace)
    except (OSError, HostError) as exc:
        return RouterState(netns=namespace, verdict=Verdict.ERROR, detail=f"cannot read {namespace}: {exc}")
    return RouterState(netns=namespace, ip_forward=forward, routes=routes, links=links)
