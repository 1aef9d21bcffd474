"""Multi-layer perceptrons: the encoder of feature rows, and a plain MLP."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import ClassVar

import torch
from torch import nn

__all__ = ["FeedForward", "MLPEncoder"]


class FeedForward(nn.Sequential):
    """A plain multi-layer perceptron: Linear and ReLU hidden layers, a linear output.

    Parameters
    ----------
    in_features : int
        Size of the input rows.
    out_features : int
        Size of the output rows.
    hidden_layer_sizes : sequence of int
        Widths of the hidden layers, from the input up; may be empty.

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.encoders import FeedForward
    >>> FeedForward(392, 100, (300, 300))(torch.zeros(2, 392)).shape
    torch.Size([2, 100])
    """

    takes_images: ClassVar[bool] = False
    has_local_map: ClassVar[bool] = False

    def __init__(
        self, in_features: int, out_features: int, hidden_layer_sizes: Sequence[int]
    ):
        sizes = [in_features, *hidden_layer_sizes]
        layers: list[nn.Module] = []
        for size_in, size_out in pairwise(sizes):
            layers += [nn.Linear(size_in, size_out), nn.ReLU(inplace=True)]
        super().__init__(*layers, nn.Linear(sizes[-1], out_features))


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

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.encoders import MLPEncoder
    >>> encoder = MLPEncoder(n_features=20, n_components=8, hidden_layer_sizes=(32,))
    >>> local_map, global_vector = encoder(torch.randn(4, 20))
    >>> local_map.shape, global_vector.shape
    (torch.Size([4, 32, 1, 1]), torch.Size([4, 8]))
    """

    takes_images: ClassVar[bool] = False
    has_local_map: ClassVar[bool] = True

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
