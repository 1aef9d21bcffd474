"""Encoders: networks mapping an input to a local feature map and a global vector.

Every encoder returns a pair ``(local_map, global_vector)``: ``local_map`` has
shape (B, C, H', W') for images and (B, C, 1, 1) for feature rows, and
``global_vector`` has shape (B, n_components). ``features`` returns the layers
a representation can be read from (the paper's taps), and ``feature_sizes``
their sizes per sample.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise

import torch
from torch import nn

__all__ = ["MIN_IMAGE_SIZE", "ConvEncoder", "MLPEncoder"]

#: Smallest height and width the convolutional encoder accepts.
MIN_IMAGE_SIZE = 8

#: Largest side of the local feature map; deeper layers are added until it fits.
_MAX_LOCAL_SIZE = 8


def _conv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """4x4 convolution of stride 2 (halves the size), BatchNorm and ReLU."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 4, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


def n_local_layers(height: int, width: int) -> int:
    """Number of stride-2 convolutions before the local feature map.

    The fewest halvings that bring the larger side to at most 8 (one at least):
    2 for 28 and 32 pixel images (7x7 and 8x8 maps), 3 for 64 pixels.
    """
    side = max(height, width)
    return max(1, math.ceil(math.log2(side / _MAX_LOCAL_SIZE)))


class ConvEncoder(nn.Module):
    """DCGAN-like convolutional encoder of Deep InfoMax, sized to the input.

    Stride-2 convolutions of 64, 128, 256, ... channels (4x4, BatchNorm, ReLU)
    halve the image until its larger side is at most 8; that map is the local
    feature map (128 x 7 x 7 for 28 pixels, 128 x 8 x 8 for 32 pixels,
    256 x 8 x 8 for 64 pixels). One more convolution, a fully connected layer
    of ``fc_features`` units (BatchNorm, ReLU) and a linear layer give the
    global vector.

    The taps of ``features`` are the paper's: ``"local"`` (the local feature
    map), ``"conv"`` (the map of the last convolution), ``"fc"`` (the fully
    connected layer) and ``"global"`` (Y).

    Parameters
    ----------
    in_channels : int
        Channels of the input images.
    image_size : tuple of int
        ``(height, width)`` of the input images, each at least 8.
    n_components : int
        Size of the global vector.
    fc_features : int, default=1024
        Width of the fully connected layer.
    """

    def __init__(
        self,
        in_channels: int,
        image_size: tuple[int, int],
        n_components: int,
        fc_features: int = 1024,
    ):
        super().__init__()
        height, width = image_size
        if min(height, width) < MIN_IMAGE_SIZE:
            raise ValueError(
                f"The convolutional encoder needs images of at least "
                f"{MIN_IMAGE_SIZE}x{MIN_IMAGE_SIZE} pixels, got {height}x{width}."
            )
        channels = [in_channels]
        for depth in range(n_local_layers(height, width)):
            channels.append(64 * 2**depth)
        self.local_layers = nn.Sequential(
            *(_conv_block(c_in, c_out) for c_in, c_out in pairwise(channels))
        )
        local_height, local_width = height, width
        for _ in channels[1:]:
            local_height, local_width = local_height // 2, local_width // 2
        self.local_channels = channels[-1]
        self.local_size = (local_height, local_width)
        top_channels = 2 * channels[-1]
        top_size = (local_height // 2) * (local_width // 2)
        self.conv = _conv_block(channels[-1], top_channels)
        self.fc = nn.Sequential(
            nn.Flatten(),
            nn.Linear(top_channels * top_size, fc_features, bias=False),
            nn.BatchNorm1d(fc_features),
            nn.ReLU(inplace=True),
        )
        self.head = nn.Linear(fc_features, n_components)
        self.feature_sizes = {
            "local": self.local_channels * local_height * local_width,
            "conv": top_channels * top_size,
            "fc": fc_features,
            "global": n_components,
        }

    def features(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every tap of images of shape (B, C, H, W).

        Returns
        -------
        dict
            ``"local"`` (B, C', H', W'), ``"conv"`` (B, 2 C', H'/2, W'/2),
            ``"fc"`` (B, fc_features) and ``"global"`` (B, n_components).
        """
        local_map = self.local_layers(images)
        conv = self.conv(local_map)
        fc = self.fc(conv)
        return {"local": local_map, "conv": conv, "fc": fc, "global": self.head(fc)}

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode images of shape (B, C, H, W).

        Returns
        -------
        local_map : torch.Tensor of shape (B, C', H', W')
        global_vector : torch.Tensor of shape (B, n_components)
        """
        local_map = self.local_layers(images)
        return local_map, self.head(self.fc(self.conv(local_map)))


class MLPEncoder(nn.Module):
    """Multi-layer perceptron encoder for feature rows.

    The first hidden layer plays the part of the local feature map (one
    location); the other hidden layers and a linear layer on top give the
    global vector, as the convolutional layers above the local map do for
    images. The taps of ``features`` are ``"local"`` (the first hidden
    layer), ``"fc"`` (the last hidden layer) and ``"global"`` (Y).

    Parameters
    ----------
    n_features : int
        Size of each input row.
    n_components : int
        Size of the global vector.
    hidden_layer_sizes : sequence of int, default=(512, 512)
        Widths of the hidden layers (Linear, BatchNorm, ReLU); at least one.
    """

    def __init__(
        self,
        n_features: int,
        n_components: int,
        hidden_layer_sizes: Sequence[int] = (512, 512),
    ):
        super().__init__()
        if len(hidden_layer_sizes) < 1:
            raise ValueError("hidden_layer_sizes needs at least one layer.")
        sizes = [n_features, *hidden_layer_sizes]
        blocks = [
            nn.Sequential(
                nn.Linear(size_in, size_out, bias=False),
                nn.BatchNorm1d(size_out),
                nn.ReLU(inplace=True),
            )
            for size_in, size_out in pairwise(sizes)
        ]
        self.local_layers = blocks[0]
        self.local_channels = sizes[1]
        self.local_size = (1, 1)
        self.hidden_layers = nn.Sequential(*blocks[1:])
        self.head = nn.Linear(sizes[-1], n_components)
        self.feature_sizes = {
            "local": sizes[1],
            "fc": sizes[-1],
            "global": n_components,
        }

    def features(self, rows: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every tap of rows of shape (B, n_features).

        Returns
        -------
        dict
            ``"local"`` (B, hidden, 1, 1), ``"fc"`` (B, last hidden) and
            ``"global"`` (B, n_components).
        """
        local = self.local_layers(rows)
        fc = self.hidden_layers(local)
        return {"local": local[:, :, None, None], "fc": fc, "global": self.head(fc)}

    def forward(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode rows of shape (B, n_features).

        Returns
        -------
        local_map : torch.Tensor of shape (B, hidden, 1, 1)
        global_vector : torch.Tensor of shape (B, n_components)
        """
        local = self.local_layers(rows)
        return local[:, :, None, None], self.head(self.hidden_layers(local))
