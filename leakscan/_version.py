"""The version of leakscan, in one place."""

__version__ = "0.1.0"
