"""steth: network inspection and diagnosis for OpenStack."""

__version__ = "0.1.0"
