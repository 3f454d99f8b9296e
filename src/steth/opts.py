"""The options of steth.conf and steth-agent.conf for `oslo-config-generator` (entry points
``oslo.config.opts``: steth.controller, steth.agent). Samples: scripts/gen-config-samples.sh."""

from __future__ import annotations

from oslo_config import cfg


def list_controller_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    """steth.conf's fixed options. Its free-form sections ([nodes], [networks], [mtu], [vlans],
    [tunnels], [bandwidth], [neutron]) name nodes and networks and are described in the README."""
    from .controller import config

    return [(None, list(config._DEFAULT_OPTS)), ("tls", list(config._TLS_OPTS))]


def list_agent_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    from .agent import config

    return [(None, opts) for _, opts in config.list_opts()]
