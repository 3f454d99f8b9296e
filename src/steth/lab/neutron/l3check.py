"""The proof that ends `up`: every VM reaches the internet host (SNAT), the internet reaches the floating IPs (DNAT)."""

from __future__ import annotations

import concurrent.futures
import subprocess
import time
from collections.abc import Callable

from ...errors import LabError
from ...host import netlink
from .record import NeutronRecord
from .services import env, wait

L3_TIMEOUT = 60.0


def ping(netns: str, address: str, timeout: float = 1.0) -> tuple[bool, str]:
    """One ICMP echo from ``netns`` (iputils ping); (answered, its output)."""
    done = subprocess.run(
        ["nsenter", f"--net=/run/netns/{netns}", "ping", "-n", "-c", "1", "-W", f"{timeout:g}", address],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout + 5,
        env=env("/"),
        check=False,
    )
    return done.returncode == 0, (done.stdout + done.stderr).strip()


def until(check: Callable[[], tuple[bool, str]], deadline: float) -> tuple[bool, str]:
    """Poll ``check`` until it succeeds or ``deadline`` (monotonic); the last answer."""
    ok, out = check()
    while not ok and time.monotonic() < deadline:
        time.sleep(0.2)
        ok, out = check()
    return ok, out


def router_evidence(ns: str) -> str:
    try:
        ifaces = netlink.list_interfaces(ns)
    except Exception as exc:  # the namespace may not exist: that is the evidence
        return f"{ns}: {exc}"
    shown = []
    for i in ifaces:
        if i.name != "lo":
            shown.append(" ".join([i.name, *(f"{a.address}/{a.prefixlen}" for a in i.addresses if a.family == 4)]))
    return f"{ns}: {', '.join(shown) or 'no interfaces'}"


def l3_wait(rec: NeutronRecord, exited: Callable[[], str], logs: str, timeout: float = L3_TIMEOUT) -> None:
    """Wait for the router's namespace, then prove SNAT (every VM pings the internet host) and DNAT
    (the internet pings each floating IP); LabError with the evidence otherwise."""
    from pyroute2 import netns as pnetns

    assert rec.router is not None and rec.external is not None, "the router comes first"
    deadline = time.monotonic() + timeout
    qrouter = f"qrouter-{rec.router.id}"
    wait(f"router namespace {qrouter}", lambda: qrouter in pnetns.listnetns(), timeout, alive=exited, log=logs)
    host, inet_ns = rec.external.internet_host, rec.external.namespace
    checks = {f"{vm.name} -> {host} (SNAT)": (vm.namespace, host) for vm in rec.vms}
    for name, fip in rec.floating_ips.items():
        checks[f"internet -> {fip.address} ({name}'s floating IP, DNAT)"] = (inet_ns, fip.address)
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(checks)) as pool:
        futures = {what: pool.submit(until, lambda a=args: ping(*a), deadline) for what, args in checks.items()}
        failed = {what: f.result()[1] for what, f in futures.items() if not f.result()[0]}
    if failed:
        detail = "; ".join(f"{what}: {out.splitlines()[-1] if out else 'no output'}" for what, out in failed.items())
        raise LabError(
            f"the router does not forward after {timeout:g} s: {detail}; {router_evidence(qrouter)}",
            f"see {logs}/l3-agent-network.log",
        )
