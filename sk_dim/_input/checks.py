"""Checks of parameters, and descriptions of values for error messages."""

from __future__ import annotations

from numbers import Integral

import numpy as np
import torch


def describe(value) -> str:
    """``"a tensor of shape (2, 3)"`` or ``"an object of type list"``."""
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    return f"an object of type {type(value).__name__}"


def check_hidden_layer_sizes(sizes, allow_empty: bool) -> tuple[int, ...]:
    """The ``hidden_layer_sizes`` parameter as a tuple of positive ints, or raise."""
    sizes = tuple(sizes)
    valid = all(
        isinstance(size, Integral) and not isinstance(size, bool) and size > 0
        for size in sizes
    )
    if not valid or not (sizes or allow_empty):
        kind = "sequence" if allow_empty else "non-empty sequence"
        raise ValueError(
            f"hidden_layer_sizes must be a {kind} of positive ints, got {sizes!r}."
        )
    return tuple(int(size) for size in sizes)


def check_float32_range(X: np.ndarray, name: str = "X") -> None:
    """Refuse values that are finite in ``X``'s dtype but overflow float32.

    sk_dim computes in float32, where such values become inf. Arrays of
    float32 or narrower types, and integer arrays, always fit.
    """
    if X.dtype.kind != "f" or X.dtype.itemsize <= 4 or X.size == 0:
        return
    largest = max(abs(float(X.max())), abs(float(X.min())))
    limit = float(np.finfo(np.float32).max)
    if largest > limit:
        raise ValueError(
            f"{name} holds values beyond the float32 range: its largest magnitude "
            f"is {largest:.3g}, above {limit:.3g}, and sk_dim computes in "
            f"float32, where it would become inf. Rescale {name} (for example "
            "with sklearn.preprocessing.StandardScaler) before passing it."
        )
