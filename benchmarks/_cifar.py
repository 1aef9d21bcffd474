"""CIFAR-10's training images for the benchmarks, split into train and validation.

The 50,000 training images of CIFAR-10 (sk_dim.datasets.fetch_cifar10), or
of a local ``.npz``, shuffled with a fixed seed, 5,000 held out for
validation. CIFAR-10's own test split is not used, so that it stays an
independent check.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from sk_dim.datasets import fetch_cifar10

N_VALIDATION = 5000


def load_cifar10(path: Path | None):
    """``X_train, y_train, X_val, y_val`` (uint8 images), or exit with advice.

    Without ``path``, the official archive in the data home, downloaded on
    first use. With it, an ``.npz`` holding uint8 arrays ``X_train`` (N, 32,
    32, 3) and ``y_train``, split here, or already split into ``X_train``,
    ``y_train``, ``X_val`` and ``y_val``.
    """
    if path is None:
        try:
            images, labels = fetch_cifar10(subset="train", return_X_y=True)
        except OSError as error:
            sys.exit(str(error))
    elif not path.exists():
        sys.exit(
            f"CIFAR-10 not found at {path}; pass --data with the path of an "
            ".npz holding uint8 arrays X_train (N, 32, 32, 3) and y_train "
            "(CIFAR-10's training images), or leave --data out to download it."
        )
    else:
        data = np.load(path)
        if "X_val" in data:
            return data["X_train"], data["y_train"], data["X_val"], data["y_val"]
        images, labels = data["X_train"], data["y_train"]
    order = np.random.default_rng(0).permutation(len(labels))
    train, valid = order[:-N_VALIDATION], order[-N_VALIDATION:]
    return images[train], labels[train], images[valid], labels[valid]
