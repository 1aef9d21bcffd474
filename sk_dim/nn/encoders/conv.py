"""Convolutional image encoders: DCGAN-like, residual and AlexNet-like.

Each maps images (B, C, H, W) to a local feature map and a global vector Y
through four stages, each one of the paper's taps (``"local"``, ``"conv"``,
``"fc"``, ``"global"``). They size themselves to the input instead of
resizing it: :class:`ConvEncoder` and :class:`ResNetEncoder` halve the image
until its larger side is at most 8, and :class:`AlexNetEncoder` gives the
paper's 384 x 15 x 15 local map at 64 pixels. Inputs below an encoder's
minimum size are refused.
"""

from __future__ import annotations

import math
from itertools import pairwise
from typing import ClassVar

import torch
from torch import nn

from .._checks import dry_run

__all__ = [
    "MIN_IMAGE_SIZE",
    "AlexNetEncoder",
    "ConvEncoder",
    "ResNetEncoder",
    "ResidualBlock",
]

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


class ResidualBlock(nn.Module):
    """Basic residual block of stride 2 (He et al. 2016): halves the size.

    Two 3x3 convolutions with BatchNorm, and a strided 1x1 convolution with
    BatchNorm as the shortcut, followed by a ReLU of the sum.

    Parameters
    ----------
    in_channels, out_channels : int
        Channels of the input and output maps.

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.encoders import ResidualBlock
    >>> ResidualBlock(3, 16)(torch.randn(2, 3, 28, 28)).shape
    torch.Size([2, 16, 14, 14])
    """

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.residual = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
        )
        self.shortcut = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1, stride=2, bias=False),
            nn.BatchNorm2d(out_channels),
        )

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Map (B, C_in, H, W) to (B, C_out, ceil(H / 2), ceil(W / 2))."""
        return torch.relu(self.residual(inputs) + self.shortcut(inputs))


def n_local_layers(height: int, width: int) -> int:
    """Number of stride-2 convolutions before the local feature map.

    The fewest halvings that bring the larger side to at most 8 (one at least):
    2 for 28 and 32 pixel images (7x7 and 8x8 maps), 3 for 64 pixels.
    """
    side = max(height, width)
    return max(1, math.ceil(math.log2(side / _MAX_LOCAL_SIZE)))


def _check_image_size(encoder: str, image_size: tuple[int, int], minimum: int) -> None:
    height, width = image_size
    if min(height, width) < minimum:
        raise ValueError(
            f"The {encoder} encoder needs images of at least {minimum}x{minimum} "
            f"pixels, got {height}x{width}; resize the images or pick another "
            "encoder."
        )


class _TappedImageEncoder(nn.Module):
    """An image encoder of four stages, each one of the paper's taps.

    Subclasses build ``local_layers`` (input to local map), ``conv`` (local
    map to the last convolutional map), ``fc`` (to the fully connected layer)
    and ``head`` (to Y), then call ``_measure`` with the input shape.
    """

    takes_images: ClassVar[bool] = True
    has_local_map: ClassVar[bool] = True

    def _measure(self, in_channels: int, image_size: tuple[int, int]) -> None:
        """Set ``local_channels``, ``local_size`` and ``feature_sizes``."""
        taps = dry_run(self, "features", (in_channels, *image_size))
        self.local_channels, *local_size = taps["local"].shape[1:]
        self.local_size = tuple(local_size)
        self.feature_sizes = {name: tap[0].numel() for name, tap in taps.items()}

    def features(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every tap of images of shape (B, C, H, W).

        Returns
        -------
        dict
            ``"local"`` (B, C', H', W'), ``"conv"`` (the last convolutional
            map), ``"fc"`` (B, fc_features) and ``"global"`` (B, n_components).
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


def _fully_connected(in_features: int, out_features: int) -> nn.Sequential:
    """Flatten, then Linear, BatchNorm and ReLU."""
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(in_features, out_features, bias=False),
        nn.BatchNorm1d(out_features),
        nn.ReLU(inplace=True),
    )


def _output_size(
    layers: nn.Module, in_channels: int, image_size: tuple[int, int]
) -> int:
    """Values per sample that ``layers`` give for images of ``image_size``."""
    return dry_run(layers, "forward", (in_channels, *image_size))[0].numel()


class ConvEncoder(_TappedImageEncoder):
    """DCGAN-like convolutional encoder of Deep InfoMax, sized to the input.

    Stride-2 convolutions of ``width``, ``2 * width``, ``4 * width``, ...
    channels (4x4, BatchNorm, ReLU) halve the image until its larger side is
    at most 8; that map is the local feature map (128 x 7 x 7 for 28 pixels,
    128 x 8 x 8 for 32 pixels, 256 x 8 x 8 for 64 pixels at the default
    width of 64). One more convolution, a fully connected layer
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
    width : int, default=64
        Channels of the first stage; each further stage doubles them. The
        cost of a step grows about as ``width**2``.

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.encoders import ConvEncoder
    >>> encoder = ConvEncoder(1, (28, 28), n_components=64)
    >>> local_map, y = encoder(torch.zeros(2, 1, 28, 28))
    >>> tuple(local_map.shape), tuple(y.shape)
    ((2, 128, 7, 7), (2, 64))
    """

    #: Smallest height and width accepted.
    min_size = MIN_IMAGE_SIZE
    #: Name of the encoder in error messages.
    description = "convolutional"
    #: Channels of the stem's output; None without a stem.
    stem_channels: int | None = None

    def __init__(
        self,
        in_channels: int,
        image_size: tuple[int, int],
        n_components: int,
        fc_features: int = 1024,
        width: int = 64,
    ):
        super().__init__()
        _check_image_size(self.description, image_size, self.min_size)
        if width < 1:
            raise ValueError(
                f"width must be a positive number of channels, got {width}."
            )
        self.local_layers = self._stem(in_channels)
        channels = [self.stem_channels or in_channels]
        for depth in range(n_local_layers(*image_size)):
            channels.append(width * 2**depth)
        self.local_layers.extend(
            self.block(c_in, c_out) for c_in, c_out in pairwise(channels)
        )
        self.conv = self.block(channels[-1], 2 * channels[-1])
        conv_size = _output_size(
            nn.Sequential(self.local_layers, self.conv), in_channels, image_size
        )
        self.fc = _fully_connected(conv_size, fc_features)
        self.head = nn.Linear(fc_features, n_components)
        self._measure(in_channels, image_size)

    #: Builds one stage halving the map, from (in_channels, out_channels).
    block = staticmethod(_conv_block)

    def _stem(self, in_channels: int) -> nn.Sequential:
        """Layers before the first stage: none."""
        return nn.Sequential()


class ResNetEncoder(ConvEncoder):
    """A small residual network with the stages and taps of :class:`ConvEncoder`.

    A 3x3 convolution of 32 channels (BatchNorm, ReLU) at full resolution,
    then one :class:`ResidualBlock` in place of each strided convolution of
    the DCGAN-like encoder: the same channels (64, 128, ...), local map
    (128 x 7 x 7 at 28 pixels) and taps, with twice the depth and a shortcut
    around each stage.

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
    width : int, default=64
        Channels of the first residual stage; each further stage doubles them.

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.encoders import ResNetEncoder
    >>> encoder = ResNetEncoder(3, (32, 32), n_components=64)
    >>> encoder.feature_sizes
    {'local': 8192, 'conv': 4096, 'fc': 1024, 'global': 64}
    """

    block = ResidualBlock
    description = "ResNet"
    stem_channels = 32

    def _stem(self, in_channels: int) -> nn.Sequential:
        """3x3 convolution at full resolution, BatchNorm, ReLU."""
        return nn.Sequential(
            nn.Conv2d(in_channels, self.stem_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(self.stem_channels),
            nn.ReLU(inplace=True),
        )


def _alexnet_conv(in_channels: int, out_channels: int) -> list[nn.Module]:
    """3x3 convolution of stride 1, BatchNorm and ReLU."""
    return [
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    ]


class AlexNetEncoder(_TappedImageEncoder):
    """AlexNet-like encoder of Deep InfoMax for 64 pixel images.

    3x3 convolutions (BatchNorm, ReLU) of 96 and 192 channels, each followed
    by a 3x3 max-pooling of stride 2, and one of 384 channels give the local
    map (384 x 15 x 15 at 64 pixels); convolutions of 384 and 192 channels
    and a max-pooling give the "conv" tap (192 x 7 x 7), then a fully
    connected layer of ``fc_features`` units and a linear layer give Y.

    Parameters
    ----------
    in_channels : int
        Channels of the input images.
    image_size : tuple of int
        ``(height, width)`` of the input images, each at least 16.
    n_components : int
        Size of the global vector.
    fc_features : int, default=4096
        Width of the fully connected layer.

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.encoders import AlexNetEncoder
    >>> encoder = AlexNetEncoder(3, (64, 64), n_components=64)
    >>> encoder.local_channels, encoder.local_size
    (384, (15, 15))
    """

    #: Smallest height and width accepted (three poolings leave 1 pixel).
    min_size = 16

    def __init__(
        self,
        in_channels: int,
        image_size: tuple[int, int],
        n_components: int,
        fc_features: int = 4096,
    ):
        super().__init__()
        _check_image_size("AlexNet-like", image_size, self.min_size)
        self.local_layers = nn.Sequential(
            *_alexnet_conv(in_channels, 96),
            nn.MaxPool2d(3, stride=2),
            *_alexnet_conv(96, 192),
            nn.MaxPool2d(3, stride=2),
            *_alexnet_conv(192, 384),
        )
        self.conv = nn.Sequential(
            *_alexnet_conv(384, 384),
            *_alexnet_conv(384, 192),
            nn.MaxPool2d(3, stride=2),
        )
        conv_size = _output_size(
            nn.Sequential(self.local_layers, self.conv), in_channels, image_size
        )
        self.fc = _fully_connected(conv_size, fc_features)
        self.head = nn.Linear(fc_features, n_components)
        self._measure(in_channels, image_size)
