"""The lab's agent processes: which steth-agent to start, waiting until they answer, still running?"""

from __future__ import annotations

import os
import shutil
import sys
import time

from ..host import proc
from . import tls as lab_tls
from .state import LabState
from .topology import AGENT_PORT, Node
from .topology import build as build_topology


def agent_argv() -> list[str]:
    """The steth-agent of this installation (same virtualenv as the running steth)."""
    exe = os.path.join(os.path.dirname(sys.executable), "steth-agent")
    if os.path.exists(exe):
        return [exe]
    found = shutil.which("steth-agent")
    if found:
        return [found]
    return [sys.executable, "-m", "steth.agent.main"]


def wait_for_agents(state: LabState, timeout: float) -> dict[str, str]:
    """Poll /v1/health of every agent until all answer or ``timeout``; returns node -> problem."""
    import asyncio

    import aiohttp

    topo = build_topology(state.lab, state.computes, state.cidrs)
    ctx = lab_tls.client_context(state)

    async def one(session: aiohttp.ClientSession, node: Node, deadline: float) -> tuple[str, str]:
        url = f"https://{topo.address(node, topo.management)}:{AGENT_PORT}/v1/health"
        last = "no answer"
        while time.monotonic() < deadline:
            rec = state.agent(node.name)
            if rec is None or not proc.is_running(rec):
                return node.name, "agent process exited (see its log in the lab directory)"
            try:
                async with session.get(
                    url, timeout=aiohttp.ClientTimeout(total=1), ssl=ctx, server_hostname=node.name
                ) as resp:
                    if resp.status == 200:
                        return node.name, ""
                    last = f"HTTP {resp.status}"
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                last = str(exc) or type(exc).__name__
            await asyncio.sleep(0.2)
        return node.name, f"not ready after {timeout:g} s: {last}"

    async def all_() -> dict[str, str]:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as session:
            results = await asyncio.gather(*(one(session, n, deadline) for n in topo.nodes if n.name in state.agents))
        return {name: problem for name, problem in results if problem}

    return asyncio.run(all_())


def agent_running(rec: proc.ProcRecord | None) -> bool:
    """Is the recorded agent process still the one that was started?"""
    return rec is not None and proc.is_running(rec)
