"""The only code that touches the host: netlink, OVSDB, sockets, processes."""
