"""Agent requests spread over worker processes, for fan-outs to hundreds of agents.

A CLI run cannot reuse connections from an earlier run, so a fan-out to N agents over TLS costs N
handshakes, and each costs about 1.5 ms of the controller's CPU in OpenSSL 3.0 plus ~1.5 ms in
asyncio's and aiohttp's per-connection Python code: one process is bound to one core. Here the
nodes are split into shards by their position in [nodes], one per worker process forked when the
AgentClient opens; the controller's own process, which also imports, reads the config and prints,
only coordinates (a shard of its own made it the slowest process of the run). A worker
holds its agents' connections (so the TLS handshake of an agent is made once, in its worker, and
reused by the run's later requests to it) and runs only the HTTP exchange: the controller process
keeps the limits (max_connections, per agent and probe kind), retries, parsing and validation, so
what a command sees is the same whichever process spoke to the agent. The worker verifies each
agent's certificate and its name with the very SSLContext settings of the controller (it is the
same AgentClient code, forked).

Framing on the socketpair: a 4-byte length, then a pickle (both ends are this program, forked).
"""

from __future__ import annotations

import asyncio
import gc
import os
import pickle
import signal
import socket
import struct
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import AgentError, AgentUnreachableError
from .config_model import ControllerConfig, NodeConfig

if TYPE_CHECKING:
    from .client import AgentClient

# below this many agents, forking (~10-30 ms a worker) costs more than the spread saves
AUTO_FROM_NODES = 64
AUTO_MAX_PROCESSES = 8
_LEN = struct.Struct(">I")


def process_count(config: ControllerConfig, custom_transport: bool = False) -> int:
    """How many worker processes speak to the agents (1: none, the controller's process does):
    [DEFAULT] client_processes, or with 0 (auto) one per CPU (at most 8) when [nodes] holds
    AUTO_FROM_NODES agents or more."""
    wanted = config.client_processes
    if wanted == 0:
        if len(config.nodes) < AUTO_FROM_NODES or custom_transport:
            return 1
        wanted = min(os.cpu_count() or 1, AUTO_MAX_PROCESSES)
    if threading.active_count() > 1:  # forking with other threads alive can inherit a held lock
        return 1
    return max(1, min(wanted, len(config.nodes)))


def _frame(obj: Any) -> bytes:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return _LEN.pack(len(data)) + data


async def _read(reader: asyncio.StreamReader) -> Any:
    size = _LEN.unpack(await reader.readexactly(_LEN.size))[0]
    return pickle.loads(await reader.readexactly(size))


class Workers:
    """The worker processes of one AgentClient and the requests in flight to them."""

    def __init__(self, shards: dict[str, int]) -> None:
        self._shard = shards  # node name -> worker index (1..count)
        self._writers: dict[int, asyncio.StreamWriter] = {}
        self._readers: dict[int, asyncio.Task[None]] = {}
        self._pids: dict[int, int] = {}
        self._pending: dict[int, tuple[asyncio.Future[tuple[int, str, bytes]], NodeConfig]] = {}
        self._ended: dict[int, str] = {}  # index -> why that worker is gone
        self._next_id = 0

    @classmethod
    async def start(cls, client_factory: Callable[[], AgentClient], config: ControllerConfig, count: int) -> Workers:
        """Fork ``count`` workers, each serving the requests for its shard of [nodes] through its own
        ``client_factory()`` (an AgentClient with the same config, token, TLS context and transport)."""
        workers = cls({name: 1 + i % count for i, name in enumerate(config.nodes)})
        for index in range(1, count + 1):
            ours, theirs = socket.socketpair()
            gc.freeze()  # the child never collects (nor writes to the pages of) the parent's objects
            try:
                pid = os.fork()
            finally:
                gc.unfreeze()
            if pid == 0:  # the worker
                ours.close()
                _worker_main(theirs, client_factory)
            theirs.close()
            reader, writer = await asyncio.open_unix_connection(sock=ours)
            workers._pids[index] = pid
            workers._writers[index] = writer
            workers._readers[index] = asyncio.create_task(workers._replies(index, reader))
        return workers

    def owner(self, node: NodeConfig) -> int | None:
        """The worker that speaks to ``node``; None for this process (a node not in [nodes])."""
        index = self._shard.get(node.name)
        return index if index else None

    async def exchange(
        self, index: int, node: NodeConfig, method: str, path: str, data: bytes | None, extra_timeout: float
    ) -> tuple[int, str, bytes]:
        """AgentClient.exchange, run by worker ``index``: (status, Retry-After, body) or its AgentError."""
        if index in self._ended:
            raise self._gone(index, node)
        self._next_id += 1
        rid = self._next_id
        future: asyncio.Future[tuple[int, str, bytes]] = asyncio.get_running_loop().create_future()
        self._pending[rid] = (future, node)
        try:
            writer = self._writers[index]
            writer.write(_frame((rid, node, method, path, data, extra_timeout)))
            await writer.drain()
            return await future
        except (ConnectionError, RuntimeError) as exc:  # the socket to the worker broke while sending
            self._ended.setdefault(index, f"its socket broke ({exc})")
            raise self._gone(index, node) from None
        finally:
            self._pending.pop(rid, None)

    def _gone(self, index: int, node: NodeConfig) -> AgentUnreachableError:
        return AgentUnreachableError(
            f"agent {node.name} at {node.url}: the controller's worker process {self._pids.get(index)} that "
            f"speaks to it ended: {self._ended.get(index, 'unknown')}",
            "run again; set [DEFAULT] client_processes = 1 to keep every request in one process",
            agent=node.name,
            address=node.url,
        )

    async def _replies(self, index: int, reader: asyncio.StreamReader) -> None:
        """Hand each of worker ``index``'s replies to the request waiting for it; when the worker ends,
        fail the requests it still owed."""
        try:
            while True:
                rid, ok, value = await _read(reader)
                entry = self._pending.get(rid)
                if entry is None or entry[0].done():
                    continue  # its caller was cancelled meanwhile
                future, node = entry
                if ok:
                    future.set_result(value)
                else:
                    message, hint = value
                    future.set_exception(AgentUnreachableError(message, hint, agent=node.name, address=node.url))
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            self._ended.setdefault(
                index, "it closed its socket" if isinstance(exc, asyncio.IncompleteReadError) else str(exc)
            )
        for future, node in list(self._pending.values()):
            if not future.done() and self._shard.get(node.name) == index:
                future.set_exception(self._gone(index, node))

    async def close(self) -> None:
        """Close the sockets (a worker ends when it reads EOF), then reap every worker by its PID."""
        for index, writer in self._writers.items():
            self._ended.setdefault(index, "the client closed")
            writer.close()
        for task in self._readers.values():
            task.cancel()
        for pid in self._pids.values():
            for _ in range(500):  # up to 5 s: its requests in flight end at their own timeouts
                if os.waitpid(pid, os.WNOHANG)[0]:
                    break
                await asyncio.sleep(0.01)
            else:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
        self._pids.clear()


def _worker_main(sock: socket.socket, client_factory: Callable[[], AgentClient]) -> None:
    """The forked worker: serve requests from the socket until EOF, then leave without running the
    parent's exit handlers or finalisers (os._exit)."""
    code = 0
    try:
        signal.set_wakeup_fd(-1)  # the parent loop's self-pipe, inherited: not ours to write
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which closes our socket
        asyncio.run(_serve(sock, client_factory))
    except BaseException:  # noqa: BLE001 - whatever happens, the child must not return into the parent's code
        code = 1
    finally:
        os._exit(code)


async def _serve(sock: socket.socket, client_factory: Callable[[], AgentClient]) -> None:
    reader, writer = await asyncio.open_unix_connection(sock=sock)
    tasks: set[asyncio.Task[None]] = set()
    async with client_factory() as client:

        async def one(rid: int, node: NodeConfig, method: str, path: str, data: bytes | None, extra: float) -> None:
            reply: tuple[int, bool, Any]
            try:
                reply = (rid, True, await client.exchange(node, method, path, data, extra))
            except AgentError as exc:
                reply = (rid, False, (exc.message, exc.hint))
            except Exception as exc:  # noqa: BLE001 - reported to the caller as this agent's error, not lost
                reply = (rid, False, (f"agent {node.name}: the controller's worker process failed: {exc!r}", None))
            writer.write(_frame(reply))
            await writer.drain()

        while True:
            try:
                request = await _read(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                break
            task = asyncio.create_task(one(*request))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        for task in tasks:
            task.cancel()
