"""The input scaling learnt from the training data."""

from __future__ import annotations

import numpy as np
import torch

from ..nn.scaling import Standardize
from .layout import InputLayout


def fit_standardize(X: np.ndarray, layout: InputLayout) -> Standardize:
    """Input scaling learnt from the training data.

    uint8 images are mapped to [-1, 1]; other images are standardised with
    one mean and standard deviation over all pixels; rows are standardised
    per feature (constant features are only centred).
    """
    if layout.image_shape is not None and X.dtype == np.uint8:
        return Standardize(torch.tensor(127.5), torch.tensor(127.5))
    axis = None if layout.image_shape is not None else 0
    mean = np.mean(X, axis=axis, dtype=np.float64)
    std = np.std(X, axis=axis, dtype=np.float64)
    std = np.where(std > 1e-12 * np.maximum(1.0, np.abs(mean)), std, 1.0)
    return Standardize(torch.as_tensor(mean), torch.as_tensor(std))
