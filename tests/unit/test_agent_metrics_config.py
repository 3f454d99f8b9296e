"""The agent's /metrics auth settings: the agent's tokens by default, tokens of their own, or none."""

from __future__ import annotations

import os

import pytest

from steth.agent.auth import Tokens
from steth.agent.config import load
from steth.agent.context import AgentContext
from steth.errors import ConfigError


@pytest.fixture()
def tokens(tmp_path):
    agent, metrics = tmp_path / "token", tmp_path / "metrics-token"
    agent.write_text("agent-token-0123456789\n")
    metrics.write_text("metrics-token-0123456789\n")
    for path in (agent, metrics):
        os.chmod(path, 0o600)
    return str(agent), str(metrics)


def scrapers(tokens_file: str, *args: str) -> Tokens | None:
    settings = load(["--token-file", tokens_file, "--insecure-http", *args])
    return AgentContext(settings, Tokens(settings.token_file)).metrics_tokens


def test_default_is_the_agent_tokens(tokens):
    t = scrapers(tokens[0])
    assert t is not None and t.match("agent-token-0123456789") and not t.match("metrics-token-0123456789")


def test_tokens_of_their_own(tokens):
    t = scrapers(tokens[0], "--metrics-token-file", tokens[1])
    assert t is not None and t.match("metrics-token-0123456789") and not t.match("agent-token-0123456789")


def test_none(tokens):
    assert scrapers(tokens[0], "--metrics-auth", "none") is None


def test_bad_choice_and_missing_file_are_config_errors(tokens, tmp_path):
    with pytest.raises(SystemExit):  # oslo.config's own check of a choice (as for --log-level)
        load(["--token-file", tokens[0], "--metrics-auth", "basic"])
    with pytest.raises(ConfigError, match="absent"):
        Tokens(str(tmp_path / "absent"))
