"""Defaults both ends of the wire agree on."""

AGENT_PORT = 9698  # steth-agent listens here unless told otherwise
