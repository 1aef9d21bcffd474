"""Augmentations for photographs: random resized crops, colour jitter, grayscale.

The views of SimCLR (Chen et al. 2020) and AMDIM (Bachman et al. 2019), drawn
for every image of a batch at once on the batch's device:

- :func:`random_resized_crop`: a crop of random area and aspect ratio,
  optionally mirrored, resampled to the original size; one affine sampling
  grid per image (``torch.nn.functional.affine_grid``);
- :func:`colour_transforms`: brightness, contrast, saturation and hue
  changes, and grayscale conversion, as one affine colour map per image
  (a 3 x 3 matrix and an offset), so that the whole colour step is a single
  batched matrix product whatever the number of operations.

Brightness, saturation, grayscale and the hue rotation about the gray axis
are linear in RGB, and contrast blends each image with its mean gray level,
so their composition is exact. :class:`PhotoAugmentation` chains both steps.
"""

from __future__ import annotations

import math
from numbers import Real

import torch
import torch.nn.functional as F

__all__ = ["PhotoAugmentation", "colour_transforms", "random_resized_crop"]

#: Weights of R, G and B in the gray level (ITU-R BT.601 luma).
LUMA = (0.299, 0.587, 0.114)


def _uniform(low: float, high: float, size: int, device) -> torch.Tensor:
    return torch.empty(size, device=device).uniform_(low, high)


def random_resized_crop(
    images: torch.Tensor,
    scale: tuple[float, float],
    ratio: tuple[float, float],
    flip: bool = False,
) -> torch.Tensor:
    """Random crops of random area and aspect ratio, resized to the image size.

    Each crop covers a share of the image area drawn uniformly from ``scale``
    with an aspect ratio (width / height) drawn log-uniformly from ``ratio``,
    both sides clipped to the image, at a uniform random position inside it;
    it is resampled bilinearly to the input size.

    Parameters
    ----------
    images : torch.Tensor of shape (B, C, H, W)
        Floating-point images.
    scale : tuple of float
        Range of the crop's share of the image area, within (0, 1].
    ratio : tuple of float
        Range of the crop's aspect ratio, positive.
    flip : bool, default=False
        Also mirror half of the crops left to right.

    Returns
    -------
    torch.Tensor of shape (B, C, H, W)

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.photo import random_resized_crop
    >>> random_resized_crop(torch.zeros(4, 3, 32, 32), (0.2, 1.0), (0.75, 1.33)).shape
    torch.Size([4, 3, 32, 32])
    """
    batch, device = len(images), images.device
    area = _uniform(*scale, batch, device)  # (B,)
    log_ratio = _uniform(math.log(ratio[0]), math.log(ratio[1]), batch, device)
    aspect = log_ratio.exp()
    # half-widths in the grid's coordinates, where the image spans [-1, 1]
    width = (area * aspect).sqrt().clamp(max=1.0)  # (B,)
    height = (area / aspect).sqrt().clamp(max=1.0)  # (B,)
    centre_x = (2 * torch.rand(batch, device=device) - 1) * (1 - width)
    centre_y = (2 * torch.rand(batch, device=device) - 1) * (1 - height)
    if flip:
        width = torch.where(torch.rand(batch, device=device) < 0.5, -width, width)
    theta = torch.zeros(batch, 2, 3, device=device)
    theta[:, 0, 0], theta[:, 0, 2] = width, centre_x
    theta[:, 1, 1], theta[:, 1, 2] = height, centre_y
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)  # (B,H,W,2)
    return F.grid_sample(
        images, grid, mode="bilinear", padding_mode="border", align_corners=False
    )


def _hue_rotations(angles: torch.Tensor) -> torch.Tensor:
    """Rotations of RGB space about the gray axis by ``angles`` (B,): (B, 3, 3)."""
    axis = torch.full((3,), 3**-0.5, device=angles.device)
    cross = torch.tensor(
        [[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]], device=angles.device
    ) * (3**-0.5)  # [axis]_x
    cos, sin = angles.cos()[:, None, None], angles.sin()[:, None, None]
    eye = torch.eye(3, device=angles.device)
    return cos * eye + sin * cross + (1 - cos) * torch.outer(axis, axis)


def colour_transforms(
    batch: int,
    brightness: float,
    contrast: float,
    saturation: float,
    hue: float,
    jitter_probability: float,
    grayscale_probability: float,
    device=None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Random affine colour maps of SimCLR's colour jitter and grayscale.

    With probability ``jitter_probability`` an image has its brightness
    scaled by a factor in ``[1 - brightness, 1 + brightness]``, then its
    contrast (blend with its mean gray level), then its saturation (blend
    with its gray image) by factors drawn likewise, then its hue rotated by
    up to ``hue`` of a full turn; independently, with probability
    ``grayscale_probability``, it is turned to gray.

    Parameters
    ----------
    batch : int
        Number of images.
    brightness, contrast, saturation : float
        Largest relative changes, in [0, 1].
    hue : float
        Largest hue rotation as a share of a full turn, in [0, 0.5].
    jitter_probability, grayscale_probability : float
        Probabilities of the jitter and of the grayscale conversion.
    device : torch.device, default=None

    Returns
    -------
    matrix : torch.Tensor of shape (B, 3, 3)
        Linear part, applied to each pixel's (R, G, B).
    contrast_weight : torch.Tensor of shape (B,)
        Weight of the image's mean gray level, ``(1 - c) b``, in the offset
        ``contrast_weight * mean_gray`` added to every channel.
    grayscale : torch.Tensor of shape (B,)
        Whether each image is turned to gray (already in ``matrix``).

    Examples
    --------
    >>> from sk_dim.nn.photo import colour_transforms
    >>> matrix, _, _ = colour_transforms(5, 0.4, 0.4, 0.4, 0.1, 0.8, 0.2)
    >>> matrix.shape
    torch.Size([5, 3, 3])
    """
    jitter = torch.rand(batch, device=device) < jitter_probability  # (B,)

    def factor(strength: float) -> torch.Tensor:
        value = _uniform(1 - strength, 1 + strength, batch, device)
        return torch.where(jitter, value, torch.ones_like(value))

    b, c, s = factor(brightness), factor(contrast), factor(saturation)
    angle = _uniform(-hue, hue, batch, device) * (2 * math.pi) * jitter
    luma = torch.tensor(LUMA, device=device)
    eye = torch.eye(3, device=device)
    to_gray = torch.ones(3, 1, device=device) * luma  # (3, 3): every row is luma
    saturate = s[:, None, None] * eye + (1 - s)[:, None, None] * to_gray
    matrix = _hue_rotations(angle) @ saturate * (b * c)[:, None, None]  # (B, 3, 3)
    grayscale = torch.rand(batch, device=device) < grayscale_probability
    matrix = torch.where(grayscale[:, None, None], to_gray @ matrix, matrix)
    return matrix, (1 - c) * b, grayscale


def _range(name: str, value, low: float, high: float) -> tuple[float, float]:
    valid = (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(bound, Real) for bound in value)
        and low < value[0] <= value[1] <= high
    )
    if not valid:
        raise ValueError(
            f"{name} must be a pair (low, high) with {low} < low <= high <= "
            f"{high}, got {value!r}."
        )
    return float(value[0]), float(value[1])


def _bounded(name: str, value, high: float) -> float:
    if not isinstance(value, Real) or not 0 <= value <= high:
        raise ValueError(f"{name} must be a number in [0, {high}], got {value!r}.")
    return float(value)


class PhotoAugmentation:
    """Random resized crop, flip, colour jitter and grayscale of each image.

    The augmentation of SimCLR for natural colour images: the two views of
    an image show different parts of it at different scales and in
    different colours, so that the global vector must describe what is in
    the image rather than where or in which colours. Every parameter is
    drawn independently for every image, on the device of the batch.

    The colour steps act on the batch's values rescaled to [0, 1] by its
    smallest and largest value, and the result is mapped back and clipped
    to that range; saturation, hue and grayscale need 3 channels and are
    skipped for other images, whose brightness and contrast still vary.

    Parameters
    ----------
    crop_scale : tuple of float, default=(0.5, 1.0)
        Range of each crop's share of the image area, within (0, 1]. SimCLR
        crops down to 8% of the area; crops of at least half the image
        gave better representations within minutes of training on CIFAR-10
        (see the documentation's benchmarks), and longer training may
        profit from smaller ones.
    crop_ratio : tuple of float, default=(3/4, 4/3)
        Range of each crop's aspect ratio (width / height).
    flip : bool, default=True
        Mirror half of the crops left to right.
    brightness, contrast, saturation : float in [0, 1], default=0.4
        Largest relative changes of the colour jitter.
    hue : float in [0, 0.5], default=0.5
        Largest hue rotation, as a share of a full turn. SimCLR rotates by
        up to a tenth of a turn; a rotation drawn from the whole circle
        keeps the two views of an image from sharing its hues, so that Y
        cannot match views by colour (on coloured digits it lifted the
        probe on Y from 46 to 69% in a short fit).
    jitter_probability : float in [0, 1], default=0.8
        Probability that an image's colours are jittered.
    grayscale_probability : float in [0, 1], default=0.2
        Probability that an image is turned to gray.

    See Also
    --------
    sk_dim.nn.augmentations.RandomCrops : Translations for digits and text.

    References
    ----------
    Ting Chen, Simon Kornblith, Mohammad Norouzi and Geoffrey Hinton. "A
    Simple Framework for Contrastive Learning of Visual Representations".
    ICML 2020.

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.photo import PhotoAugmentation
    >>> augment = PhotoAugmentation(crop_scale=(0.3, 1.0), hue=0.05)
    >>> augment(torch.rand(8, 3, 32, 32)).shape
    torch.Size([8, 3, 32, 32])
    """

    def __init__(
        self,
        crop_scale: tuple[float, float] = (0.5, 1.0),
        crop_ratio: tuple[float, float] = (3 / 4, 4 / 3),
        flip: bool = True,
        brightness: float = 0.4,
        contrast: float = 0.4,
        saturation: float = 0.4,
        hue: float = 0.5,
        jitter_probability: float = 0.8,
        grayscale_probability: float = 0.2,
    ):
        self.crop_scale = _range("crop_scale", crop_scale, 0.0, 1.0)
        self.crop_ratio = _range("crop_ratio", crop_ratio, 0.0, math.inf)
        if not isinstance(flip, bool):
            raise ValueError(f"flip must be True or False, got {flip!r}.")
        self.flip = flip
        self.brightness = _bounded("brightness", brightness, 1.0)
        self.contrast = _bounded("contrast", contrast, 1.0)
        self.saturation = _bounded("saturation", saturation, 1.0)
        self.hue = _bounded("hue", hue, 0.5)
        self.jitter_probability = _bounded(
            "jitter_probability", jitter_probability, 1.0
        )
        self.grayscale_probability = _bounded(
            "grayscale_probability", grayscale_probability, 1.0
        )

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """Augment a float batch of shape (B, C, H, W)."""
        images = random_resized_crop(
            images, self.crop_scale, self.crop_ratio, self.flip
        )
        return self._colour(images)

    def _colour(self, images: torch.Tensor) -> torch.Tensor:
        batch, channels = images.shape[:2]
        colour = channels == 3
        matrix, contrast_weight, _ = colour_transforms(
            batch,
            self.brightness,
            self.contrast,
            self.saturation if colour else 0.0,
            self.hue if colour else 0.0,
            self.jitter_probability,
            self.grayscale_probability if colour else 0.0,
            device=images.device,
        )
        low, high = images.amin(), images.amax()
        unit = (images - low) / (high - low).clamp(min=1e-12)  # (B, C, H, W)
        if colour:
            luma = torch.tensor(LUMA, device=images.device)
            gray = torch.einsum("c,bchw->bhw", luma, unit)  # (B, H, W)
            mixed = torch.einsum("boc,bchw->bohw", matrix, unit)
        else:  # brightness and contrast only: the matrix is (b c) I
            gray = unit.mean(dim=1)
            mixed = unit * matrix[:, 0, 0, None, None, None]
        offset = contrast_weight * gray.mean(dim=(1, 2))  # (B,)
        unit = (mixed + offset[:, None, None, None]).clamp(0.0, 1.0)
        return unit * (high - low) + low

    def __repr__(self) -> str:
        names = (
            "crop_scale",
            "crop_ratio",
            "flip",
            "brightness",
            "contrast",
            "saturation",
            "hue",
            "jitter_probability",
            "grayscale_probability",
        )
        arguments = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{type(self).__name__}({arguments})"
