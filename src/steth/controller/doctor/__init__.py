"""`steth doctor`: walk one VM's path, control plane then data plane, and name the first broken link.

facts.py asks Neutron, probes.py asks the agents, control.py and data.py turn both
into ordered checks (pure functions), diagnose.py picks the root cause.
"""
