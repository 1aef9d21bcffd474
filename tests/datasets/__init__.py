"""Tests of the data sets, sk_dim.datasets."""
