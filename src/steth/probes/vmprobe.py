"""The VM's own packet: a couple of ICMP echo requests (or TCP SYNs) injected as the VM (probes/inject.py,
the DHCP trace's injection). The controller captures them on every hop at once (/v1/captures)."""

from __future__ import annotations

import time

from ..host import probe_frames
from ..wire.verdict import Verdict
from ..wire.vmprobe import MARKER, VmProbeRequest, VmProbeResponse
from .inject import inject


def frames_of(req: VmProbeRequest) -> list[bytes]:
    mac, gw = req.mac.lower(), req.gateway_mac.lower()
    if req.protocol == "tcp":
        assert req.port is not None
        syn = probe_frames.tcp_syn(mac, gw, req.src_ip, req.dst_ip, req.ident, req.port, req.tcp_seq())
        return [syn] * req.count  # retransmissions of one SYN: one connection attempt
    payload = MARKER + req.token.encode()
    return [
        probe_frames.icmp_echo(mac, gw, req.src_ip, req.dst_ip, req.ident, seq, payload)
        for seq in range(1, req.count + 1)
    ]


def run(req: VmProbeRequest, connection: str) -> VmProbeResponse:
    sent, detail = 0, ""
    for i, frame in enumerate(frames_of(req)):
        if i:
            time.sleep(req.interval)
        ok, where = inject(frame, connection, interface=req.interface, bridge=req.bridge, ovs_port=req.ovs_port)
        if not ok:
            return VmProbeResponse(injected=sent, detail=where, verdict=Verdict.ERROR)
        sent += 1
        detail = where
    what = f"TCP SYN to {req.dst_ip}:{req.port}" if req.protocol == "tcp" else f"ICMP echo to {req.dst_ip}"
    return VmProbeResponse(
        injected=sent, detail=f"{sent} x {what} from {req.mac} {req.src_ip} {detail}", verdict=Verdict.OK
    )
