"""`steth agent list` and `steth watch apply/status/stop` against 1000 simulated agents, on loopback.

The lab cannot hold 1000 real agents, so each simulated agent is an HTTP endpoint
(aiohttp, one listening socket per agent at 127.1.X.Y:19698, spread over a few
processes) that speaks the agent's /v1 contract: /v1/health and /v1/info answer
with what a real steth-agent answered when the benchmark started (recorded from
one started on 127.0.0.1; per simulated node only the hostname and the three
interfaces' addresses differ); PUT /v1/watch parses the plan with the agent's
own model (wire.watch.WatchPlan: every field validated as on a real agent) and
answers a WatchApplied as the agent does (and keeps the WatchStatus that GET
/v1/watch then answers); DELETE /v1/watch likewise; the token
is checked on every /v1 call.

What it measures: the controller's whole wall time as a user sees it (a new
`steth` process: config with 1000 nodes, 1000 /v1/info calls, peer sets over
1000 nodes on 3 networks, 1000 plans built, serialised and sent, answers parsed
and tabulated), and that process's own CPU time (what the controller costs,
whatever else runs), with the stand-ins sharing the same 2 cores. With --tls
every stand-in serves HTTPS with its own certificate (EC P-256, signed by a CA
made for the run, as `steth pki` makes them) and requires the controller's
client certificate, so every agent costs a full TLS handshake. What it does not
measure: real agents' work (their probing starts after they answer), network
latency between hosts, agents on 1000 different machines (here their CPU is
taken from the controller's two cores).

Usage: .venv/bin/python benchmarks/watch_fleet.py [--agents 1000] [--processes 4] [--runs 3] [--tls]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass

BIN = os.path.dirname(sys.executable)
PORT = 19698
NETWORKS = {"management": 0, "tenant": 1, "storage": 2}


def address(i: int) -> str:
    return f"127.1.{i // 250}.{i % 250 + 1}"


def record(token_file: str, token: str) -> tuple[dict, dict]:
    """/v1/health and /v1/info of a real steth-agent started for the purpose (then stopped by PID)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    state = tempfile.mkdtemp(prefix="steth-bench-fleet-")
    agent = subprocess.Popen(
        [os.path.join(BIN, "steth-agent"), "--bind", "127.0.0.1", "--port", str(port), "--token-file", token_file]
        + ["--state-dir", state, "--ovsdb-connection", f"unix:{state}/none.sock", "--insecure-http"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/info", headers={"X-Steth-Token": token})
                info = json.load(opener.open(req, timeout=5))
                health = json.load(opener.open(f"http://127.0.0.1:{port}/v1/health", timeout=5))
                return health, info
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
    finally:
        agent.terminate()
        agent.wait(10)
        shutil.rmtree(state, ignore_errors=True)


def info_for(template: dict, i: int) -> dict:
    info = json.loads(json.dumps(template))
    info["hostname"] = f"sim-{i}"
    base = next((x for x in template["interfaces"] if x["kind"] != "loopback"), template["interfaces"][0])
    interfaces = [x for x in info["interfaces"] if x["kind"] == "loopback"]
    for n in NETWORKS.values():
        iface = json.loads(json.dumps(base))
        iface.update(name=f"eth{n}", index=10 + n, kind="veth", state="up", mtu=1500)
        iface["addresses"] = [{"family": 4, "address": f"10.{n}.{i // 250}.{i % 250 + 1}", "prefixlen": 16}]
        interfaces.append(iface)
    info["interfaces"] = interfaces
    return info


def tls_files(work: str) -> dict[str, str]:
    """A CA and the controller's client certificate (EC P-256, as `steth pki` makes them)."""
    from steth.pki import certs

    ca_key, ca_cert = certs.make_ca()
    key, cert = certs.issue(ca_key, ca_cert, certs.Identity("controller"), server=False, client=True)
    files = {}
    for name, data in [
        ("ca_key", certs.key_pem(ca_key)),
        ("ca", certs.cert_pem(ca_cert)),
        ("key", certs.key_pem(key)),
        ("cert", certs.cert_pem(cert)),
    ]:
        files[name] = os.path.join(work, f"{name}.pem")
        with open(os.open(files[name], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as fh:
            fh.write(data)
    return files


def server_tls(i: int, files: dict[str, str], work: str):
    """sim-i's own certificate, signed by the CA; client certificates required (the agent's --tls-ca-file)."""
    import ssl

    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    from steth.pki import certs

    with open(files["ca_key"], "rb") as fh:
        ca_key = load_pem_private_key(fh.read(), None)
    with open(files["ca"], "rb") as fh:
        ca_cert = certs.load_cert(fh.read())
    key, cert = certs.issue(ca_key, ca_cert, certs.Identity(f"sim-{i}"), server=True, client=False)
    path = os.path.join(work, f"sim-{i}.pem")
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as fh:
        fh.write(certs.key_pem(key) + certs.cert_pem(cert))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=files["ca"])
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_cert_chain(path)
    return ctx


def serve(indexes: list[int], token: str, health: dict, template: dict, ready, tls: dict | None, work: str) -> None:
    from aiohttp import web

    from steth.wire.watch import PeerResult, WatchApplied, WatchPlan, WatchStatus

    async def main() -> None:
        runners = []
        for i in indexes:
            info = json.dumps(info_for(template, i)).encode()
            state: dict = {"status": WatchStatus(active=False).model_dump_json().encode()}

            def authorised(request) -> bool:
                return request.headers.get("X-Steth-Token") == token

            async def h_health(_request):
                return web.json_response(health)

            async def h_info(request, info=info):
                if not authorised(request):
                    return web.json_response({"detail": "wrong token"}, status=401)
                return web.Response(body=info, content_type="application/json")

            async def h_watch(request, state=state):
                if not authorised(request):
                    return web.json_response({"detail": "wrong token"}, status=401)
                if request.method == "PUT":
                    try:
                        plan = WatchPlan.model_validate_json(await request.read())
                    except ValueError as exc:
                        return web.json_response({"detail": str(exc)}, status=422)
                    results = [
                        PeerResult(network=n.name, peer=p.name, address=p.address)
                        for n in plan.networks
                        for p in n.peers
                    ]
                    status = WatchStatus(active=True, plan=plan, started_at=time.time(), results=results)
                    state["status"] = status.model_dump_json().encode()
                    state["model"] = status
                    applied = WatchApplied(
                        active=True,
                        source=plan.source,
                        peers=len(results),
                        packets_per_round=plan.packets_per_round(),
                        started_at=status.started_at or 0.0,
                    )
                    return web.Response(body=applied.model_dump_json().encode(), content_type="application/json")
                elif request.method == "DELETE":
                    state["status"] = WatchStatus(active=False).model_dump_json().encode()
                    state.pop("model", None)
                elif state.get("model") is not None:
                    # an agent that keeps watching finishes a round every interval: say so, as it would
                    model = state["model"]
                    rounds = int((time.time() - model.started_at) // model.plan.interval)
                    if rounds != model.rounds:
                        model.rounds, model.last_round_at = rounds, model.started_at + rounds * model.plan.interval
                        state["status"] = model.model_dump_json().encode()
                return web.Response(body=state["status"], content_type="application/json")

            app = web.Application()
            app.router.add_get("/v1/health", h_health)
            app.router.add_get("/v1/info", h_info)
            app.router.add_route("*", "/v1/watch", h_watch)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            ssl_context = server_tls(i, tls, work) if tls else None
            await web.TCPSite(runner, address(i), PORT, backlog=128, ssl_context=ssl_context).start()
            runners.append(runner)
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


# `steth` as its console script runs it, writing at exit the CPU time of its own process and of its
# worker processes (client_workers: reaped before exit, so they count as its children)
WRAP = """import os, resource, sys
from steth.controller.cli import main
try:
    rc = main(sys.argv[1:])
finally:
    me, workers = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    with open(os.environ["FLEET_CPU_FILE"], "w") as fh:
        fh.write(f"{me.ru_utime + me.ru_stime} {workers.ru_utime + workers.ru_stime}")
sys.exit(rc)
"""


@dataclass
class Run:
    wall: float
    cpu: float  # the steth process
    workers: float  # its worker processes
    stand_ins: float  # the simulated agents' processes, meanwhile
    done: subprocess.CompletedProcess


def proc_cpu(pids: list[int]) -> float:
    """User + system seconds of these processes so far (/proc/PID/stat)."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def timed(argv: list[str], env: dict, stand_ins: list[int], work: str) -> Run:
    """Wall time, the CPU time of the steth process and of its workers, and the stand-ins' CPU meanwhile."""
    cpu_file = os.path.join(work, "cpu")
    before = proc_cpu(stand_ins)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", WRAP, *argv],
        capture_output=True,
        text=True,
        env={**os.environ, **env, "FLEET_CPU_FILE": cpu_file},
        timeout=600,
    )
    wall = time.perf_counter() - start
    with open(cpu_file) as fh:
        cpu, workers = (float(x) for x in fh.read().split())
    return Run(wall, cpu, workers, proc_cpu(stand_ins) - before, done)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tls", action="store_true", help="agents serve HTTPS with their own certificates, mTLS")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="steth-bench-fleet-")
    procs: list = []
    try:  # the work directory (token, certificates, config) goes whatever happens
        token = secrets.token_hex(16)
        token_file = os.path.join(work, "token")
        with open(os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as fh:
            fh.write(token)  # the agent refuses a token file others may read
        health, template = record(token_file, token)
        conf = os.path.join(work, "steth.conf")
        with open(conf, "w") as fh:
            fh.write(f"[DEFAULT]\nagent_port = {PORT}\ntoken_file = {token_file}\nrequest_timeout = 30\n\n[networks]\n")
            fh.writelines(f"{net} = 10.{n}.0.0/16\n" for net, n in NETWORKS.items())
            fh.write("\n[nodes]\n")
            fh.writelines(f"sim-{i} = {address(i)}:{PORT}\n" for i in range(args.agents))
            tls = tls_files(work) if args.tls else None
            if tls:
                fh.write(
                    f"\n[tls]\nenabled = true\nca_file = {tls['ca']}\n"
                    f"cert_file = {tls['cert']}\nkey_file = {tls['key']}\n"
                )
        for p in range(args.processes):
            ready = multiprocessing.Event()
            part = list(range(p, args.agents, args.processes))
            proc = multiprocessing.Process(
                target=serve, args=(part, token, health, template, ready, tls, work), daemon=True
            )
            proc.start()
            procs.append((proc, ready))
        for _, ready in procs:
            if not ready.wait(120):
                sys.exit("simulated agents did not start")
        # the same config but for [DEFAULT] client_processes: 1 (one process, as before client_workers)
        # and 0 (auto: one process per CPU); run in turn, so that both see the same load
        variants = {}
        for label, count in (("1 process", 1), ("auto", 0)):
            path = os.path.join(work, f"steth-{count}.conf")
            with open(conf) as src, open(path, "w") as dst:
                dst.write(src.read().replace("[DEFAULT]\n", f"[DEFAULT]\nclient_processes = {count}\n", 1))
            variants[label] = {"STETH_CONFIG": path}
        stand_ins = [proc.pid for proc, _ in procs]
        commands = {
            "agent list": ["agent", "list", "-f", "value", "-c", "name"],
            "watch apply": ["watch", "apply", "-f", "value", "-c", "name", "-c", "verdict"],
            "watch status": ["watch", "status", "-f", "value", "-c", "source"],
            "watch stop": ["watch", "stop", "-f", "value", "-c", "name"],
        }
        transport = "HTTPS with a certificate per agent and a client certificate" if tls else "plain HTTP"
        print(
            f"{args.agents} simulated agents in {args.processes} processes on loopback ({transport}), 3 networks, "
            f"K=10; client_processes auto = {min(os.cpu_count() or 1, 8)} here; medians of {args.runs} runs"
        )
        for name, argv in commands.items():
            runs: dict[str, list[Run]] = {label: [] for label in variants}
            for _ in range(args.runs):
                for label, env in variants.items():
                    run = timed(argv, env, stand_ins, work)
                    if run.done.returncode not in (0, 1):  # 1: a check found a problem (never-probed peers)
                        sys.exit(f"steth {name} failed ({run.done.returncode}): {run.done.stderr[-2000:]}")
                    runs[label].append(run)
            for label, got in runs.items():
                med = {
                    k: statistics.median(getattr(r, k) for r in got) for k in ("wall", "cpu", "workers", "stand_ins")
                }
                lines = got[-1].done.stdout.count("\n")
                print(
                    f"steth {name:<13} {label:<9}: wall median {med['wall']:6.2f} s "
                    f"(min {min(r.wall for r in got):5.2f}); "
                    f"CPU: steth {med['cpu']:5.2f} s + workers {med['workers']:5.2f} s, "
                    f"stand-ins {med['stand_ins']:5.2f} s  ({lines} lines)"
                )
        print(
            f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs (the stand-ins "
            "share them); target < 5 s wall for agent list and watch apply"
        )
    finally:
        for proc, _ in procs:
            proc.terminate()
            proc.join(10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
