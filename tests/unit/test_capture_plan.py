"""Hop planning of `steth capture` and the agent's capture settings."""

from __future__ import annotations

import pytest

from steth.agent import config as agent_config
from steth.controller.capture import Hop, parse_hop, plan_hops
from steth.errors import ConfigError, UsageError
from steth.wire.validators import parse_size


def test_hops_from_the_command_line():
    assert plan_hops(hops=["compute-1:eth1", "network:qr-1234abcd@qrouter-5678"]) == [
        Hop("compute-1", "eth1"),
        Hop("network", "qr-1234abcd", "qrouter-5678"),
    ]
    assert plan_hops(agent="compute-1", interface="eth1", netns="qdhcp-x") == [Hop("compute-1", "eth1", "qdhcp-x")]
    assert str(Hop("network", "eth1", "snat-1")) == "network/eth1@snat-1"
    assert Hop("network", "eth1", "snat-1").label == "network/eth1"


@pytest.mark.parametrize(
    "text", ["compute-1", "compute-1:", ":eth1", "a:b:c", "a:eth1@", "a:this-is-far-too-long0", "a:eth1@../x"]
)
def test_bad_hops(text):
    with pytest.raises(UsageError):
        parse_hop(text)


def test_plan_needs_one_form():
    with pytest.raises(UsageError):
        plan_hops()
    with pytest.raises(UsageError):
        plan_hops(hops=["a:eth0"], agent="a", interface="eth0")
    with pytest.raises(UsageError, match="twice"):
        plan_hops(hops=["a:eth0", "a:eth0"])


@pytest.mark.parametrize(
    "text, value",
    [("100MB", 100_000_000), ("1GiB", 2**30), ("500k", 500_000), ("2000000", 2_000_000), (" 1.5 GB ", 1_500_000_000)],
)
def test_sizes(text, value):
    assert parse_size(text) == value


@pytest.mark.parametrize("text", ["", "MB", "12XB", "-"])
def test_bad_sizes(text):
    with pytest.raises(ValueError):
        parse_size(text)


def test_agent_capture_options(tmp_path):
    token = tmp_path / "token"
    token.write_text("x" * 32)
    s = agent_config.load(
        [
            "--token-file",
            str(token),
            "--capture-max-bytes",
            "1MiB",
            "--capture-max-seconds",
            "30",
            "--capture-max-concurrent",
            "2",
        ]
    )
    assert (s.capture_max_bytes, s.capture_max_seconds, s.capture_max_concurrent) == (2**20, 30.0, 2)
    s = agent_config.load(["--token-file", str(token)])
    assert (s.capture_max_bytes, s.capture_max_seconds, s.capture_max_concurrent) == (100_000_000, 300.0, 4)
    with pytest.raises(ConfigError, match="capture_max_bytes"):
        agent_config.load(["--token-file", str(token), "--capture-max-bytes", "lots"])
