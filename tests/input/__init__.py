"""Tests of the input code, sk_dim._input."""
