"""One module per check: plan requests, run them on the agents, analyse the answers."""
