"""One exception tree for steth.

Foreign errors (aiohttp, pyroute2, ovsdbapp, OSError) are mapped to these at the
boundary where they occur, so callers catch ``StethError`` and nothing else.
Each class carries the process exit status the CLI uses for it.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_PROBLEM = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_NOT_PROVEN = 4  # doctor: nothing found broken, but the path could not be proven good


class StethError(Exception):
    """Base of every error steth raises on purpose."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(StethError):
    """The configuration file or a command-line value is wrong."""


class UsageError(StethError):
    """A command was called with arguments that cannot work."""


class UnknownAgentError(UsageError):
    """An agent name is not in the inventory."""


class AgentError(StethError):
    """Talking to an agent failed."""

    exit_code = EXIT_UNREACHABLE

    def __init__(self, message: str, hint: str | None = None, *, agent: str = "", address: str = "") -> None:
        super().__init__(message, hint)
        self.agent = agent
        self.address = address


class AgentUnreachableError(AgentError):
    """No answer from the agent (refused, timed out, DNS, TLS)."""


class AgentAuthError(AgentError):
    """The agent refused our token (401/403)."""

    exit_code = EXIT_USAGE


class AgentRequestError(AgentError):
    """The agent rejected the request as invalid (4xx other than auth)."""

    exit_code = EXIT_USAGE

    def __init__(
        self, message: str, hint: str | None = None, *, agent: str = "", address: str = "", status: int = 400
    ) -> None:
        super().__init__(message, hint, agent=agent, address=address)
        self.status = status


class HostError(StethError):
    """An operation on the local host failed (netlink, OVSDB, processes)."""

    exit_code = EXIT_PROBLEM


class CapabilityMissing(HostError):
    """The host lacks something a probe needs (a kernel module, a binary)."""


class LabError(StethError):
    """Building, changing or removing the lab failed."""

    exit_code = EXIT_PROBLEM


class OpenStackError(StethError):
    """The OpenStack API (openstacksdk) failed or could not be reached/configured."""

    HINT = (
        "check clouds.yaml and OS_CLOUD (or --os-cloud / --os-* options); "
        "`openstack network list` with the same settings should work"
    )

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message, hint or self.HINT)


class OpenStackUnreachable(OpenStackError):
    """No answer from an OpenStack endpoint."""

    exit_code = EXIT_UNREACHABLE


class OpenStackNotFound(OpenStackError):
    """A port, server, network or agent asked for does not exist."""


class OvnError(StethError):
    """OVN's Northbound/Southbound databases are misconfigured in steth.conf or answered nonsense."""


class OvnUnreachable(OvnError):
    """No member of an OVN database answered."""

    exit_code = EXIT_UNREACHABLE
