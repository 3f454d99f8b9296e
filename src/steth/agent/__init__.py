"""steth-agent: the HTTP service that runs probes on one node."""
