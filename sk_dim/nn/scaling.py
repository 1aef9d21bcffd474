"""Input scaling inside a model: raw inputs to the values its encoder reads."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["InputEncoder", "Standardize"]


class Standardize(nn.Module):
    """Cast to float32, subtract ``offset`` and divide by ``scale``.

    Parameters
    ----------
    offset, scale : torch.Tensor
        Broadcastable to one sample (scalars for images, (F,) for rows).

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.scaling import Standardize
    >>> scaling = Standardize(torch.tensor(127.5), torch.tensor(127.5))
    >>> scaling(torch.tensor([0, 255], dtype=torch.uint8)).tolist()
    [-1.0, 1.0]
    """

    def __init__(self, offset: torch.Tensor, scale: torch.Tensor):
        super().__init__()
        self.register_buffer("offset", offset.float())
        self.register_buffer("scale", scale.float())

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return (inputs.float() - self.offset) / self.scale

    def invert(self, scaled: torch.Tensor) -> torch.Tensor:
        """Map scaled values back to the units of the inputs."""
        return scaled * self.scale + self.offset


class InputEncoder(nn.Module):
    """Input scaling followed by an encoder (flattening images for row encoders).

    Parameters
    ----------
    standardize : Standardize
    encoder : torch.nn.Module
        Returns ``(local_map, global_vector)``.
    flatten : bool
        Flatten each sample to a row before the encoder.
    channels_last : bool, default=False
        Run a convolutional encoder in the channels-last memory format: its
        weights are converted here and its inputs at each call. The values
        are those of the default format; the convolutions of oneDNN on the
        CPU and of cuDNN's tensor cores on the GPU are faster in it.

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.encoders import MLPEncoder
    >>> from sk_dim.nn.scaling import InputEncoder, Standardize
    >>> scaling = Standardize(torch.zeros(6), torch.ones(6))
    >>> encoder = InputEncoder(scaling, MLPEncoder(6, 2, (8,)), flatten=True)
    >>> encoder(torch.zeros(3, 6))[1].shape
    torch.Size([3, 2])
    """

    def __init__(
        self,
        standardize: Standardize,
        encoder: nn.Module,
        flatten: bool,
        channels_last: bool = False,
    ):
        super().__init__()
        self.standardize = standardize
        self.encoder = encoder
        self.flatten = flatten
        self.channels_last = channels_last
        if channels_last:
            encoder.to(memory_format=torch.channels_last)

    @property
    def local_channels(self) -> int:
        """Channels of the encoder's local feature map."""
        return self.encoder.local_channels

    @property
    def local_size(self) -> tuple[int, int]:
        """Height and width of the encoder's local feature map."""
        return self.encoder.local_size

    @property
    def feature_sizes(self) -> dict[str, int]:
        """Values per sample of each of the encoder's taps."""
        return self.encoder.feature_sizes

    @property
    def has_local_map(self) -> bool:
        """Whether the encoder gives a local feature map of its own."""
        return getattr(self.encoder, "has_local_map", True)

    def _prepare(self, inputs: torch.Tensor) -> torch.Tensor:
        inputs = self.standardize(inputs)
        if self.flatten:
            return inputs.flatten(1)
        if self.channels_last:
            return inputs.contiguous(memory_format=torch.channels_last)
        return inputs

    def forward(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.encoder(self._prepare(inputs))

    def features(self, inputs: torch.Tensor) -> dict[str, torch.Tensor]:
        """The encoder's taps (see :mod:`sk_dim.nn.encoders`) of raw inputs."""
        return self.encoder.features(self._prepare(inputs))
