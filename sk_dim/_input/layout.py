"""Input layouts: from validated numpy arrays to tensors in (N, C, H, W) or (N, F)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch

_COLOUR_CHANNELS = (1, 3, 4)


@dataclass(frozen=True)
class InputLayout:
    """How the samples of X map to encoder inputs.

    Attributes
    ----------
    sample_shape : tuple of int
        Shape of one sample of X as given (``X.shape[1:]``).
    image_shape : tuple of int or None
        ``(C, H, W)`` of the images, None for feature rows.
    channels_last : bool
        Whether 4-D X holds images as (N, H, W, C).
    """

    sample_shape: tuple[int, ...]
    image_shape: tuple[int, int, int] | None
    channels_last: bool = False


def _normalise_image_shape(image_shape) -> tuple[int, int, int]:
    shape = tuple(image_shape)
    valid = len(shape) in (2, 3) and all(
        isinstance(size, (int, np.integer)) and size > 0 for size in shape
    )
    if not valid:
        raise ValueError(
            "image_shape must be a tuple of positive ints (C, H, W) or (H, W), "
            f"got {image_shape!r}."
        )
    return tuple(int(size) for size in ((1, *shape) if len(shape) == 2 else shape))


def infer_layout(X: np.ndarray, image_shape, channels: str) -> InputLayout:
    """Work out the layout of X from its shape and the user's hints.

    Parameters
    ----------
    X : ndarray of shape (N, F), (N, H, W) or (N, C, H, W) / (N, H, W, C)
    image_shape : tuple or None
        ``(C, H, W)`` or ``(H, W)`` of the images stored as rows of a 2-D X.
    channels : {"auto", "first", "last"}
        Where the channel axis of a 4-D X is; "auto" takes the axis of size 1,
        3 or 4 and, if both qualify, the first (PyTorch's convention).

    Returns
    -------
    InputLayout
    """
    sample_shape = tuple(X.shape[1:])
    if X.ndim == 2:
        if image_shape is None:
            return InputLayout(sample_shape, None)
        shape = _normalise_image_shape(image_shape)
        if int(np.prod(shape)) != X.shape[1]:
            raise ValueError(
                f"image_shape={image_shape!r} needs {int(np.prod(shape))} features "
                f"per row, but X has {X.shape[1]}."
            )
        return InputLayout(sample_shape, shape)
    if image_shape is not None:
        raise ValueError(
            f"image_shape is only used for 2-D X (images stored as rows); X has "
            f"{X.ndim} dimensions {X.shape}, so the images' shape is known."
        )
    if X.ndim == 3:
        return InputLayout(sample_shape, (1, *sample_shape))
    if X.ndim != 4:
        raise ValueError(
            "X must be 2-D (rows), 3-D (N, H, W) or 4-D (N, C, H, W) or "
            f"(N, H, W, C); got {X.ndim} dimensions {X.shape}."
        )
    first, last = X.shape[1] in _COLOUR_CHANNELS, X.shape[3] in _COLOUR_CHANNELS
    if channels == "last" or (channels == "auto" and last and not first):
        return InputLayout(sample_shape, (X.shape[3], X.shape[1], X.shape[2]), True)
    return InputLayout(sample_shape, sample_shape)


def as_tensor(X: np.ndarray, layout: InputLayout) -> torch.Tensor:
    """View X as a tensor in encoder layout, copying only to change dtype.

    uint8 and floating arrays are shared with numpy; other dtypes become
    float32. Images come out as (N, C, H, W), rows as (N, F).
    """
    if X.dtype != np.uint8 and X.dtype.kind != "f":
        X = X.astype(np.float32)
    with warnings.catch_warnings():
        # Read-only arrays (joblib memmaps) are only ever read here.
        warnings.filterwarnings("ignore", message="The given NumPy array")
        tensor = torch.from_numpy(X)
    if layout.image_shape is None:
        return tensor
    if layout.channels_last:
        return tensor.permute(0, 3, 1, 2)
    return tensor.reshape(len(X), *layout.image_shape)
