"""SimCLR's augmentation built from kornia, to compare with sk_dim's own.

kornia is an optional dependency of the benchmarks only (``pip install
kornia``); :class:`KorniaPhotoAugmentation` is a picklable callable that
``DeepInfoMaxTransformer(augmentation=...)`` accepts.
"""

from __future__ import annotations

import torch


class KorniaPhotoAugmentation:
    """kornia's random resized crop, flip, colour jitter and grayscale.

    The parameters of :class:`sk_dim.nn.photo.PhotoAugmentation`'s defaults.
    kornia's colour operations read values in [0, 1]: the batch is rescaled
    by its range, as sk_dim's augmentation does, and mapped back.
    """

    def __init__(self, image_size: tuple[int, int]):
        import kornia.augmentation as K

        self.pipeline = K.AugmentationSequential(
            K.RandomResizedCrop(image_size, scale=(0.5, 1.0)),
            K.RandomHorizontalFlip(),
            K.ColorJitter(0.4, 0.4, 0.4, 0.5, p=0.8),
            K.RandomGrayscale(p=0.2),
        )

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        low, high = images.amin(), images.amax()
        unit = (images - low) / (high - low).clamp(min=1e-12)
        return self.pipeline(unit) * (high - low) + low
