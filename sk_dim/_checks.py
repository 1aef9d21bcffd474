"""Descriptions of values for error messages."""

from __future__ import annotations

import torch


def describe(value) -> str:
    """``"a tensor of shape (2, 3)"`` or ``"an object of type list"``."""
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    return f"an object of type {type(value).__name__}"
