import math

import numpy as np
import pytest
import torch

from sk_dim.datasets import gaussian_correlation, make_correlated_gaussians
from sk_dim.nn.bounds import second_order_mi


@pytest.mark.parametrize("n_features", [1, 5, 20])
@pytest.mark.parametrize("true_mi", [0.0, 2.0, 10.0])
def test_samples_carry_the_requested_mutual_information(n_features, true_mi):
    x, y = make_correlated_gaussians(50_000, n_features, true_mi, random_state=0)
    assert x.shape == y.shape == (50_000, n_features)
    assert x.dtype == y.dtype == np.float32
    # exact for Gaussians: the second-order estimate recovers the information
    estimate = second_order_mi(torch.from_numpy(x), torch.from_numpy(y), ridge=0.0)
    assert float(estimate) == pytest.approx(true_mi, rel=0.02, abs=0.02)
    assert np.std(x, axis=0) == pytest.approx(1.0, abs=0.02)
    assert np.std(y, axis=0) == pytest.approx(1.0, abs=0.02)


def test_correlation_inverts_the_gaussian_formula():
    rho = gaussian_correlation(3.0, 4)
    assert -4 / 2 * math.log(1 - rho**2) == pytest.approx(3.0)
    assert gaussian_correlation(0.0, 4) == 0.0


def test_random_state_makes_samples_reproducible():
    first = make_correlated_gaussians(10, 2, 1.0, random_state=3)
    second = make_correlated_gaussians(10, 2, 1.0, random_state=3)
    other = make_correlated_gaussians(10, 2, 1.0, random_state=4)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert not np.array_equal(first[0], other[0])


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="mutual_information must be at least 0"):
        make_correlated_gaussians(10, 2, -1.0)
    with pytest.raises(ValueError, match="n_features must be at least 1, got 0"):
        gaussian_correlation(1.0, 0)
