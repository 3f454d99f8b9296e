"""Probes: one module per probe; each observes and returns results, never raises for a broken network."""
