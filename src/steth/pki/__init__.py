"""steth's own small PKI: a CA, one server certificate per node, a controller client certificate.

``certs`` makes and reads certificates with ``cryptography``; ``store`` lays them out in a
directory (keys 0600, never overwritten without ``force``). Neither imports the rest of steth
but ``errors``, so the controller CLI and the lab both use them.
"""
