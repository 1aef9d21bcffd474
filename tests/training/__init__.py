"""Tests of the training engine, sk_dim._training."""
