"""Tests of the plain PyTorch core, sk_dim.nn."""
