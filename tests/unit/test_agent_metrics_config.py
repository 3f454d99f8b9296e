"""The agent's /metrics auth settings: the agent's token by default, a token of its own, or none."""

from __future__ import annotations

import pytest

from steth.agent.config import load
from steth.errors import ConfigError


@pytest.fixture()
def tokens(tmp_path):
    agent, metrics = tmp_path / "token", tmp_path / "metrics-token"
    agent.write_text("agent-token-0123456789\n")
    metrics.write_text("metrics-token-0123456789\n")
    return str(agent), str(metrics)


def test_default_is_the_agent_token(tokens):
    assert load(["--token-file", tokens[0]]).metrics_token == "agent-token-0123456789"


def test_a_token_of_its_own(tokens):
    s = load(["--token-file", tokens[0], "--metrics-token-file", tokens[1]])
    assert (s.token, s.metrics_token) == ("agent-token-0123456789", "metrics-token-0123456789")


def test_none(tokens):
    assert load(["--token-file", tokens[0], "--metrics-auth", "none"]).metrics_token is None


def test_bad_choice_and_missing_file_are_config_errors(tokens, tmp_path):
    with pytest.raises(ConfigError, match="metrics"):
        load(["--token-file", tokens[0], "--metrics-auth", "basic"])
    with pytest.raises(ConfigError, match="absent"):
        load(["--token-file", tokens[0], "--metrics-token-file", str(tmp_path / "absent")])
