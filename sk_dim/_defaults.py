"""What the "auto" parameters of DeepInfoMaxTransformer stand for, by data.

The encoder's "auto", a convolutional encoder for images and an MLP for
rows, is MutualInformationMachine's too.

Colour images (3 channels) get the choices measured best per minute of
training on CIFAR-10 (docs/benchmarks.md): SimCLR's views, InfoNCE, a Y of
256 values, critics of 128 hidden units and a constant learning rate. Other
images (grayscale digits, text) and feature rows keep the choices measured on
MNIST: two cropped views (none for rows), JSD, 64 values, critics of 512
hidden units and the cosine schedule.
"""

from __future__ import annotations

from ._input.layout import InputLayout

#: The "auto" values for colour images.
COLOUR_IMAGES = {
    "n_components": 256,
    "mi_estimator": "infonce",
    "critic_width": 128,
    "lr_schedule": "constant",
    "augmentation": "photo",
    "encoder": "conv",
}
#: The "auto" values for other images.
OTHER_IMAGES = {
    "n_components": 64,
    "mi_estimator": "jsd",
    "critic_width": 512,
    "lr_schedule": "cosine",
    "augmentation": "crop",
    "encoder": "conv",
}
#: The "auto" values for feature rows.
ROWS = {**OTHER_IMAGES, "augmentation": None, "encoder": "mlp"}


def auto_values(layout: InputLayout) -> dict:
    """The value of each "auto" parameter for data of ``layout``."""
    if layout.image_shape is None:
        return ROWS
    return COLOUR_IMAGES if layout.image_shape[0] == 3 else OTHER_IMAGES


def resolve_auto(params: dict, layout: InputLayout) -> dict:
    """``params`` with every "auto" value of :func:`auto_values` replaced."""
    return {
        name: auto_values(layout)[name]
        if isinstance(value, str) and value == "auto" and name in COLOUR_IMAGES
        else value
        for name, value in params.items()
    }
