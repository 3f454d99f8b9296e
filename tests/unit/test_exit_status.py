from steth.controller.commands.base import exit_status_for
from steth.errors import AgentAuthError, AgentUnreachableError, UnknownAgentError


def test_exit_status_from_verdicts():
    assert exit_status_for(["ok", "ok"]) == 0
    assert exit_status_for([]) == 0
    assert exit_status_for(["ok", "fail"]) == 1
    assert exit_status_for(["error"]) == 1
    assert exit_status_for(["ok"], unreachable=True) == 3


def test_error_classes_carry_exit_codes():
    assert AgentUnreachableError("x").exit_code == 3
    assert AgentAuthError("x").exit_code == 2
    assert UnknownAgentError("x").exit_code == 2
    assert str(UnknownAgentError("unknown agent 'a'", "known: b")) == "unknown agent 'a' (known: b)"
