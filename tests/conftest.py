import numpy as np
import pytest
from sklearn.datasets import load_digits

from sk_dim import DeepInfoMaxTransformer

#: Settings that make a fit take a fraction of a second.
TINY = {
    "n_components": 8,
    "critic_width": 32,
    "batch_size": 32,
    "max_epochs": 1,
    "random_state": 0,
}


def ks_to_uniform(values: np.ndarray) -> float:
    """Mean Kolmogorov-Smirnov distance of each column of values to U(0, 1)."""
    values = np.sort(values, axis=0)
    n = len(values)
    upper = np.arange(1, n + 1)[:, None] / n - values
    lower = values - np.arange(n)[:, None] / n
    return float(np.maximum(upper, lower).max(axis=0).mean())


@pytest.fixture(scope="session")
def digits():
    X, y = load_digits(return_X_y=True)
    return X, y


@pytest.fixture(scope="session")
def small_images():
    """100 random 16x16 RGB images, uint8, channels first."""
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(100, 3, 16, 16), dtype=np.uint8)


@pytest.fixture
def tiny():
    def make(**params):
        return DeepInfoMaxTransformer(**{**TINY, **params})

    return make
