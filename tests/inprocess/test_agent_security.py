"""Found when the agent was fuzzed and attacked: the settings, files and validators it must refuse,
and the connection limits (in-process server, no root)."""

from __future__ import annotations

import asyncio
import json
import subprocess

import pytest

from steth.agent import config
from steth.agent.auth import Tokens
from steth.agent.leases import LeaseStore
from steth.errors import ConfigError
from steth.host import proc
from steth.wire import validators
from steth.wire.vlan import _check_run_id as check_run_id
from steth.wire.vlan import _check_sender as check_sender
from steth.wire.vlan import check_capture_id

from .harness import running_agent

TOKEN_A, TOKEN_B = "a" * 32, "b" * 32


def write(path, text: str, mode: int) -> str:
    path.write_text(text)
    path.chmod(mode)
    return str(path)


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o620, 0o602, 0o644, 0o666])
def test_token_file_others_may_read_or_write_is_refused_saying_how_to_fix(tmp_path, mode):
    path = write(tmp_path / "token", TOKEN_A, mode)
    with pytest.raises(ConfigError) as exc:
        config.read_tokens(path)
    assert f"{mode:04o}" in str(exc.value) and f"chmod 600 {path}" in str(exc.value)


def test_token_file_holds_a_set_of_tokens(tmp_path):
    path = write(tmp_path / "token", f"# rotation\n{TOKEN_A}\n\n{TOKEN_B}\n", 0o600)
    assert config.read_tokens(path) == {TOKEN_A, TOKEN_B}
    assert config.read_token(path) == TOKEN_A  # the controller sends the first
    tokens = Tokens(path)
    assert tokens.match(TOKEN_A) and tokens.match(TOKEN_B) and tokens.match("c" * 32) is None
    assert tokens.match(TOKEN_A) != tokens.match(TOKEN_B)  # the audit log tells them apart


def test_tokens_reload_rotates_and_keeps_the_old_set_when_the_file_turns_bad(tmp_path):
    path = tmp_path / "token"
    write(path, TOKEN_A, 0o600)
    tokens = Tokens(str(path))
    write(path, f"{TOKEN_A}\n{TOKEN_B}\n", 0o600)
    assert tokens.reload() and tokens.match(TOKEN_B)
    write(path, TOKEN_B, 0o600)
    assert tokens.reload() and tokens.match(TOKEN_A) is None and tokens.match(TOKEN_B)
    write(path, TOKEN_A, 0o644)  # unsafe: refused, the agent keeps answering with the tokens it had
    assert not tokens.reload() and tokens.match(TOKEN_B) and tokens.match(TOKEN_A) is None


@pytest.mark.parametrize("mode", [0o770, 0o730, 0o707, 0o777])
def test_state_dir_others_may_write_is_refused_saying_how_to_fix(tmp_path, mode):
    state = tmp_path / "state"
    state.mkdir()
    state.chmod(mode)
    with pytest.raises(ConfigError) as exc:
        config.check_state_dir(str(state))
    assert f"chmod 700 {state}" in str(exc.value)


def test_state_dir_is_created_private(tmp_path):
    state = tmp_path / "new" / "state"
    config.check_state_dir(str(state))
    assert (state.stat().st_mode & 0o777) == 0o700


def test_recovery_runs_only_what_the_agent_itself_records(tmp_path):
    """Found by attack: recovery ran any argv undo step and deleted any path leases.json listed."""
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    outside = tmp_path / "precious"
    outside.write_text("keep me")
    inside = state / "captures" / "x.pcap"
    inside.parent.mkdir()
    inside.write_text("pcap")
    pwned = tmp_path / "pwned"
    bystander = subprocess.Popen(["sleep", "60"])
    try:
        rec = proc.record_of(bystander.pid, ("sleep", "60"))
        assert rec is not None
        steps = [
            {"kind": "argv", "argv": ["touch", str(pwned)], "netns": None},
            {"kind": "path", "path": str(outside)},
            {"kind": "path", "path": str(state / ".." / "precious")},
            {"kind": "process", "proc": rec.to_json()},
            {"kind": "lab-neutron", "call": "delete"},
            {"kind": "path", "path": str(inside)},
        ]
        lease = {"id": "abc", "purpose": "forged", "expires_at": 0, "undo": steps, "subject": ""}
        (state / "leases.json").write_text(json.dumps([lease]))
        problems = LeaseStore(str(state)).recover()
        assert not pwned.exists() and outside.read_text() == "keep me" and bystander.poll() is None
        assert not inside.exists()  # the agent's own kind of step, under its state directory: undone
        assert len(problems) == 5 and all("step skipped" in p for p in problems), problems
        assert "'argv' is not one this agent records" in problems[0]
        assert json.loads((state / "leases.json").read_text()) == []
    finally:
        bystander.kill()
        bystander.wait()


@pytest.mark.parametrize(
    "check, value",
    [
        (validators.check_netns, "qdhcp-1\n"),
        (validators.check_bridge, "br-int\n"),
        (validators.check_bridge, "br-int\nx"),
        (check_run_id, "ab\n"),
        (check_sender, "node-1\n"),
        (check_capture_id, "0123456789abcdef\n"),
        (validators.check_ifname, "eth0\n"),
    ],
)
def test_validators_refuse_a_trailing_newline(check, value):
    with pytest.raises(ValueError):
        check(value)
    check(value.rstrip("\n").split("\n")[0])  # the same name without it is fine


@pytest.mark.parametrize(
    "cidr, kind",
    [
        ("224.0.0.1/4", "multicast"),
        ("ff02::1/64", "multicast"),
        ("255.255.255.255/32", "broadcast"),
        ("10.0.0.255/24", "broadcast"),
        ("127.0.0.2/8", "loopback"),
        ("::1/128", "loopback"),
        ("0.0.0.0/0", "unspecified"),
        ("240.0.0.1/4", "reserved"),
    ],
)
def test_setup_link_addresses_no_interface_should_get(cidr, kind):
    with pytest.raises(ValueError, match=kind):
        validators.check_host_cidr(cidr)


@pytest.mark.parametrize("cidr", ["10.0.0.5/24", "10.0.0.1/31", "192.0.2.1/32", "2001:db8::5/64"])
def test_setup_link_unicast_addresses_pass(cidr):
    assert validators.check_host_cidr(cidr) == cidr


def test_connections_are_capped_and_slow_headers_timed_out(tmp_path):
    """Found by attack: ~20 000 idle connections exhausted the agent's descriptors; a connection that
    never completed its headers was never closed. (tests/integration/test_agent_limits.py: 20 000.)"""

    async def go():
        async with running_agent(tmp_path, max_connections=8, header_timeout=0.5) as agent:
            conns = [await asyncio.open_unix_connection(agent.socket) for _ in range(40)]

            async def closed_now(reader, writer) -> bool:
                try:
                    writer.write(b"GET /v1/health HTTP/1.1\r\nHost: a\r\n")  # never finished
                    return await asyncio.wait_for(reader.read(1), 0.2) == b""
                except ConnectionError:
                    return True
                except TimeoutError:
                    return False

            closed = await asyncio.gather(*(closed_now(r, w) for r, w in conns))  # within 0.2 s < header_timeout
            assert 40 - 8 <= sum(closed) < 40  # beyond the cap: closed as soon as accepted; the rest wait
            # the slow ones within the cap are closed after header_timeout, by the agent
            open_left = [r for (r, _), gone in zip(conns, closed, strict=True) if not gone]
            for reader in open_left:
                assert await asyncio.wait_for(reader.read(1), 10) == b""
            for _, writer in conns:
                writer.close()
            async with agent.session() as s:  # and the agent answers everyone again
                async with s.get("/v1/health") as r:
                    assert r.status == 200

    asyncio.run(go())


def test_idle_keepalive_connections_are_closed(tmp_path):
    async def go():
        async with running_agent(tmp_path, keepalive_timeout=1.0, header_timeout=30.0) as agent:
            reader, writer = await asyncio.open_unix_connection(agent.socket)
            writer.write(b"GET /v1/health HTTP/1.1\r\nHost: a\r\n\r\n")
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            assert head.startswith(b"HTTP/1.1 200")
            length = int([h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")][0].split(b":")[1])
            await reader.readexactly(length)
            assert await asyncio.wait_for(reader.read(1), 10) == b""  # closed by the agent when idle
            writer.close()

    asyncio.run(go())
