"""Data sets: public image collections fetched on first use, and samples of
known mutual information.

:func:`fetch_mnist`, :func:`fetch_coloured_mnist` and :func:`fetch_cifar10`
download the official files once into the data home (:func:`get_data_home`),
check their SHA-256 and read them from there afterwards, as scikit-learn's
``fetch_*`` functions do. :func:`make_correlated_gaussians` draws pairs of
known mutual information, to check and compare estimators.
"""

from ._cifar10 import fetch_cifar10
from ._download import get_data_home
from ._mnist import colour_digits, fetch_coloured_mnist, fetch_mnist
from ._synthetic import gaussian_correlation, make_correlated_gaussians

__all__ = [
    "colour_digits",
    "fetch_cifar10",
    "fetch_coloured_mnist",
    "fetch_mnist",
    "gaussian_correlation",
    "get_data_home",
    "make_correlated_gaussians",
]
