"""Checks of parameters, and descriptions of values for error messages."""

from __future__ import annotations

from numbers import Integral

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
