import pickle

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from sk_dim import DeepInfoMaxTransformer
from sk_dim.nn.augmentations import RandomCrops, get_augmentation
from sk_dim.nn.photo import (
    LUMA,
    PhotoAugmentation,
    colour_transforms,
    random_resized_crop,
)


def test_full_crop_without_flip_is_the_identity():
    images = torch.randn(5, 3, 9, 7)
    crops = random_resized_crop(images, scale=(1.0, 1.0), ratio=(1.0, 1.0))
    torch.testing.assert_close(crops, images, atol=1e-5, rtol=0)


def test_full_crop_with_flip_mirrors_about_half_the_images():
    images = torch.randn(200, 1, 6, 6)
    crops = random_resized_crop(images, (1.0, 1.0), (1.0, 1.0), flip=True)
    same = (crops - images).abs().flatten(1).amax(1) < 1e-5
    mirrored = (crops - images.flip(3)).abs().flatten(1).amax(1) < 1e-5
    assert (same | mirrored).all()
    assert 60 < int(mirrored.sum()) < 140


def test_crops_cover_the_drawn_share_of_the_image():
    # each pixel holds its column: a crop of side s spans s of the columns
    columns = torch.arange(32.0).expand(32, 32)
    images = columns.expand(50, 1, 32, 32).clone()
    crops = random_resized_crop(images, scale=(0.25, 0.25), ratio=(1.0, 1.0))
    spans = crops.flatten(1).amax(1) - crops.flatten(1).amin(1)  # (B,)
    # a crop of half the side covers 16 columns: 15 between the outer centres
    torch.testing.assert_close(spans, torch.full((50,), 15.0), atol=0.6, rtol=0)
    lefts = crops[:, 0, 0, 0]
    assert lefts.min() < 4 and lefts.max() > 12  # at varying positions


def _reference_colour(image, b, c, s, angle, gray):
    """One image through brightness, contrast, saturation, hue and grayscale."""
    luma = torch.tensor(LUMA, dtype=torch.float64)
    x = image.double() * b
    x = c * x + (1 - c) * torch.einsum("c,chw->hw", luma, x).mean()
    gray_image = torch.einsum("c,chw->hw", luma, x)
    x = s * x + (1 - s) * gray_image
    rotation = Rotation.from_rotvec(np.full(3, 3**-0.5) * float(angle)).as_matrix()
    x = torch.einsum("oc,chw->ohw", torch.from_numpy(rotation), x)
    if gray:
        x = torch.einsum("c,chw->hw", luma, x).expand(3, -1, -1)
    return x


def test_colour_transforms_match_the_operations_one_after_the_other():
    torch.manual_seed(0)
    images = torch.rand(16, 3, 5, 5)
    settings = (0.4, 0.4, 0.4, 0.1, 0.5, 0.5)
    torch.manual_seed(1)
    matrix, contrast_weight, grayscale = colour_transforms(16, *settings)
    mean_gray = torch.einsum("c,bchw->b", torch.tensor(LUMA), images) / 25
    mixed = torch.einsum("boc,bchw->bohw", matrix, images)
    result = mixed + (contrast_weight * mean_gray)[:, None, None, None]
    # draw the same factors again, in colour_transforms' order
    torch.manual_seed(1)
    jitter = torch.rand(16) < 0.5
    factors = [torch.empty(16).uniform_(0.6, 1.4) for _ in range(3)]
    b, c, s = (torch.where(jitter, f, torch.ones(16)) for f in factors)
    angle = torch.empty(16).uniform_(-0.1, 0.1) * 2 * np.pi * jitter
    gray = torch.rand(16) < 0.5
    torch.testing.assert_close(grayscale, gray)
    assert 0 < int(gray.sum()) < 16 and 0 < int(jitter.sum()) < 16
    for index in range(16):
        expected = _reference_colour(
            images[index], b[index], c[index], s[index], angle[index], gray[index]
        )
        torch.testing.assert_close(result[index].double(), expected, atol=1e-5, rtol=0)


def test_photo_augmentation_keeps_the_range_and_draws_per_image():
    torch.manual_seed(0)
    images = torch.rand(64, 3, 16, 16) * 255
    augmented = PhotoAugmentation()(images)
    assert augmented.shape == images.shape
    assert augmented.min() >= images.min() and augmented.max() <= images.max()
    channels_equal = (augmented[:, 0] == augmented[:, 1]).flatten(1).all(1)
    assert 2 <= int(channels_equal.sum()) <= 30  # grayscale with probability 0.2


def test_photo_augmentation_of_grayscale_images_varies_brightness_only():
    torch.manual_seed(0)
    images = torch.rand(32, 1, 8, 8)
    augment = PhotoAugmentation((1.0, 1.0), (1.0, 1.0), flip=False)
    augmented = augment(images)
    assert augmented.shape == images.shape
    # brightness and contrast: an increasing affine map of each image's values
    order = images.flatten(1).argsort(1)
    sorted_values = augmented.flatten(1).gather(1, order)
    assert (sorted_values.diff(dim=1) >= -1e-6).all()


def test_photo_augmentation_is_reproducible_and_pickles():
    augment = PhotoAugmentation(crop_scale=(0.3, 1.0), hue=0.05)
    restored = pickle.loads(pickle.dumps(augment))
    images = torch.rand(4, 3, 12, 12)
    torch.manual_seed(3)
    expected = augment(images)
    torch.manual_seed(3)
    torch.testing.assert_close(restored(images), expected)
    assert repr(restored).startswith("PhotoAugmentation(crop_scale=(0.3, 1.0)")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"crop_scale": (0.0, 1.0)}, r"crop_scale must be a pair .* 0.0 < low"),
        ({"crop_scale": (0.8, 0.5)}, r"crop_scale .* got \(0.8, 0.5\)"),
        ({"crop_scale": (0.5, 1.5)}, "crop_scale"),
        ({"crop_scale": 0.5}, "crop_scale"),
        ({"crop_ratio": (-1.0, 1.0)}, "crop_ratio"),
        ({"brightness": 1.5}, r"brightness must be a number in \[0, 1.0\], got 1.5"),
        ({"contrast": -0.1}, "contrast"),
        ({"saturation": "high"}, "saturation"),
        ({"hue": 0.6}, r"hue must be a number in \[0, 0.5\]"),
        ({"jitter_probability": 2}, "jitter_probability"),
        ({"grayscale_probability": -1}, "grayscale_probability"),
        ({"flip": "yes"}, "flip must be True or False"),
    ],
)
def test_photo_augmentation_refuses_out_of_range_parameters(arguments, message):
    with pytest.raises(ValueError, match=message):
        PhotoAugmentation(**arguments)


def test_get_augmentation_by_name():
    assert isinstance(get_augmentation("photo", (32, 32)), PhotoAugmentation)
    assert isinstance(get_augmentation("crop", (32, 32)), RandomCrops)


def test_auto_parameters_resolve_from_the_data(small_images, digits):
    X, _ = digits
    settings = {"batch_size": 32, "max_epochs": 1, "random_state": 0}
    colour = DeepInfoMaxTransformer(**settings).fit(small_images)
    assert (colour.n_components_, colour.critic_width_) == (256, 128)
    assert (colour.mi_estimator_, colour.lr_schedule_) == ("infonce", "constant")
    assert isinstance(colour.augmentation_, PhotoAugmentation)
    assert colour.transform(small_images).shape == (100, 256)
    grayscale = DeepInfoMaxTransformer(image_shape=(8, 8), **settings).fit(X)
    assert (grayscale.n_components_, grayscale.mi_estimator_) == (64, "jsd")
    assert (grayscale.critic_width_, grayscale.lr_schedule_) == (512, "cosine")
    assert isinstance(grayscale.augmentation_, RandomCrops)
    rows = DeepInfoMaxTransformer(**settings).fit(X)
    assert (rows.n_components_, rows.augmentation_) == (64, None)
    chosen = DeepInfoMaxTransformer(
        n_components=8,
        mi_estimator="dv",
        critic_width=16,
        lr_schedule="cosine",
        **settings,
    ).fit(small_images)
    assert (chosen.n_components_, chosen.mi_estimator_) == (8, "dv")
    assert chosen.critic_width_ == 16
    assert chosen.lr_schedule_ == "cosine"


def test_a_photo_augmentation_with_parameters_trains_and_clones(small_images):
    from sklearn.base import clone

    views = PhotoAugmentation(crop_scale=(0.3, 0.9), hue=0.0)
    model = DeepInfoMaxTransformer(
        n_components=8, critic_width=16, batch_size=32, augmentation=views
    )
    fitted = clone(model).fit(small_images)
    assert fitted.augmentation_.crop_scale == (0.3, 0.9)
    assert fitted.augmentation_ is not views  # clone copied it
    assert np.isfinite(fitted.loss_curve_).all()
