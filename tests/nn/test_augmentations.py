import pickle

import pytest
import torch
import torch.nn.functional as F

from sk_dim.nn.augmentations import (
    RandomCrops,
    crop_padding,
    get_augmentation,
    random_colour_mix,
    random_crop,
    random_flip,
)


def test_random_crop_matches_a_loop_over_images():
    images = torch.randn(6, 2, 9, 7)
    padding = 2
    torch.manual_seed(0)
    crops = random_crop(images, padding)
    torch.manual_seed(0)
    offsets = torch.randint(0, 2 * padding + 1, (2, len(images), 1))
    padded = F.pad(images, (padding,) * 4, mode="replicate")
    for index, image in enumerate(padded):
        top, left = int(offsets[0, index]), int(offsets[1, index])
        expected = image[:, top : top + 9, left : left + 7]
        torch.testing.assert_close(crops[index], expected)


def test_random_crop_without_padding_is_the_identity():
    images = torch.randn(4, 3, 8, 8)
    torch.testing.assert_close(random_crop(images, 0), images)


def test_random_crops_translate_by_varying_amounts():
    images = torch.zeros(200, 1, 28, 28)
    images[:, :, 14, 14] = 1.0
    crops = random_crop(images, 3)
    positions = crops.flatten(1).argmax(1)
    rows, cols = positions // 28, positions % 28
    assert set(rows.tolist()) == set(range(11, 18))
    assert set(cols.tolist()) == set(range(11, 18))


def test_random_flip_mirrors_about_half():
    images = torch.randn(200, 1, 5, 5)
    flipped = random_flip(images)
    same = (flipped == images).flatten(1).all(1)
    mirrored = (flipped == images.flip(3)).flatten(1).all(1)
    assert (same | mirrored).all()
    assert 50 < int(mirrored.sum()) < 150


@pytest.mark.parametrize(("size", "padding"), [(5, 1), (16, 2), (28, 3), (32, 4)])
def test_crop_padding_is_an_eighth_of_the_side(size, padding):
    assert crop_padding(size, size + 10) == padding


def test_get_augmentation_by_name_and_pickle():
    augment = get_augmentation("crop_flip", (32, 32))
    assert (augment.padding, augment.flip) == (4, True)
    restored = pickle.loads(pickle.dumps(augment))
    images = torch.randn(3, 3, 32, 32)
    torch.manual_seed(1)
    expected = augment(images)
    torch.manual_seed(1)
    torch.testing.assert_close(restored(images), expected)
    assert isinstance(get_augmentation("crop", (28, 28)), RandomCrops)


def test_unknown_augmentation_lists_the_valid_names():
    with pytest.raises(ValueError, match=r"'rotate'.*\['crop', 'crop_flip', 'crop_c"):
        get_augmentation("rotate", (28, 28))


def test_random_colour_mix_recolours_two_colour_images_and_keeps_their_shape():
    torch.manual_seed(0)
    ink = (torch.rand(4, 1, 6, 6) > 0.5).float()  # the shape of each image
    foreground, background = torch.rand(2, 4, 3, 1, 1) * 255
    images = ink * foreground + (1 - ink) * background
    mixed = random_colour_mix(images)
    for image, mask, original in zip(mixed, ink, images, strict=True):
        for channel in image:  # still two values, on the same pixels
            assert channel[mask[0] == 1].unique().numel() == 1
            assert channel[mask[0] == 0].unique().numel() == 1
        low = original.amin(dim=0).min()
        high = original.amax(dim=0).max()
        assert low - 1e-3 <= image.min() and image.max() <= high + 1e-3
    assert not torch.allclose(mixed, images)
    assert not torch.allclose(random_colour_mix(images), mixed)  # new draws
