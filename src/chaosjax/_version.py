"""The package version, in one place (read by provenance attributes and checkpoints)."""

__version__ = "0.1.0"
