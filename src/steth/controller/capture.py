"""Captures on one or many hops at once: start on every agent, stream every pcap, stop, merge.

A hop is one interface of one node, optionally inside a namespace of that
node. All hops are started first (each answer means tcpdump listens there),
then streamed concurrently; each stream ends when its capture hits a limit or
is stopped. ``interrupt()`` (Ctrl-C) stops every capture on its agent, so the
streams drain what was captured and end normally; a second interrupt hangs up
at once (the agents then stop and remove their captures by themselves).

Where hops come from is separate from how they are captured (``plan_hops``):
``--hop`` lists them literally, and a Neutron source (``--port PORT_OR_SERVER``,
resolving a port to its tap, qbr/qvb/qvo, provider bridge and the network
node's qdhcp/qrouter namespaces through the OpenStack adapter) only has to
return the same list of ``Hop``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from ..errors import AgentError, AgentUnreachableError, StethError, UsageError
from ..wire.capture import CaptureInfo, CaptureRequest
from ..wire.pcap import LINKTYPE_ETHERNET, Packet, PcapHeader, PcapngInterface, PcapngWriter, PcapReader, merge
from ..wire.validators import check_ifname, check_netns
from . import api
from .client import AgentClient
from .config import ControllerConfig, NodeConfig
from .inventory import resolve_node

_HOP_RE = re.compile(r"^(?P<agent>[^:@\s]+):(?P<iface>[^:@\s]+)(?:@(?P<netns>[^:@\s]+))?$")


@dataclass(frozen=True)
class Hop:
    agent: str  # node name in the controller config
    interface: str
    netns: str | None = None

    @property
    def label(self) -> str:
        """The pcapng interface name: node/interface."""
        return f"{self.agent}/{self.interface}"

    def __str__(self) -> str:
        return self.label + (f"@{self.netns}" if self.netns else "")


def parse_hop(text: str) -> Hop:
    """AGENT:IFACE[@NETNS] -> Hop; UsageError naming the expected form otherwise."""
    m = _HOP_RE.match(text.strip())
    if not m:
        raise UsageError(
            f"hop {text!r} is not AGENT:IFACE[@NETNS]",
            "e.g. --hop compute-1:eth1 --hop network:qr-1234abcd@qrouter-5678",
        )
    try:
        check_ifname(m["iface"])
        if m["netns"]:
            check_netns(m["netns"])
    except ValueError as exc:
        raise UsageError(f"hop {text!r}: {exc}") from None
    return Hop(m["agent"], m["iface"], m["netns"])


def plan_hops(
    *,
    hops: list[str] | None = None,
    agent: str | None = None,
    interface: str | None = None,
    netns: str | None = None,
    port_hops: list[Hop] | None = None,
) -> list[Hop]:
    """The hops to capture on: from the command line, or a Neutron port's path (``port_hops``,
    planned by the caller from the OpenStack API); everything after planning is the same."""
    if port_hops is not None:
        if hops or agent or interface or netns:
            raise UsageError("give --port alone, without AGENT IFACE or --hop")
        planned = list(port_hops)
    elif hops:
        if agent or interface or netns:
            raise UsageError("give either AGENT IFACE [--netns NS] or --hop AGENT:IFACE[@NETNS]..., not both")
        planned = [parse_hop(h) for h in hops]
    elif agent and interface:
        planned = [Hop(agent, interface, netns)]
    else:
        raise UsageError("nothing to capture on", "give AGENT IFACE, or one --hop AGENT:IFACE[@NETNS] per hop")
    seen: set[tuple[str, str, str | None]] = set()
    unique = []
    for h in planned:
        key = (h.agent, h.interface, h.netns)
        if key in seen:
            if port_hops is None:
                raise UsageError(f"hop {h} is given twice")
            continue  # a port's path may pass one interface in both directions
        seen.add(key)
        unique.append(h)
    return unique


@dataclass
class HopCapture:
    hop: Hop
    node: NodeConfig
    index: int
    started: CaptureInfo | None = None  # as the agent answered the start
    final: CaptureInfo | None = None  # the agent's summary after the stream ended
    header: PcapHeader | None = None
    packets: list[Packet] = field(default_factory=list)  # kept when the run keeps packets
    count: int = 0  # packets received
    bytes: int = 0  # pcap bytes received
    leftover: int = 0  # bytes of a record cut short (a broken stream)
    error: StethError | None = None

    @property
    def verdict(self) -> str:
        return "error" if self.error else "ok"


PacketsCallback = Callable[[HopCapture, list[Packet]], None]
BytesCallback = Callable[[HopCapture, bytes], None]  # the pcap stream, cut at record boundaries


class CaptureRun:
    """One capture on every hop at once. ``await start()``, then ``await stream()``; ``interrupt()`` any time."""

    def __init__(
        self,
        client: AgentClient,
        config: ControllerConfig,
        hops: list[Hop],
        *,
        filter: str = "",
        duration: float = 60.0,
        count: int | None = None,
        snaplen: int = 262144,
        max_bytes: int | None = None,
        immediate: bool = False,
        keep_packets: bool = True,
        on_packets: PacketsCallback | None = None,
        on_bytes: BytesCallback | None = None,
    ) -> None:
        self.client = client
        self.request = dict(
            filter=filter, duration=duration, count=count, snaplen=snaplen, max_bytes=max_bytes, immediate=immediate
        )
        self.hops = [HopCapture(h, resolve_node(config, h.agent), i) for i, h in enumerate(hops)]
        self.keep_packets = keep_packets
        self.on_packets = on_packets
        self.on_bytes = on_bytes
        self.interrupts = 0
        self._tasks: list[asyncio.Task] = []
        self._stopper: asyncio.Task | None = None

    def requests(self) -> list[CaptureRequest]:
        """The request of every hop (pydantic ValidationError when a value is out of range)."""
        return [CaptureRequest(interface=h.hop.interface, netns=h.hop.netns, **self.request) for h in self.hops]

    @property
    def running(self) -> list[HopCapture]:
        return [h for h in self.hops if h.started is not None]

    # ---- start ----
    async def start(self) -> None:
        """Start every hop at once. A request an agent refuses (bad filter, no such interface, limits)
        stops the hops already started and raises; an unreachable agent only fails its own hop."""
        reqs = self.requests()

        async def one(h: HopCapture, req: CaptureRequest) -> None:
            h.started = await api.capture_start(self.client, h.node, req)

        results = await asyncio.gather(*(one(h, r) for h, r in zip(self.hops, reqs)), return_exceptions=True)
        refused: StethError | None = None
        for h, res in zip(self.hops, results):
            if isinstance(res, AgentUnreachableError):
                h.error = res
            elif isinstance(res, BaseException):
                h.error = res if isinstance(res, StethError) else StethError(f"{h.hop}: {res}")
                refused = refused or h.error
        if refused is not None or not self.running:
            await self.abort()
            raise refused or self.hops[0].error or StethError("no capture started")

    async def abort(self) -> None:
        """Stop and remove every started capture now (nothing is fetched)."""
        await asyncio.gather(
            *(self._quiet(api.capture_delete(self.client, h.node, h.started.id)) for h in self.running),
            return_exceptions=True,
        )

    @staticmethod
    async def _quiet(coro) -> None:
        try:
            await coro
        except AgentError:
            pass  # gone already (410/404) or unreachable: its lease ends it on the node

    # ---- stream ----
    async def stream(self) -> None:
        """Stream every started hop until all ended (limits, stop, interrupt)."""
        self._tasks = [asyncio.create_task(self._stream_one(h)) for h in self.running]
        if self.interrupts:  # interrupted while starting: stop what has started since
            self._stopper = asyncio.get_running_loop().create_task(self.stop_all())
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._stopper is not None:
            await asyncio.gather(self._stopper, return_exceptions=True)

    async def _stream_one(self, h: HopCapture) -> None:
        assert h.started is not None
        reader = PcapReader(hop=h.index)
        try:
            async with api.capture_pcap(self.client, h.node, h.started) as body:
                async for chunk in body:
                    h.bytes += len(chunk)
                    packets = reader.feed(chunk)
                    h.header = h.header or reader.header
                    if self.on_bytes and reader.last_bytes:
                        self.on_bytes(h, reader.last_bytes)  # whole records only: a file cut short stays valid
                    if packets:
                        h.count += len(packets)
                        if self.keep_packets:
                            h.packets.extend(packets)
                        if self.on_packets:
                            self.on_packets(h, packets)
        except AgentError as exc:
            h.error = exc
        except ValueError as exc:  # PcapFormatError: not a pcap stream
            h.error = StethError(f"{h.hop}: the agent's stream is not a pcap: {exc}")
        except asyncio.CancelledError:
            h.error = StethError(f"{h.hop}: interrupted before the stream ended")
        finally:
            h.leftover = reader.leftover
        try:
            h.final = await api.capture_info(self.client, h.node, h.started.id)
        except (AgentError, asyncio.CancelledError):
            pass  # the table then lacks the agent's statistics, nothing else

    def interrupt(self) -> None:
        """First call: stop every capture (what was captured still arrives). Second: hang up now."""
        self.interrupts += 1
        if self.interrupts == 1:
            self._stopper = asyncio.get_running_loop().create_task(self.stop_all())
        else:
            for t in self._tasks:
                t.cancel()

    async def stop_all(self) -> None:
        await asyncio.gather(
            *(self._quiet(api.capture_stop(self.client, h.node, h.started.id)) for h in self.running),
            return_exceptions=True,
        )

    # ---- results ----
    def merged(self) -> Iterator[Packet]:
        return merge(h.packets for h in self.hops)

    def write_pcapng(self, fh: BinaryIO) -> int:
        """One interface block per hop (if_name node/interface), packets of all hops in time order."""
        w = PcapngWriter(fh)
        for h in self.hops:
            w.add_interface(
                PcapngInterface(
                    h.hop.label,
                    h.header.linktype if h.header else LINKTYPE_ETHERNET,
                    h.header.snaplen if h.header else 262144,
                    description=f"{h.hop}" + (f" filter {self.request['filter']}" if self.request["filter"] else ""),
                )
            )
        for p in self.merged():
            w.write(p)
        return w.packets

    def table(self) -> tuple[list[str], list[list]]:
        columns = ["hop", "netns", "packets", "bytes", "dropped", "stopped_by", "verdict", "error"]
        rows = []
        for h in self.hops:
            f = h.final
            error = str(h.error) if h.error else (f.error if f and f.error else "")
            rows.append(
                [
                    h.hop.label,
                    h.hop.netns or "",
                    h.count,
                    h.bytes,
                    "" if f is None or f.packets_dropped is None else f.packets_dropped,
                    (f.stop_reason if f else "") or "",
                    "error" if error else "ok",
                    error,
                ]
            )
        return columns, rows

    def exit_reasons(self) -> tuple[bool, bool]:
        """(an agent was unreachable, a hop failed otherwise)."""
        unreachable = any(isinstance(h.error, AgentUnreachableError) for h in self.hops)
        failed = any(
            (h.error and not isinstance(h.error, AgentUnreachableError)) or (h.final and h.final.error)
            for h in self.hops
        )
        return unreachable, failed
