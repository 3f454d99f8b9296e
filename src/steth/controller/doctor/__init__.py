"""`steth doctor`: walk one VM's path, control plane then data plane, and name the first broken link.

facts.py asks Neutron once; backend.py reads the backend from Neutron's agents; chains/ holds one
chain per backend (a module listing check keys in path order). A check is one class (registry.py):
its row, the evidence kinds it needs (evidence.py; the agents' probes in ovs_evidence.py and
ns_evidence.py), when it applies, and its judgement, a pure function (neutron_port.py,
neutron_services.py, ovs_path.py, reach.py). diagnose.py names the first failure the root cause.
"""
