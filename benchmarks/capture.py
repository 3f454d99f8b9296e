"""Capture of 100k packets on a veth: packets lost by the capture, CPU of the agent and of tcpdump.

Builds two namespaces of its own (steth-cb<hex>-a/-b, a veth between them),
starts a steth-agent on 127.0.0.1 (a free port, a temporary state directory),
asks it to capture UDP on the veth inside the first namespace, streams the
pcap over HTTP while a raw-socket sender in that namespace sends N frames as
fast as it can, and prints:

- frames sent, packets the client received, tcpdump's own counters
  (captured / received by filter / dropped by kernel = lost by the capture);
- CPU seconds (user+system, from /proc/<pid>/stat) of the agent and of tcpdump
  over the capture, and as a share of the capture's wall time.

Everything it made is removed at the end (agent and sender stopped by PID).
Figures are printed, never asserted. Needs root and tcpdump.

Both modes of the agent are measured: buffered (the default: the kernel ring
hands packets to tcpdump in blocks) and immediate (every packet at once, what
the live view of `steth capture` without -w asks for).

Usage: .venv/bin/python benchmarks/capture.py [--packets 100000] [--size 100] [--runs 2]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

BIN = os.path.dirname(sys.executable)
TICK = os.sysconf("SC_CLK_TCK")

SENDER = r"""
import socket, struct, sys
n, size, dst = int(sys.argv[1]), int(sys.argv[2]), bytes.fromhex(sys.argv[3])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
src = s.getsockname()[4]
payload = b"x" * size
udp = struct.pack("!HHHH", 40000, 9999, 8 + size, 0) + payload
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                 bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2]))
frame = dst + src + b"\x08\x00" + ip + udp
sent = 0
for _ in range(n):
    while True:
        try:
            s.send(frame)
            break
        except BlockingIOError:  # tx queue full: retry (never drop a frame on the sending side)
            pass
        except OSError as e:
            if e.errno != 105:  # ENOBUFS
                raise
    sent += 1
print(sent)
"""


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(list(argv), capture_output=True, text=True, check=check, timeout=120)


def cpu_seconds(pid: int) -> float:
    try:
        data = open(f"/proc/{pid}/stat").read()
    except OSError:
        return float("nan")
    fields = data[data.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base: str, token: str, method: str, path: str, body: dict | None = None) -> dict:
    req = urllib.request.Request(
        base + path,
        method=method,
        headers={"X-Steth-Token": token, "Content-Type": "application/json"},
        data=json.dumps(body).encode() if body is not None else None,
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(req, timeout=60) as resp:
        return json.loads(resp.read())


def one_run(
    base: str, token: str, agent_pid: int, ns_a: str, peer_mac: str, packets: int, size: int, immediate: bool
) -> dict:
    info = call(
        base,
        token,
        "POST",
        "/v1/captures",
        {"interface": "eth0", "netns": ns_a, "immediate": immediate, "filter": "udp port 9999", "duration": 120},
    )
    received = {"bytes": 0}

    def stream() -> None:
        req = urllib.request.Request(f"{base}/v1/captures/{info['id']}/pcap", headers={"X-Steth-Token": token})
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(req, timeout=180) as resp:
            while chunk := resp.read1(1 << 16):
                received["bytes"] += len(chunk)

    reader = threading.Thread(target=stream)
    reader.start()
    tcpdump_pid = info["pid"]
    a0, t0, w0 = cpu_seconds(agent_pid), cpu_seconds(tcpdump_pid), time.monotonic()
    sent = int(
        sh(
            "ip",
            "netns",
            "exec",
            ns_a,
            sys.executable,
            "-c",
            SENDER,
            str(packets),
            str(size),
            peer_mac.replace(":", ""),
        ).stdout.strip()
    )
    send_wall = time.monotonic() - w0
    # let tcpdump and the stream catch up: until the file stops growing (bounded)
    last, deadline = -1, time.monotonic() + 30
    while time.monotonic() < deadline:
        now = call(base, token, "GET", f"/v1/captures/{info['id']}")
        if now["bytes"] == last and received["bytes"] >= now["bytes"]:
            break
        last = now["bytes"]
        time.sleep(0.3)
    t1, a_mid = cpu_seconds(tcpdump_pid), cpu_seconds(agent_pid)
    wall = time.monotonic() - w0
    final = call(base, token, "POST", f"/v1/captures/{info['id']}/stop", {})
    reader.join(timeout=60)
    for _ in range(100):  # the agent removes it right after the stream ended
        done = call(base, token, "GET", f"/v1/captures/{info['id']}")
        if done["state"] == "removed":
            break
        time.sleep(0.05)
    return {
        "sent": sent,
        "send_s": send_wall,
        "wall_s": wall,
        "streamed": done["packets_streamed"],
        "pcap_bytes": received["bytes"],
        "captured": final.get("packets_captured"),
        "received_by_filter": final.get("packets_received"),
        "dropped_by_kernel": final.get("packets_dropped"),
        "agent_cpu_s": a_mid - a0,
        "tcpdump_cpu_s": t1 - t0,
        "state": done["state"],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--packets", type=int, default=100_000)
    ap.add_argument("--size", type=int, default=100, help="UDP payload bytes")
    ap.add_argument("--runs", type=int, default=2)
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("needs root", file=sys.stderr)
        return 2
    tag = secrets.token_hex(2)
    ns_a, ns_b = f"steth-cb{tag}-a", f"steth-cb{tag}-b"
    made: list[str] = []
    agent = None
    tmp = tempfile.TemporaryDirectory(prefix="steth-capbench-")
    try:
        for ns in (ns_a, ns_b):
            sh("ip", "netns", "add", ns)
            made.append(ns)
        sh("ip", "-n", ns_a, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", ns_b)
        for ns, addr in ((ns_a, "192.0.2.1/30"), (ns_b, "192.0.2.2/30")):
            sh("ip", "-n", ns, "addr", "add", addr, "dev", "eth0")
            sh("ip", "-n", ns, "link", "set", "eth0", "up")
        peer_mac = json.loads(sh("ip", "-n", ns_b, "-j", "link", "show", "eth0").stdout)[0]["address"]
        token = secrets.token_hex(16)
        token_file = os.path.join(tmp.name, "token")
        with open(token_file, "w") as fh:
            fh.write(token)
        port = free_port()
        agent = subprocess.Popen(
            [
                os.path.join(BIN, "steth-agent"),
                "--bind",
                "127.0.0.1",
                "--port",
                str(port),
                "--token-file",
                token_file,
                "--insecure-http",
                "--state-dir",
                os.path.join(tmp.name, "state"),
                "--ovsdb-connection",
                f"unix:{tmp.name}/absent.sock",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                urllib.request.build_opener(urllib.request.ProxyHandler({})).open(base + "/v1/health", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        print(
            f"capture of {args.packets} UDP frames ({args.size} B payload) on a veth, streamed over HTTP "
            f"({os.cpu_count()} CPUs)"
        )
        for i, immediate in [(i, m) for m in (False, True) for i in range(args.runs)]:
            r = one_run(base, token, agent.pid, ns_a, peer_mac, args.packets, args.size, immediate)
            lost = r["sent"] - (r["streamed"] or 0)
            mode = "immediate" if immediate else "buffered"
            print(
                f"{mode} run {i + 1}: sent {r['sent']} in {r['send_s']:.2f} s ({r['sent'] / r['send_s']:,.0f} pps); "
                f"client got {r['streamed']} packets ({r['pcap_bytes'] / 1e6:.1f} MB pcap), lost {lost}; "
                f"tcpdump: captured {r['captured']}, received by filter {r['received_by_filter']}, "
                f"dropped by kernel {r['dropped_by_kernel']}"
            )
            print(
                f"        CPU over {r['wall_s']:.2f} s: agent {r['agent_cpu_s']:.2f} s "
                f"({100 * r['agent_cpu_s'] / r['wall_s']:.0f}%), tcpdump {r['tcpdump_cpu_s']:.2f} s "
                f"({100 * r['tcpdump_cpu_s'] / r['wall_s']:.0f}%); capture {r['state']} afterwards"
            )
        left = os.listdir(os.path.join(tmp.name, "state", "captures"))
        print(f"left in the agent's capture directory: {left or 'nothing'}")
    finally:
        if agent is not None:
            agent.terminate()
            agent.wait(timeout=10)
        for ns in reversed(made):
            sh("ip", "netns", "del", ns, check=False)
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
