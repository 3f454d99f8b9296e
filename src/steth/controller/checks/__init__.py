"""One module per check: plan the agent requests, run them concurrently, analyse the answers.

Analysis functions are pure (rows in, findings out) so they are unit-tested on
recorded data; only ``run_*`` functions talk to agents.
"""
