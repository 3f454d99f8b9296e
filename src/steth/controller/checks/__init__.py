"""One module per check: plan the requests, run them through the agents, analyse the answers."""
