"""Bad input gives a clear error and leaves a fitted model as it was."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError


@pytest.fixture(scope="module")
def rows():
    return np.random.default_rng(0).normal(size=(80, 10))


def test_nan_and_inf(rows, tiny):
    for value in (np.nan, np.inf):
        bad = rows.copy()
        bad[3, 4] = value
        with pytest.raises(ValueError, match="Input X contains (NaN|infinity)"):
            tiny().fit(bad)


def test_sparse_is_refused(rows, tiny):
    with pytest.raises(TypeError, match="[Ss]parse"):
        tiny().fit(sp.csr_matrix(rows))


def test_complex_object_and_strings(rows, tiny):
    with pytest.raises(ValueError, match="[Cc]omplex"):
        tiny().fit(rows + 1j)
    with pytest.raises(ValueError, match="could not convert|dtype"):
        tiny().fit(np.array([["a", "b"], ["c", "d"], ["e", "f"]], dtype=object))


def test_numeric_object_and_integer_dtypes_are_accepted(rows, tiny):
    tiny().fit(rows.astype(object))
    tiny().fit((rows * 10).astype(np.int64))
    tiny().fit(rows > 0)


def test_too_few_samples(rows, tiny):
    with pytest.raises(ValueError, match="1 sample"):
        tiny(batch_size=2).fit(rows[:1])
    with pytest.raises(ValueError, match="0 sample"):
        tiny().fit(rows[:0])


def test_a_batch_larger_than_the_data_is_clipped_with_a_warning(rows, tiny):
    with pytest.warns(UserWarning, match="batch_size=128 is larger than the 80 "):
        model = tiny(batch_size=128).fit(rows)
    assert (model.batch_size, model.batch_size_) == (128, 80)
    assert len(model.net_.history[-1]["batches"]) == 1  # one step of all 80
    with pytest.warns(UserWarning, match="clipped to 10"):
        model.partial_fit(rows[:10])
    assert model.batch_size_ == 10 and model.n_iter_ == 2


def test_values_beyond_float32_are_refused_in_every_method(rows, tiny):
    huge = rows * 1e40  # finite in float64, inf in float32
    with pytest.raises(
        ValueError,
        match=r"beyond the float32 range: its largest magnitude is \d\.\de\+40",
    ):
        tiny().fit(huge)
    model = tiny().fit(rows)
    one_row = rows.copy()
    one_row[3, 2] = 1e39
    for method in (model.transform, model.score, model.partial_fit):
        with pytest.raises(ValueError, match="X holds values beyond the float32"):
            method(one_row)
    assert model.n_iter_ == 1
    tiny().fit(rows.astype(np.float32) * 1e30)  # large, but float32 holds it


def test_bools_are_refused_for_numbers(rows, tiny):
    with pytest.raises(InvalidParameterError, match="'n_components' .* not a bool"):
        tiny(n_components=True).fit(rows)
    with pytest.raises(InvalidParameterError, match="'lr' .* not a bool"):
        tiny(lr=True).fit(rows)


def test_rows_given_to_a_model_of_images_name_both_shapes(tiny):
    images = np.random.default_rng(0).normal(size=(40, 8, 8))
    model = tiny().fit(images)
    with pytest.raises(ValueError, match=r"samples of shape \(64,\).*\(8, 8\)"):
        model.transform(images.reshape(40, 64))


def test_images_of_another_size_name_both_shapes_in_every_method(tiny):
    images = np.random.default_rng(0).normal(size=(40, 8, 8))
    model = tiny().fit(images)
    larger = np.random.default_rng(1).normal(size=(40, 10, 10))
    shapes = r"samples of shape \(10, 10\), but .* samples of shape \(8, 8\)"
    for method in (model.transform, model.partial_fit, model.score):
        with pytest.raises(ValueError, match=shapes):
            method(larger)
    assert model.n_iter_ == 1


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_is_a_clear_error(rows, tiny, tmp_path):
    with pytest.raises(ValueError, match="device='cuda' names a CUDA device, but"):
        tiny(device="cuda").fit(rows)
    folder = tiny().fit(rows).save(tmp_path / "model")
    with pytest.raises(ValueError, match="device='cuda:1' names a CUDA device"):
        type(tiny()).load(folder, device="cuda:1")


def test_wrong_image_shape(rows, tiny):
    with pytest.raises(ValueError, match=r"image_shape=\(1, 3, 3\) needs 9 features"):
        tiny(image_shape=(1, 3, 3)).fit(rows)
    with pytest.raises(ValueError, match="image_shape must be a tuple of positive"):
        tiny(image_shape=(0, 10)).fit(rows)
    images = np.zeros((20, 1, 16, 16))
    with pytest.raises(ValueError, match="image_shape is only used for 2-D X"):
        tiny(image_shape=(1, 16, 16)).fit(images)


def test_image_too_small_for_the_encoder(tiny):
    images = np.random.default_rng(0).normal(size=(40, 1, 4, 4))
    with pytest.raises(ValueError, match="at least 8x8 pixels, got 4x4"):
        tiny().fit(images)


def test_too_many_dimensions(tiny):
    with pytest.raises(ValueError, match="got 5 dimensions"):
        tiny().fit(np.zeros((40, 1, 8, 8, 1)))


def test_transform_before_fit(rows, tiny):
    with pytest.raises(NotFittedError):
        tiny().transform(rows)
    with pytest.raises(NotFittedError):
        tiny().score(rows)


def test_feature_count_changed_keeps_model(rows, tiny):
    dim = tiny().fit(rows)
    before = dim.transform(rows)
    with pytest.raises(ValueError, match="X has 9 features"):
        dim.transform(rows[:, :9])
    with pytest.raises(ValueError, match="NaN"):
        dim.transform(np.full_like(rows, np.nan))
    np.testing.assert_array_equal(dim.transform(rows), before)


def test_image_size_changed(tiny):
    rng = np.random.default_rng(0)
    dim = tiny().fit(rng.normal(size=(40, 1, 16, 16)))
    with pytest.raises(ValueError, match=r"shape \(1, 12, 12\).*\(1, 16, 16\)"):
        dim.transform(rng.normal(size=(5, 1, 12, 12)))


def test_score_needs_two_samples(rows, tiny):
    dim = tiny().fit(rows)
    with pytest.raises(ValueError, match="at least 2 samples"):
        dim.score(rows[:1])
    assert dim.transform(rows[:1]).shape == (1, 8)


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("n_components", 0),
        ("alpha", -1.0),
        ("gamma", -0.1),
        ("mi_estimator", "mine"),
        ("prior", "laplace"),
        ("encoder", "vgg"),
        ("channels", "middle"),
        ("augmentation", "rotate"),
        ("critic", "mlp"),
        ("lr", 0.0),
        ("batch_size", 1),
        ("max_epochs", 0),
        ("image_shape", "28x28"),
    ],
)
def test_invalid_parameters_are_named(rows, tiny, param, value):
    with pytest.raises(InvalidParameterError, match=f"'{param}' parameter"):
        tiny(**{param: value}).fit(rows)


def test_no_mutual_information_term(rows, tiny):
    with pytest.raises(ValueError, match="alpha .* beta .* must be positive"):
        tiny(alpha=0.0, beta=0.0).fit(rows)


def test_unknown_device(rows, tiny):
    with pytest.raises(ValueError, match="device must be 'auto' or a torch device"):
        tiny(device="gpu-please").fit(rows)


@pytest.mark.parametrize(
    ("param", "value", "listed"),
    [
        ("mi_estimator", "mine", "'infonce'"),
        ("critic", "mlp", "'encode_and_dot'"),
        ("encoder", "vgg", "'resnet'"),
    ],
)
def test_unknown_names_list_the_valid_ones(rows, tiny, param, value, listed):
    with pytest.raises(InvalidParameterError, match=listed):
        tiny(**{param: value}).fit(rows)


class WrongScores(torch.nn.Module):
    """A critic that returns (B, B) scores instead of (B, B, L)."""

    def forward(self, local_features, global_vectors):
        return global_vectors @ global_vectors.T


def test_a_user_critic_of_the_wrong_output_shape_is_refused(rows, tiny):
    with pytest.raises(ValueError, match=r"critic must return scores of shape"):
        tiny(critic=WrongScores(), alpha=0.0).fit(rows)
