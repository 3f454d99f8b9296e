"""CaptureRun against fake agents: start everywhere, stream, interrupt, merge, refusals."""

from __future__ import annotations

import asyncio
import contextlib
import io
import time

import pytest

from steth.controller import capture as capture_mod
from steth.controller.capture import CaptureRun, Hop
from steth.controller.config import ControllerConfig, NodeConfig
from steth.errors import AgentRequestError, AgentUnreachableError
from steth.wire.capture import CaptureInfo, CaptureState
from steth.wire.pcap import Packet, read_pcapng, write_pcap

CONFIG = ControllerConfig(
    nodes={n: NodeConfig(n, "192.0.2.1", 9698) for n in ("a", "b", "c")}, networks={}, token_file="/nonexistent"
)


def info(capture_id: str, hop: Hop, state=CaptureState.RUNNING, **kw) -> CaptureInfo:
    return CaptureInfo(
        id=capture_id,
        interface=hop.interface,
        netns=hop.netns,
        state=state,
        started_at=time.time(),
        ends_by=time.time() + 60,
        duration=60,
        max_bytes=10**6,
        snaplen=262144,
        **kw,
    )


class FakeAgents:
    """Every agent streams its packets in small chunks, then waits for a stop (or ends by itself)."""

    def __init__(
        self, packets: dict[str, list[Packet]], refuse: dict[str, Exception] | None = None, wait_for_stop: bool = True
    ) -> None:
        self.packets = packets
        self.refuse = refuse or {}
        self.wait_for_stop = wait_for_stop
        self.stopped: list[str] = []
        self.deleted: list[str] = []
        self.stop_events: dict[str, asyncio.Event] = {}
        self.hops: dict[str, Hop] = {}

    async def capture_start(self, client, node, req):
        if node.name in self.refuse:
            raise self.refuse[node.name]
        hop = Hop(node.name, req.interface, req.netns)
        self.hops[node.name] = hop
        self.stop_events[node.name] = asyncio.Event()
        return info(node.name, hop)

    def capture_pcap(self, client, node, started):
        agents = self

        @contextlib.asynccontextmanager
        async def stream():
            async def body():
                buf = io.BytesIO()
                write_pcap(buf, agents.packets[node.name])
                raw = buf.getvalue()
                for i in range(0, len(raw), 37):
                    yield raw[i : i + 37]
                    await asyncio.sleep(0)
                if agents.wait_for_stop:
                    await agents.stop_events[node.name].wait()

            yield body()

        return stream()

    async def capture_stop(self, client, node, capture_id):
        self.stopped.append(capture_id)
        self.stop_events[node.name].set()
        return info(capture_id, self.hops[node.name], CaptureState.FINISHED, stop_reason="stopped")

    async def capture_delete(self, client, node, capture_id):
        self.deleted.append(capture_id)
        return info(capture_id, self.hops[node.name], CaptureState.REMOVED)

    async def capture_info(self, client, node, capture_id):
        return info(capture_id, self.hops[node.name], CaptureState.REMOVED, stop_reason="stopped", packets_dropped=0)


@pytest.fixture
def fake(monkeypatch):
    def install(agents: FakeAgents) -> FakeAgents:
        for name in ("capture_start", "capture_pcap", "capture_stop", "capture_delete", "capture_info"):
            monkeypatch.setattr(capture_mod.api, name, getattr(agents, name))
        return agents

    return install


def pkts(t0: int, n: int, step: int = 1000) -> list[Packet]:
    return [Packet(t0 + i * step, bytes([i]) * 60, 60) for i in range(n)]


def test_interrupt_stops_every_hop_and_keeps_what_arrived(fake):
    agents = fake(FakeAgents({"a": pkts(1000, 3), "b": pkts(1500, 3)}))

    async def go():
        run = CaptureRun(None, CONFIG, [Hop("a", "eth1"), Hop("b", "eth1", "qrouter-x")], filter="icmp")
        await run.start()
        asyncio.get_running_loop().call_later(0.05, run.interrupt)
        await run.stream()
        return run

    run = asyncio.run(go())
    assert sorted(agents.stopped) == ["a", "b"] and agents.deleted == []
    assert [h.count for h in run.hops] == [3, 3] and all(h.error is None for h in run.hops)
    buf = io.BytesIO()
    assert run.write_pcapng(buf) == 6
    buf.seek(0)
    ifaces, got = read_pcapng(buf)
    assert [i.name for i in ifaces] == ["a/eth1", "b/eth1"]
    assert "qrouter-x" in ifaces[1].description and "icmp" in ifaces[1].description
    assert [p.ts_ns for p in got] == [1000, 1500, 2000, 2500, 3000, 3500]
    assert [p.hop for p in got] == [0, 1, 0, 1, 0, 1]
    columns, rows = run.table()
    assert [r[:3] for r in rows] == [["a/eth1", "", 3], ["b/eth1", "qrouter-x", 3]]
    assert all(r[columns.index("verdict")] == "ok" for r in rows)
    assert run.exit_reasons() == (False, False)


def test_a_refused_hop_stops_the_others_and_raises(fake):
    agents = fake(FakeAgents({"a": [], "b": []}, refuse={"b": AgentRequestError("bad filter", status=422)}))

    async def go():
        run = CaptureRun(None, CONFIG, [Hop("a", "eth1"), Hop("b", "eth1")], filter="(((")
        await run.start()

    with pytest.raises(AgentRequestError, match="bad filter"):
        asyncio.run(go())
    assert agents.deleted == ["a"]


def test_an_unreachable_hop_is_reported_and_the_rest_captured(fake):
    fake(FakeAgents({"a": pkts(0, 2)}, refuse={"c": AgentUnreachableError("no answer")}, wait_for_stop=False))

    async def go():
        run = CaptureRun(None, CONFIG, [Hop("a", "eth1"), Hop("c", "eth1")])
        await run.start()
        await run.stream()
        return run

    run = asyncio.run(go())
    assert [h.count for h in run.hops] == [2, 0]
    assert run.exit_reasons() == (True, False)
    _, rows = run.table()
    assert rows[1][-2:] == ["error", "no answer"]


def test_live_callback_sees_packets_as_they_arrive(fake):
    fake(FakeAgents({"a": pkts(0, 4)}, wait_for_stop=False))
    seen: list[tuple[str, int]] = []
    chunks: list[bytes] = []

    async def go():
        run = CaptureRun(
            None,
            CONFIG,
            [Hop("a", "eth1")],
            keep_packets=False,
            on_packets=lambda h, ps: seen.extend((h.hop.label, p.ts_ns) for p in ps),
            on_bytes=lambda h, b: chunks.append(b),
        )
        await run.start()
        await run.stream()
        return run

    run = asyncio.run(go())
    assert seen == [("a/eth1", 0), ("a/eth1", 1000), ("a/eth1", 2000), ("a/eth1", 3000)]
    assert run.hops[0].packets == []  # not kept
    assert len(b"".join(chunks)) == 24 + 4 * (16 + 60)  # the pcap, whole records only
