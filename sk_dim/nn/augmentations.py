"""Image augmentations for training on two views of each image, and occlusion.

Each augmentation maps a batch of float images of shape (B, C, H, W) to a batch
of the same shape, drawing its random parameters independently for every image
from torch's random number generator (seeded by ``random_state`` during fit).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .photo import PhotoAugmentation

__all__ = [
    "AUGMENTATIONS",
    "PhotoAugmentation",
    "RandomCrops",
    "RandomOcclusion",
    "crop_padding",
    "get_augmentation",
    "random_colour_mix",
    "random_crop",
    "random_flip",
]

#: Names accepted by :func:`get_augmentation`.
AUGMENTATIONS = ("crop", "crop_flip", "crop_colour", "photo")


def random_crop(images: torch.Tensor, padding: int) -> torch.Tensor:
    """Crops of the original size at random offsets of the padded images.

    The images are padded by ``padding`` pixels on each side by repeating their
    border, so that each output is its image translated by up to ``padding``
    pixels in each direction.

    Parameters
    ----------
    images : torch.Tensor of shape (B, C, H, W)
        Floating-point images.
    padding : int
        Largest translation, in pixels.

    Returns
    -------
    torch.Tensor of shape (B, C, H, W)

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.augmentations import random_crop
    >>> random_crop(torch.zeros(5, 3, 28, 28), padding=3).shape
    torch.Size([5, 3, 28, 28])
    """
    batch, channels, height, width = images.shape
    padded = F.pad(images, (padding,) * 4, mode="replicate")  # (B, C, H+2p, W+2p)
    padded_width = padded.shape[3]
    offsets = torch.randint(0, 2 * padding + 1, (2, batch, 1), device=images.device)
    rows = offsets[0] + torch.arange(height, device=images.device)  # (B, H)
    cols = offsets[1] + torch.arange(width, device=images.device)  # (B, W)
    index = (rows[:, :, None] * padded_width + cols[:, None, :]).flatten(1)  # (B, HW)
    index = index[:, None].expand(-1, channels, -1)  # (B, C, HW)
    crops = padded.flatten(2).gather(2, index)  # (B, C, HW)
    return crops.reshape(batch, channels, height, width)


def random_flip(images: torch.Tensor) -> torch.Tensor:
    """Mirror each image left to right with probability 1/2.

    Parameters
    ----------
    images : torch.Tensor of shape (B, C, H, W)

    Returns
    -------
    torch.Tensor of shape (B, C, H, W)

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.augmentations import random_flip
    >>> random_flip(torch.zeros(5, 1, 8, 8)).shape
    torch.Size([5, 1, 8, 8])
    """
    flip = torch.rand(len(images), device=images.device) < 0.5  # (B,)
    return torch.where(flip[:, None, None, None], images.flip(3), images)


def random_colour_mix(images: torch.Tensor) -> torch.Tensor:
    """Replace each image's channels by random convex mixtures of them.

    Every output channel of an image is a mixture of its input channels with
    weights drawn from a flat Dirichlet distribution, one 3 x 3 (C x C) matrix
    per image. Values stay within the range of the input; shapes and edges
    survive while the colours of two views no longer match, so that Y cannot
    predict the other view from colour alone.

    Parameters
    ----------
    images : torch.Tensor of shape (B, C, H, W)

    Returns
    -------
    torch.Tensor of shape (B, C, H, W)

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.augmentations import random_colour_mix
    >>> random_colour_mix(torch.ones(2, 3, 4, 4)).allclose(torch.ones(2, 3, 4, 4))
    True
    """
    batch, channels = images.shape[:2]
    shape = (batch, channels, channels)
    exponential = torch.empty(shape, device=images.device).exponential_()
    weights = exponential / exponential.sum(dim=2, keepdim=True)  # (B, C_out, C_in)
    return torch.einsum("boc,bchw->bohw", weights, images)


def crop_padding(height: int, width: int) -> int:
    """Largest translation of the random crops: an eighth of the smaller side.

    Parameters
    ----------
    height, width : int
        Size of the images in pixels.

    Returns
    -------
    int
        3 pixels for 28 pixel images, 4 for 32 and 8 for 64 (at least 1).

    Examples
    --------
    >>> from sk_dim.nn.augmentations import crop_padding
    >>> crop_padding(28, 28), crop_padding(64, 64)
    (3, 8)
    """
    return max(1, min(height, width) // 8)


class RandomCrops:
    """Random crops, optionally followed by random flips and colour mixing.

    Parameters
    ----------
    padding : int
        Largest translation of the crops, in pixels.
    flip : bool, default=False
        Also mirror half of the images left to right.
    colour : bool, default=False
        Also mix the channels of each image at random
        (:func:`random_colour_mix`).

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.augmentations import RandomCrops
    >>> RandomCrops(padding=4, flip=True)(torch.zeros(4, 3, 32, 32)).shape
    torch.Size([4, 3, 32, 32])
    """

    def __init__(self, padding: int, flip: bool = False, colour: bool = False):
        self.padding = padding
        self.flip = flip
        self.colour = colour

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """Augment a batch of shape (B, C, H, W)."""
        images = random_crop(images, self.padding)
        if self.flip:
            images = random_flip(images)
        return random_colour_mix(images) if self.colour else images

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(padding={self.padding}, flip={self.flip}, "
            f"colour={self.colour})"
        )


def get_augmentation(
    name: str, image_size: tuple[int, int]
) -> RandomCrops | PhotoAugmentation:
    """Augmentation of images of ``image_size`` (height, width) by name.

    Parameters
    ----------
    name : {"crop", "crop_flip", "crop_colour", "photo"}
        "crop": random crops (translations of up to :func:`crop_padding`
        pixels); "crop_flip": the same followed by random horizontal flips;
        "crop_colour": crops followed by random colour mixing; "photo":
        :class:`~sk_dim.nn.photo.PhotoAugmentation` with its defaults (random
        resized crops, flips, colour jitter and grayscale).
    image_size : tuple of int
        ``(height, width)`` of the images.

    Returns
    -------
    RandomCrops or PhotoAugmentation

    Examples
    --------
    >>> from sk_dim.nn.augmentations import get_augmentation
    >>> get_augmentation("crop_flip", (28, 28))
    RandomCrops(padding=3, flip=True, colour=False)
    """
    if name not in AUGMENTATIONS:
        raise ValueError(
            f"Unknown augmentation {name!r}; expected one of {list(AUGMENTATIONS)}."
        )
    if name == "photo":
        return PhotoAugmentation()
    return RandomCrops(
        crop_padding(*image_size),
        flip=name == "crop_flip",
        colour=name == "crop_colour",
    )


class RandomOcclusion:
    """Fill one square at a random place of each image with a constant.

    Deep InfoMax's occlusion computes Y from images occluded this way and
    the local features from the full images, so that Y must carry what the
    unoccluded part says about the hidden one.

    Parameters
    ----------
    size : int
        Side of the square, in pixels.
    fill : float
        Value of the occluded pixels (the mean pixel, so that the square is
        zero after standardisation).

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.augmentations import RandomOcclusion
    >>> occluded = RandomOcclusion(size=4, fill=0.0)(torch.ones(2, 1, 8, 8))
    >>> (occluded == 0).sum(dim=(1, 2, 3)).tolist()
    [16, 16]
    """

    def __init__(self, size: int, fill: float):
        self.size = size
        self.fill = fill

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """Occlude a batch of shape (B, C, H, W); returns float images."""
        batch, _, height, width = images.shape
        device = images.device
        top = torch.randint(0, height - self.size + 1, (batch, 1), device=device)
        left = torch.randint(0, width - self.size + 1, (batch, 1), device=device)
        rows = torch.arange(height, device=device)  # (H,)
        cols = torch.arange(width, device=device)  # (W,)
        in_rows = (rows >= top) & (rows < top + self.size)  # (B, H)
        in_cols = (cols >= left) & (cols < left + self.size)  # (B, W)
        mask = in_rows[:, None, :, None] & in_cols[:, None, None, :]  # (B, 1, H, W)
        return images.float().masked_fill(mask, self.fill)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size}, fill={self.fill})"
