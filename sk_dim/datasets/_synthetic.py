"""Samples of known mutual information, to check and compare estimators."""

from __future__ import annotations

import math

import numpy as np
from sklearn.utils import check_random_state


def gaussian_correlation(mutual_information: float, n_features: int) -> float:
    """Correlation of ``n_features`` Gaussian pairs that share this information.

    ``n_features`` independent pairs ``(x_k, y_k)`` of standard normals, each
    of correlation ``rho``, share ``-n_features / 2 * log(1 - rho^2)`` nats;
    this inverts that formula.

    Parameters
    ----------
    mutual_information : float
        Mutual information between x and y in nats, at least 0.
    n_features : int
        Number of pairs.

    Returns
    -------
    float
        ``rho = sqrt(1 - exp(-2 I / n_features))``, in [0, 1).

    Examples
    --------
    >>> from sk_dim.datasets import gaussian_correlation
    >>> round(gaussian_correlation(0.5108, 1), 3)  # -log(1 - 0.8**2) / 2 nats
    0.8
    """
    if mutual_information < 0:
        raise ValueError(
            f"mutual_information must be at least 0, got {mutual_information!r}."
        )
    if n_features < 1:
        raise ValueError(f"n_features must be at least 1, got {n_features!r}.")
    return math.sqrt(1.0 - math.exp(-2.0 * mutual_information / n_features))


def make_correlated_gaussians(
    n_samples: int,
    n_features: int,
    mutual_information: float,
    random_state: int | np.random.Generator | np.random.RandomState | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Two views x and y of correlated standard normals, of known mutual information.

    Each feature of y is ``rho x_k + sqrt(1 - rho^2) noise_k``, with ``rho``
    from :func:`gaussian_correlation`, so that ``I(x; y)`` is exactly
    ``mutual_information`` nats: the benchmark of Poole et al. (2019) for
    mutual-information estimators.

    Parameters
    ----------
    n_samples : int
        Number of pairs (rows).
    n_features : int
        Features of each view.
    mutual_information : float
        ``I(x; y)`` in nats, at least 0.
    random_state : int, numpy Generator or RandomState, default=None
        Source of the samples.

    Returns
    -------
    x, y : ndarray of shape (n_samples, n_features), float32
        The two views; row ``i`` of both is one pair.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_dim.datasets import make_correlated_gaussians
    >>> x, y = make_correlated_gaussians(20000, 2, 1.0, random_state=0)
    >>> rho = np.corrcoef(x[:, 0], y[:, 0])[0, 1]
    >>> round(float(-2 / 2 * np.log(1 - rho**2)), 1)  # two pairs, 1 nat in all
    1.0
    """
    rho = gaussian_correlation(mutual_information, n_features)
    rng = (
        random_state
        if isinstance(random_state, np.random.Generator)
        else check_random_state(random_state)
    )
    x = rng.standard_normal((n_samples, n_features))
    noise = rng.standard_normal((n_samples, n_features))
    y = rho * x + math.sqrt(1.0 - rho**2) * noise
    return x.astype(np.float32), y.astype(np.float32)
