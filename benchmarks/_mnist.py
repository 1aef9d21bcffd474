"""MNIST for the benchmarks: ``../shared/data/mnist.npz`` beside the checkout."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist.npz"


def load_mnist(path: Path):
    """``X_train, y_train, X_test, y_test`` (uint8 images), or exit with advice."""
    if not path.exists():
        sys.exit(
            f"MNIST not found at {path}; pass --data with the path of mnist.npz "
            "(arrays X_train, y_train, X_test, y_test)."
        )
    data = np.load(path)
    return data["X_train"], data["y_train"], data["X_test"], data["y_test"]
