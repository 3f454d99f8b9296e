"""Frame decoding cost per frame, on the paths that decode many frames:

- the VLAN listener (host/packets.decode): 4094 probe frames, tag stripped by the kernel and given
  from PACKET_AUXDATA, as every agent decodes them in a VLAN sweep;
- the DHCP capture (host/dhcp_frames.parse): a DHCP OFFER, a VXLAN-encapsulated DISCOVER and an
  unrelated TCP frame (what a busy interface mostly carries);
- the capture summaries (controller/decode.summarize): ICMP echo, tagged ICMP, TCP, UDP, ARP, ICMPv6
  behind an extension header;
- with dpkt installed (not a dependency of steth), the same frames parsed by dpkt.ethernet.Ethernet
  and dpkt's import time, for comparison.

No root needed. Prints microseconds per frame (best of --runs), never asserts.

Usage: .venv/bin/python benchmarks/frame_decode.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

from steth.controller.decode import summarize  # noqa: E402
from steth.host import dhcp_frames, packets  # noqa: E402

MAC = bytes.fromhex("020000000001")


def ipv4(src: str, dst: str, proto: int, payload: bytes) -> bytes:
    hdr = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0, 64, proto, 0, socket.inet_aton(src), socket.inet_aton(dst)
    )
    return hdr + payload


def ether(payload: bytes, ethertype: int, vlans: tuple[int, ...] = ()) -> bytes:
    tags = b"".join(struct.pack("!HH", 0x8100, v) for v in vlans)
    return b"\xff" * 6 + MAC + tags + struct.pack("!H", ethertype) + payload


def udp(sport: int, dport: int, payload: bytes) -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def dhcp_offer() -> bytes:
    bootp = bytearray(dhcp_frames.discover("fa:16:3e:00:00:01", 0x1234)[42:])
    bootp[0] = 2
    bootp[16:20] = socket.inet_aton("10.0.0.5")
    opts = b"\x63\x82\x53\x63" + bytes([53, 1, 2, 54, 4, 10, 0, 0, 2, 255])
    bootp[236:] = opts + b"\0" * (len(bootp) - 236 - len(opts))
    return ether(ipv4("10.0.0.2", "255.255.255.255", 17, udp(67, 68, bytes(bootp))), 0x0800)


def frames() -> dict[str, list[bytes]]:
    icmp = struct.pack("!BBHHH", 8, 0, 0, 77, 1) + b"x" * 56
    tcp = struct.pack("!HHIIHHHH", 43210, 22, 1000, 0, 0x5002, 64240, 0, 0)
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + MAC + socket.inet_aton("10.0.0.1") + b"\0" * 6
    arp += socket.inet_aton("10.0.0.2")
    ext = bytes([58, 0]) + b"\0" * 6
    icmp6 = struct.pack("!BBHHH", 128, 0, 0, 5, 9)
    ip6 = struct.pack("!IHBB", 6 << 28, len(ext) + len(icmp6), 0, 64) + socket.inet_pton(socket.AF_INET6, "fe80::1")
    ip6 += socket.inet_pton(socket.AF_INET6, "ff02::1") + ext + icmp6
    discover = dhcp_frames.discover("fa:16:3e:00:00:01", 0x1234)
    vxlan = ether(ipv4("192.0.2.1", "192.0.2.2", 17, udp(40000, 4789, b"\x08\0\0\0\0\0\x64\0" + discover)), 0x0800)
    mixed = [
        ether(ipv4("10.0.1.11", "10.0.1.12", 1, icmp), 0x0800),
        ether(ipv4("10.0.1.11", "10.0.1.12", 1, icmp), 0x0800, (100,)),
        ether(ipv4("10.0.0.1", "10.0.0.2", 6, tcp), 0x0800),
        ether(ipv4("0.0.0.0", "255.255.255.255", 17, udp(68, 67, b"\0" * 300)), 0x0800),
        ether(arp, 0x0806),
        ether(ip6, 0x86DD),
    ]
    template = packets.FrameTemplate(MAC, packets.run_id_bytes("abcdef0123456789"), "compute-1", "eth1")
    vlan = [template.frame(v) for v in range(1, 4095)]
    return {
        "vlan": [f[:12] + f[16:] for f in vlan],
        "dhcp": [dhcp_offer(), vxlan, mixed[2]],
        "summary": mixed,
    }


def per_frame(fn: Callable[[bytes], object], data: list[bytes], runs: int) -> float:
    rounds = max(1, 20000 // len(data))
    best = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        for _ in range(rounds):
            for f in data:
                fn(f)
        best = min(best, (time.perf_counter() - t) / (rounds * len(data)))
    return best * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    data = frames()
    assert all(packets.decode(f, 100) is not None for f in data["vlan"])
    assert dhcp_frames.parse(data["dhcp"][0]) is not None and dhcp_frames.parse(data["dhcp"][1]) is not None
    vlan = per_frame(lambda f: packets.decode(f, 100), data["vlan"], args.runs)
    dhcp = per_frame(dhcp_frames.parse, data["dhcp"], args.runs)
    summary = per_frame(lambda f: summarize(1, f), data["summary"], args.runs)
    print(f"VLAN listener, probe frame (tag from auxdata): {vlan:.2f} us/frame")
    print(f"DHCP capture (OFFER, VXLAN DISCOVER, TCP): {dhcp:.2f} us/frame")
    print(f"capture summaries (6 kinds): {summary:.2f} us/frame")
    probe = [sys.executable, "-c", "import time; t = time.perf_counter(); import dpkt; print(time.perf_counter() - t)"]
    done = subprocess.run(probe, capture_output=True, text=True)
    if done.returncode != 0:
        print("dpkt: not installed (pip install dpkt to compare)")
        return 0
    import dpkt  # noqa: PLC0415

    eth = dpkt.ethernet.Ethernet
    print(f"dpkt {dpkt.__version__}: import {float(done.stdout) * 1000:.0f} ms (every protocol module at once)")
    print(f"dpkt Ethernet(), VLAN probe frame: {per_frame(eth, data['vlan'], args.runs):.2f} us/frame")
    print(f"dpkt Ethernet(), DHCP capture frames: {per_frame(eth, data['dhcp'], args.runs):.2f} us/frame")
    print(f"dpkt Ethernet(), summary frames: {per_frame(eth, data['summary'], args.runs):.2f} us/frame")
    return 0


if __name__ == "__main__":
    sys.exit(main())
