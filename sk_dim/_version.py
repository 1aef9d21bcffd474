"""The version of sk_dim."""

__version__ = "0.1.0"
