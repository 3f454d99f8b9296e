"""Request and result models shared by agent and controller (the /v1 contract)."""
