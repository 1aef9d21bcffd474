"""MNIST for the benchmarks: sk_dim.datasets.fetch_mnist, or a local file."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from sk_dim.datasets import fetch_mnist


def load_mnist(path: Path | None):
    """``X_train, y_train, X_test, y_test`` (uint8 images), or exit with advice.

    Without ``path``, the official files in the data home, downloaded on
    first use; with it, an ``.npz`` holding those four arrays.
    """
    if path is not None:
        if not path.exists():
            sys.exit(
                f"MNIST not found at {path}; pass --data with the path of an "
                ".npz holding uint8 arrays X_train (N, 28, 28), y_train, X_test "
                "and y_test, or leave --data out to download MNIST."
            )
        data = np.load(path)
        return data["X_train"], data["y_train"], data["X_test"], data["y_test"]
    try:
        X_train, y_train = fetch_mnist(subset="train", return_X_y=True)
        X_test, y_test = fetch_mnist(subset="test", return_X_y=True)
    except OSError as error:
        sys.exit(str(error))
    return X_train, y_train, X_test, y_test
