"""CIFAR-10's training images for the benchmarks, split into train and validation.

The file is an ``.npz`` with uint8 arrays ``X_train`` (45000, 32, 32, 3),
``y_train``, ``X_val`` (5000, 32, 32, 3) and ``y_val``: the 50,000 training
images of CIFAR-10, shuffled with a fixed seed, 5,000 held out for validation.
CIFAR-10's own test split is not used, so that it stays an independent check.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

DEFAULT_DATA = Path.home() / ".cache" / "sk_dim" / "cifar10_train.npz"


def load_cifar10(path: Path):
    """``X_train, y_train, X_val, y_val`` (uint8 images), or exit with advice."""
    if not path.exists():
        sys.exit(
            f"CIFAR-10 not found at {path}; pass --data with the path of an .npz "
            "holding uint8 arrays X_train (N, 32, 32, 3), y_train, X_val and y_val "
            "(CIFAR-10's training images, split into training and validation)."
        )
    data = np.load(path)
    return data["X_train"], data["y_train"], data["X_val"], data["y_val"]
