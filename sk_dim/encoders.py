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
from collections.abc import Sequence
from itertools import pairwise
from typing import ClassVar

import torch
from torch import nn

from ._input.checks import describe

__all__ = [
    "ENCODERS",
    "MAP_ENCODERS",
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
    >>> from sk_dim.encoders import ResidualBlock
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


def _dry_run(module: nn.Module, method: str, sample_shape: tuple[int, ...]):
    """``module.method`` of two blank samples, in evaluation mode, no gradients."""
    was_training = module.training
    try:
        with torch.no_grad():
            return getattr(module.eval(), method)(torch.zeros(2, *sample_shape))
    finally:
        module.train(was_training)


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
        taps = _dry_run(self, "features", (in_channels, *image_size))
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
    return _dry_run(layers, "forward", (in_channels, *image_size))[0].numel()


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
    >>> from sk_dim.encoders import ConvEncoder
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
    >>> from sk_dim.encoders import ResNetEncoder
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
    >>> from sk_dim.encoders import AlexNetEncoder
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
    >>> from sk_dim.encoders import FeedForward
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
    >>> from sk_dim.encoders import MLPEncoder
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


def _describe_output(output) -> str:
    if isinstance(output, tuple | list):
        return f"a {type(output).__name__} of " + ", ".join(map(describe, output))
    return describe(output)


class ModuleEncoder(nn.Module):
    """Adapt a user module to the encoder interface of sk_dim.

    The module receives the standardised inputs, images of shape
    (B, C, H, W) or rows of shape (B, F), and returns either a pair
    ``(local_map, global_vector)`` of shapes (B, C', H', W') and
    (B, n_components), or only the global vectors. Without a local map the
    input itself plays its part: the global term then scores Y against the
    whole input, and terms that need local features are refused. A module
    with its own ``features`` method and ``feature_sizes`` attribute (see
    :class:`ConvEncoder`) exposes its taps to ``transform`` as well.

    Parameters
    ----------
    module : torch.nn.Module
        The user's encoder.
    sample_shape : tuple of int
        Shape of one input sample, ``(C, H, W)`` or ``(F,)``.
    n_components : int
        Expected size of the global vector.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from sk_dim.encoders import ModuleEncoder
    >>> encoder = ModuleEncoder(nn.Linear(10, 4), (10,), n_components=4)
    >>> encoder.has_local_map, encoder.feature_sizes
    (False, {'global': 4})
    """

    def __init__(
        self, module: nn.Module, sample_shape: tuple[int, ...], n_components: int
    ):
        super().__init__()
        self.module = module
        try:
            output = _dry_run(module, "forward", sample_shape)
        except Exception as error:
            raise ValueError(
                f"The encoder module {type(module).__name__} failed on a batch of "
                f"shape {(2, *sample_shape)}: {type(error).__name__}: {error}"
            ) from error
        self.has_local_map = isinstance(output, tuple | list)
        if self.has_local_map:
            if len(output) != 2:
                raise ValueError(self._shape_error(output))
            local_map, global_vector = output
        else:
            local_map = self._input_map(torch.zeros(2, *sample_shape))
            global_vector = output
        for tensor, ndim in ((local_map, 4), (global_vector, 2)):
            if not isinstance(tensor, torch.Tensor) or tensor.ndim != ndim:
                raise ValueError(self._shape_error(output))
        if global_vector.shape[1] != n_components:
            raise ValueError(
                f"The encoder module returns global vectors of "
                f"{global_vector.shape[1]} values, but n_components="
                f"{n_components}; set n_components={global_vector.shape[1]}."
            )
        self.local_channels, *local_size = local_map.shape[1:]
        self.local_size = tuple(local_size)
        self.has_own_taps = hasattr(module, "features") and hasattr(
            module, "feature_sizes"
        )
        if self.has_own_taps:
            self.feature_sizes = dict(module.feature_sizes)
        elif self.has_local_map:
            self.feature_sizes = {"local": local_map[0].numel(), "global": n_components}
        else:
            self.feature_sizes = {"global": n_components}

    @staticmethod
    def _input_map(inputs: torch.Tensor) -> torch.Tensor:
        """The input as a map: images as they are, rows as (B, F, 1, 1)."""
        return inputs if inputs.ndim == 4 else inputs.flatten(1)[:, :, None, None]

    def _shape_error(self, output) -> str:
        return (
            f"The encoder module {type(self.module).__name__} must return "
            "(local_map, global_vector) of shapes (B, C, H, W) and "
            "(B, n_components), or global vectors of shape (B, n_components); "
            f"got {_describe_output(output)}."
        )

    def forward(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(local_map, global_vector)``; the input is the map without one."""
        output = self.module(inputs)
        if self.has_local_map:
            return tuple(output)
        return self._input_map(inputs), output

    def features(self, inputs: torch.Tensor) -> dict[str, torch.Tensor]:
        """The module's own taps, or ``"local"`` (with a map) and ``"global"``."""
        if self.has_own_taps:
            return self.module.features(inputs)
        local_map, global_vector = self(inputs)
        taps = {"global": global_vector}
        if self.has_local_map:
            taps["local"] = local_map
        return taps


#: Encoders by name: the ``encoder`` parameter of the estimators, and the
#: networks of each view of TwoViewInfoMax. Each class says whether it
#: ``takes_images`` (else rows) and ``has_local_map`` (else it returns only
#: its output); :func:`build_encoder` builds any of them from the shape of
#: one sample. A new encoder is one more entry.
ENCODERS: dict[str, type[nn.Module]] = {
    "conv": ConvEncoder,
    "resnet": ResNetEncoder,
    "alexnet": AlexNetEncoder,
    "mlp": MLPEncoder,
    "feedforward": FeedForward,
}

#: The names of the encoders that give a local map and a global vector.
MAP_ENCODERS = tuple(name for name, kind in ENCODERS.items() if kind.has_local_map)


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
        Size of the global vector (of the output, for "feedforward").
    **options
        Passed to the encoder's class, such as ``hidden_layer_sizes``.

    Returns
    -------
    torch.nn.Module

    Examples
    --------
    >>> from sk_dim.encoders import build_encoder
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
