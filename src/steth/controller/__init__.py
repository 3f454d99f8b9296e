"""The steth controller: configuration, inventory, agent client and CLI commands."""
