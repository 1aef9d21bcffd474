"""Encoders: networks mapping an input to a local feature map and a global vector.

Every encoder returns a pair ``(local_map, global_vector)``: ``local_map`` has
shape (B, C, H', W') for images and (B, C, 1, 1) for feature rows, and
``global_vector`` has shape (B, n_components). ``features`` returns the layers
a representation can be read from (the paper's taps), and ``feature_sizes``
their sizes per sample.

The image encoders size themselves to the input instead of resizing it: the
DCGAN-like :class:`ConvEncoder` and the :class:`ResNetEncoder` halve the image
until its larger side is at most 8, and :class:`AlexNetEncoder` gives the
paper's 384 x 15 x 15 local map at 64 pixels. Inputs below an encoder's
minimum size are refused; resize them beforehand (for example with
``torch.nn.functional.interpolate``) to use it. :class:`ModuleEncoder` adapts
any user module.
"""

from __future__ import annotations

import math

from torch import nn

from .adapters import ModuleEncoder
from .conv import (
    MIN_IMAGE_SIZE,
    AlexNetEncoder,
    ConvEncoder,
    ResidualBlock,
    ResNetEncoder,
)
from .mlp import FeedForward, MLPEncoder

__all__ = [
    "ENCODERS",
    "MIN_IMAGE_SIZE",
    "AlexNetEncoder",
    "ConvEncoder",
    "FeedForward",
    "MLPEncoder",
    "ModuleEncoder",
    "ResNetEncoder",
    "ResidualBlock",
    "build_encoder",
]


#: Encoders by name, one name each: the ``encoder`` parameter of
#: DeepInfoMaxTransformer and MutualInformationMachine. Each gives a local
#: map and a global vector, and says whether it ``takes_images`` (else
#: rows); :func:`build_encoder` builds any of them from the shape of one
#: sample. A new encoder is one more entry.
ENCODERS: dict[str, type[nn.Module]] = {
    "conv": ConvEncoder,
    "resnet": ResNetEncoder,
    "alexnet": AlexNetEncoder,
    "mlp": MLPEncoder,
}


def build_encoder(
    name: str, sample_shape: tuple[int, ...], n_outputs: int, **options
) -> nn.Module:
    """The encoder ``name`` of :data:`ENCODERS`, for samples of ``sample_shape``.

    Parameters
    ----------
    name : str
        A key of :data:`ENCODERS`.
    sample_shape : tuple of int
        ``(C, H, W)`` for images; an encoder of rows reads samples of any
        shape flattened.
    n_outputs : int
        Size of the global vector.
    **options
        Passed to the encoder's class, such as ``hidden_layer_sizes``.

    Returns
    -------
    torch.nn.Module

    Examples
    --------
    >>> from sk_dim.nn.encoders import build_encoder
    >>> build_encoder("conv", (1, 28, 28), 64).local_size
    (7, 7)
    >>> build_encoder("mlp", (1, 28, 28), 64, hidden_layer_sizes=(32,)).local_channels
    32
    """
    encoder = ENCODERS[name]
    if not encoder.takes_images:
        return encoder(math.prod(sample_shape), n_outputs, **options)
    if len(sample_shape) != 3:
        raise ValueError(
            f"encoder={name!r} needs images: pass 3-D or 4-D X, or 2-D X with "
            "image_shape=(C, H, W)."
        )
    channels, height, width = sample_shape
    return encoder(channels, (height, width), n_outputs, **options)
