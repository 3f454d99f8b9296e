"""A simulated cloud on one machine: nodes are network namespaces, switches are Linux bridges."""
