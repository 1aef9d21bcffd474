import logging
import pickle

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline

from sk_dim import DeepInfoMaxTransformer
from sk_dim.nn.augmentations import RandomCrops
from sk_dim.nn.critics import CRITICS, BilinearCritic, ConcatCritic
from sk_dim.nn.encoders import ConvEncoder
from sk_dim.nn.mi_estimators import DV, MI_ESTIMATORS
from sk_dim.nn.photo import PhotoAugmentation

from .conftest import ks_to_uniform


def test_rows_fit_transform(digits, tiny):
    X, _ = digits
    dim = tiny(max_epochs=2)
    Y = dim.fit_transform(X)
    assert Y.shape == (len(X), 8)
    assert Y.dtype == np.float32
    assert np.isfinite(Y).all()
    assert dim.n_iter_ == 2
    assert len(dim.loss_curve_) == 2
    assert dim.n_features_in_ == 64
    assert dim.input_shape_ == (64,)
    assert list(dim.get_feature_names_out()[:2]) == [
        "deepinfomaxtransformer0",
        "deepinfomaxtransformer1",
    ]


def test_loss_decreases(digits, tiny):
    X, _ = digits
    dim = tiny(max_epochs=4, gamma=0.0).fit(X)
    assert dim.loss_curve_[-1] < dim.loss_curve_[0]


@pytest.mark.parametrize(
    ("layout", "params"),
    [
        (lambda X: X, {}),
        (lambda X: X.transpose(0, 2, 3, 1), {}),
        (lambda X: X.transpose(0, 2, 3, 1), {"channels": "last"}),
        (lambda X: X.reshape(len(X), -1), {"image_shape": (3, 16, 16)}),
    ],
    ids=["nchw", "nhwc-detected", "nhwc-hint", "rows-with-image_shape"],
)
def test_image_layouts_give_the_same_model(small_images, tiny, layout, params):
    reference = tiny().fit(small_images).transform(small_images)
    X = layout(small_images)
    dim = tiny(**params).fit(X)
    np.testing.assert_allclose(dim.transform(X), reference, rtol=1e-5, atol=1e-5)


def test_grayscale_3d_and_image_shape_hw(small_images, tiny):
    gray = small_images[:, 0]
    reference = tiny().fit(gray).transform(gray)
    rows = gray.reshape(len(gray), -1)
    dim = tiny(image_shape=(16, 16)).fit(rows)
    np.testing.assert_allclose(dim.transform(rows), reference, rtol=1e-5, atol=1e-5)
    assert isinstance(dim.net_.module_.encoder.encoder, ConvEncoder)


def test_uint8_images_are_scaled_to_unit_interval(small_images, tiny):
    standardize = tiny().fit(small_images).net_.module_.encoder.standardize
    scaled = standardize(torch.from_numpy(small_images))
    assert scaled.min() == -1 and scaled.max() == 1


def test_float_images_of_any_scale_give_the_same_model(small_images, tiny):
    as_unit, as_bytes = small_images / 255.0, small_images * 1.0
    unit_model, bytes_model = tiny().fit(as_unit), tiny().fit(as_bytes)
    # the encoders see the same inputs, up to the float32 rounding of each scale
    np.testing.assert_allclose(
        unit_model.net_.module_.encoder.standardize(torch.from_numpy(as_unit)),
        bytes_model.net_.module_.encoder.standardize(torch.from_numpy(as_bytes)),
        rtol=1e-5,
        atol=1e-5,
    )
    # training amplifies that rounding by a processor-dependent amount (up to
    # a few percent of the outputs' range after these four steps)
    Y_unit, Y_bytes = unit_model.transform(as_unit), bytes_model.transform(as_bytes)
    assert np.corrcoef(Y_unit.ravel(), Y_bytes.ravel())[0, 1] > 0.99


def test_encoder_choice(small_images, digits, tiny):
    X, _ = digits
    assert type(tiny().fit(X).net_.module_.encoder.encoder).__name__ == "MLPEncoder"
    assert (
        type(tiny().fit(small_images).net_.module_.encoder.encoder).__name__
        == "ConvEncoder"
    )
    mlp_on_images = tiny(encoder="mlp").fit(small_images)
    assert type(mlp_on_images.net_.module_.encoder.encoder).__name__ == "MLPEncoder"
    with pytest.raises(ValueError, match="encoder='conv' needs images"):
        tiny(encoder="conv").fit(X)


def jitter(rows):
    """A picklable row augmentation: small Gaussian noise."""
    return rows + 0.1 * torch.randn_like(rows)


def test_augmentation_choice(small_images, digits, tiny):
    X, _ = digits
    assert tiny().fit(X).augmentation_ is None
    assert isinstance(tiny().fit(small_images).augmentation_, PhotoAugmentation)
    crops = tiny().fit(small_images[:, :1]).augmentation_  # grayscale
    assert isinstance(crops, RandomCrops)
    assert (crops.padding, crops.flip) == (2, False)
    assert tiny(augmentation="crop_flip").fit(small_images).augmentation_.flip
    assert tiny(augmentation=None).fit(small_images).augmentation_ is None
    with pytest.raises(ValueError, match="augmentation='crop' needs images"):
        tiny(augmentation="crop").fit(X)


def test_user_augmentation_on_rows_is_reproducible_and_pickles(digits, tiny):
    X, _ = digits
    dim = tiny(augmentation=jitter).fit(X)
    again = tiny(augmentation=jitter).fit(X)
    np.testing.assert_array_equal(dim.transform(X), again.transform(X))
    plain = tiny(augmentation=None).fit(X)
    assert not np.allclose(dim.transform(X), plain.transform(X))
    restored = pickle.loads(pickle.dumps(dim))
    np.testing.assert_array_equal(restored.transform(X), dim.transform(X))


def test_augmentation_of_the_wrong_shape_is_refused(digits, tiny):
    X, _ = digits
    message = r"shape of its input \(32, 64\), got a tensor of shape \(32, 10\)"
    with pytest.raises(ValueError, match=message):
        tiny(augmentation=lambda rows: rows[:, :10]).fit(X)


@pytest.mark.parametrize("estimator", sorted(MI_ESTIMATORS))
@pytest.mark.parametrize(("alpha", "beta"), [(1.0, 0.0), (0.0, 1.0), (0.5, 1.0)])
def test_objectives_and_estimators_train(small_images, tiny, estimator, alpha, beta):
    dim = tiny(mi_estimator=estimator, alpha=alpha, beta=beta).fit(small_images)
    assert np.isfinite(dim.loss_curve_).all()
    assert np.isfinite(dim.score(small_images))


@pytest.mark.parametrize("critic", sorted(set(CRITICS) - {"dot"}))
def test_every_critic_trains(small_images, tiny, critic):
    dim = tiny(critic=critic, alpha=0.5).fit(small_images)
    assert np.isfinite(dim.loss_curve_).all()
    assert np.isfinite(dim.score(small_images))


def test_estimator_and_critic_objects_are_copied(digits, tiny):
    X, _ = digits
    estimator = DV(moving_average=0.1)
    critic = BilinearCritic(local_features=512, global_features=8)
    weight = critic.weight.weight.detach().clone()
    dim = tiny(mi_estimator=estimator, critic=critic).fit(X)
    assert estimator.n_updates == 0
    assert dim.net_.module_.objective.local_estimator.n_updates > 0
    torch.testing.assert_close(critic.weight.weight, weight, rtol=0, atol=0)
    assert dim.net_.module_.objective.local_critic is not critic


def test_estimator_and_critic_combinations_that_cannot_work(digits, tiny):
    X, _ = digits
    with pytest.raises(ValueError, match="'embed' method; use a separable critic"):
        tiny(mi_estimator="second_order", critic="concat").fit(X)
    with pytest.raises(ValueError, match="critic instance can serve only one term"):
        tiny(critic=ConcatCritic(512, 8, hidden_features=4), alpha=1.0).fit(X)
    with pytest.raises(ValueError, match="'dot' critic needs features of the same"):
        tiny(critic="dot").fit(X)


def test_same_seed_same_output_and_global_rng_untouched(digits, tiny):
    X, _ = digits
    torch_state = torch.random.get_rng_state()
    numpy_state = np.random.get_state()[1].copy()  # noqa: NPY002
    first = tiny(random_state=3).fit(X).transform(X)
    second = tiny(random_state=3).fit(X).transform(X)
    other = tiny(random_state=4).fit(X).transform(X)
    np.testing.assert_array_equal(first, second)
    assert not np.allclose(first, other)
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    np.testing.assert_array_equal(np.random.get_state()[1], numpy_state)  # noqa: NPY002


def test_score_is_a_float_that_training_raises(digits, tiny):
    X, _ = digits
    X_train, X_test = train_test_split(X, random_state=0)
    short = tiny(gamma=0.0, max_epochs=1, lr=1e-5).fit(X_train)
    trained = tiny(gamma=0.0, max_epochs=5).fit(X_train)
    assert isinstance(trained.score(X_test), float)
    assert trained.score(X_test) > short.score(X_test)


def test_verbose_shows_a_progress_bar_and_zero_is_silent(digits, tiny, capsys):
    X, _ = digits
    tiny(verbose=0).fit(X)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    tiny(verbose=1).fit(X)
    err = capsys.readouterr().err
    assert "DeepInfoMax" in err and "loss=" in err


def test_the_bar_shows_the_loss_of_epochs_shorter_than_a_read_back(
    digits, tiny, capsys
):
    X, _ = digits
    model = tiny(verbose=1, batch_size=32, max_epochs=1).fit(X[:128])  # 4 steps
    err = capsys.readouterr().err
    assert f"loss={model.loss_curve_[0]:.4f}" in err


def test_verbose_2_logs_a_line_per_epoch(digits, tiny, caplog, capsys):
    X, _ = digits
    with caplog.at_level(logging.INFO, logger="sk_dim"):
        model = tiny(verbose=2, max_epochs=3, early_stopping=True).fit(X[:600])
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == model.n_iter_
    for epoch, (line, loss, score) in enumerate(
        zip(lines, model.loss_curve_, model.validation_scores_, strict=True),
        start=1,
    ):
        assert line.startswith(f"DeepInfoMaxTransformer epoch {epoch}: ")
        assert f"loss {loss:.4f}, held-out score {score:.4f}, " in line
        assert line.endswith(" s")
    assert capsys.readouterr().out.splitlines() == lines  # printed above the bar


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_grid_search_over_a_pipeline(digits, tiny, n_jobs):
    X, y = digits
    X, y = X[:400], y[:400]
    pipe = Pipeline([("dim", tiny()), ("clf", LogisticRegression(max_iter=200))])
    search = GridSearchCV(
        pipe,
        {
            "dim__mi_estimator": ["jsd", DV(moving_average=0.1)],
            "dim__critic": ["encode_and_dot", "bilinear"],
            "dim__n_components": [4, 8],
        },
        cv=2,
        n_jobs=n_jobs,
    )
    search.fit(X, y)
    assert len(search.cv_results_["params"]) == 8
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_estimator_.named_steps["dim"].n_iter_ == 1


def test_unsupervised_grid_search_uses_score(digits, tiny):
    X, _ = digits
    search = GridSearchCV(tiny(), {"n_components": [4, 8]}, cv=2).fit(X[:300])
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_linear_probe_beats_an_untrained_encoder(digits):
    X, y = digits
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    probe = LogisticRegression(max_iter=2000)

    def accuracy(max_epochs, lr):
        dim = DeepInfoMaxTransformer(
            n_components=32, max_epochs=max_epochs, lr=lr, random_state=0
        ).fit(X_train)
        probe.fit(dim.transform(X_train), y_train)
        return probe.score(dim.transform(X_test), y_test)

    untrained = accuracy(max_epochs=1, lr=1e-8)
    trained = accuracy(max_epochs=10, lr=1e-3)
    assert trained > 0.9
    assert trained > untrained + 0.02


def test_in_a_pipeline_set_output_pandas(digits, tiny):
    pd = pytest.importorskip("pandas")
    X, _ = digits
    frame = pd.DataFrame(X, columns=[f"pixel{i}" for i in range(64)])
    dim = tiny().set_output(transform="pandas").fit(frame)
    out = dim.transform(frame)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == list(dim.get_feature_names_out())
    assert list(out.columns[:2]) == [
        "deepinfomaxtransformer0",
        "deepinfomaxtransformer1",
    ]
    assert list(dim.feature_names_in_) == list(frame.columns)


def test_prior_matching_moves_the_code_toward_the_prior(digits, tiny):
    X, _ = digits

    def distance_to_prior(**params):
        dim = tiny(max_epochs=6, n_components=8, **params).fit(X)
        return ks_to_uniform(1 / (1 + np.exp(-dim.transform(X))))

    start = distance_to_prior(lr=1e-9, gamma=0.0)
    without = distance_to_prior(gamma=0.0)
    weak = distance_to_prior(gamma=1.0)
    strong = distance_to_prior(gamma=3.0)
    assert without > 0.8 * start
    assert strong < weak < 0.8 * without
    assert strong < 0.6 * without


def test_layer_taps_of_the_conv_encoder(small_images, tiny):
    dim = tiny(batch_size=20).fit(small_images)  # 16x16: 64x8x8 local map
    sizes = {"global": 8, "fc": 1024, "conv": 128 * 4 * 4, "local": 64 * 8 * 8}
    taps = {}
    for layer, size in sizes.items():
        taps[layer] = dim.set_params(layer=layer).transform(small_images)
        assert taps[layer].shape == (len(small_images), size)
        assert len(dim.get_feature_names_out()) == size
    encoder = dim.net_.module_.encoder.eval()
    with torch.inference_mode():
        features = encoder.features(torch.from_numpy(small_images[:5]))
    for layer in sizes:
        np.testing.assert_allclose(
            taps[layer][:5], features[layer].flatten(1).numpy(), rtol=1e-5, atol=1e-6
        )


def test_layer_taps_of_the_mlp_encoder(digits, tiny):
    X, _ = digits
    dim = tiny(layer="fc").fit(X)
    assert dim.transform(X).shape == (len(X), 512)
    assert dim.set_params(layer="local").transform(X).shape == (len(X), 512)
    with pytest.raises(ValueError, match=r"layer='conv' is not a layer of the MLPEn"):
        dim.set_params(layer="conv").transform(X)
    with pytest.raises(ValueError, match=r"its layers are \['fc', 'global', 'local'\]"):
        tiny(layer="conv").fit(X)
