"""Run inside a namespace (`ip netns exec NS python vlan_helper.py ...`): the probe sender and listener
of steth.host.packets, driven by the VLAN integration tests. Prints one JSON line per result.

    listen IFACE RUN_ID SECONDS [EXPECT]  prints {"ready": true} once bound, then what was heard
    send IFACE RUN_ID SENDER VLANS  VLANS like "untagged,1-4094"
    noise IFACE                     sends unrelated frames: IPv4/ARP broadcasts, tagged IPv4, and
                                    probe-ethertype frames with a bad magic
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time

from steth.host import packets
from steth.wire.vlan import parse_vlans


def listen(ifname: str, run_id: str, seconds: str, expect: str = "0") -> None:
    """Capture until ``seconds`` pass or, with ``expect`` > 0, until that many probe frames of the run
    arrived (then a short while longer, so that extra frames would still be seen)."""
    lst = packets.Listener(ifname, run_id)
    print(json.dumps({"ready": True}), flush=True)
    deadline = time.monotonic() + float(seconds)
    t = threading.Thread(target=lst.capture, args=(deadline,))
    t.start()
    while t.is_alive() and not (int(expect) and lst.heard.frames >= int(expect)):
        time.sleep(0.02)
    time.sleep(0.2)
    lst.stop()
    t.join()
    h = lst.heard
    print(
        json.dumps(
            {
                "frames": h.frames,
                "ignored": h.ignored,
                "kernel_drops": h.kernel_drops,
                "heard": {f"{s}/{i}": sorted(v) for (s, i), v in h.by_sender.items()},
                "mismatched": {f"{s}/{i}": sorted(v) for (s, i), v in h.mismatched.items()},
            }
        ),
        flush=True,
    )


def send(ifname: str, run_id: str, sender: str, vlans: str) -> None:
    r = packets.send_probes(ifname, run_id, sender, parse_vlans(vlans, allow_untagged=True))
    print(json.dumps({"sent": r.sent, "errors": r.errors, "mac": r.mac}), flush=True)


def noise(ifname: str) -> None:
    mac = packets.interface_mac(ifname)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    s.bind((ifname, 0))
    bcast = b"\xff" * 6 + mac
    other_run = packets.FrameTemplate(mac, packets.run_id_bytes("0f0f"), "intruder", ifname)
    frames = [
        bcast + b"\x08\x00" + b"\x45" + b"\0" * 45,  # IPv4
        bcast + b"\x08\x06" + b"\0" * 46,  # ARP
        bcast + b"\x81\x00\x00\x64\x08\x00" + b"\0" * 46,  # IPv4 in VLAN 100
        bcast + b"\x88\xb5" + b"NOPE" + b"\0" * 42,  # our ethertype, not our magic
        other_run.frame(100),
        other_run.frame(0),  # a probe of another run
    ]
    n = 0
    for _ in range(200):
        for f in frames:
            s.send(f)
            n += 1
    print(json.dumps({"sent": n}), flush=True)


if __name__ == "__main__":
    {"listen": listen, "send": send, "noise": noise}[sys.argv[1]](*sys.argv[2:])
