"""Helpers of the core's checks: values described for messages, dry runs."""

from __future__ import annotations

import torch
from torch import nn


def describe(value) -> str:
    """``"a tensor of shape (2, 3)"`` or ``"an object of type list"``."""
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    return f"an object of type {type(value).__name__}"


def dry_run(module: nn.Module, method: str, sample_shape: tuple[int, ...]):
    """``module.method`` of two blank samples, in evaluation mode, no gradients."""
    was_training = module.training
    try:
        with torch.no_grad():
            return getattr(module.eval(), method)(torch.zeros(2, *sample_shape))
    finally:
        module.train(was_training)
