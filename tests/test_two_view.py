"""TwoViewInfoMax: two arrays or a view function, bounds on Gaussians, errors."""

import math
import pickle

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import Pipeline

from sk_dim import TwoViewInfoMax
from sk_dim.datasets import make_correlated_gaussians
from sk_dim.nn.mi_estimators import MI_ESTIMATORS
from sk_dim.nn.views import SplitColumns

SMALL = {
    "n_components": 8,
    "hidden_layer_sizes": (32,),
    "critic_width": 32,
    "batch_size": 32,
    "max_epochs": 2,
    "random_state": 0,
}


def small(**params):
    return TwoViewInfoMax(**{**SMALL, **params})


def correlated_views(n_samples, rho, n_dims, seed):
    """Two Gaussian views, each coordinate pair of correlation rho."""
    true_mi = -n_dims / 2 * math.log(1 - rho**2)
    rng = np.random.default_rng(seed)
    return make_correlated_gaussians(n_samples, n_dims, true_mi, random_state=rng)


def test_the_bound_approaches_the_mutual_information_of_gaussians():
    rho, n_dims = 0.8, 2
    true_mi = -n_dims / 2 * math.log(1 - rho**2)  # 1.02 nats
    a, b = correlated_views(6000, rho, n_dims, seed=0)
    test_a, test_b = correlated_views(2048, rho, n_dims, seed=1)
    model = small(batch_size=128, max_epochs=15, lr=3e-3).fit(a, b)
    bound = model.score(test_a, test_b)
    assert true_mi - 0.25 < bound < true_mi + 0.1
    # on independent views, a lower bound of I = 0
    independent = model.score(test_a, correlated_views(2048, rho, n_dims, 2)[1])
    assert independent < 0.05


def test_a_view_function_equals_two_arrays(digits):
    X, _ = digits
    split = small(views=SplitColumns(24)).fit(X)
    arrays = small().fit(X[:, :24], X[:, 24:])
    np.testing.assert_allclose(
        split.transform(X), arrays.transform(X[:, :24]), rtol=1e-5, atol=1e-6
    )
    assert split.n_view_features_ == arrays.n_view_features_ == [24, 40]
    codes_a, codes_b = arrays.transform(X[:, :24], X[:, 24:])
    assert codes_a.shape == codes_b.shape == (len(X), 8)


def test_top_half_codes_beat_an_untrained_encoder(digits):
    X, y = digits
    trained = small(views=SplitColumns(), max_epochs=10).fit(X)
    untrained = small(views=SplitColumns(), max_epochs=1, lr=1e-9).fit(X)

    def accuracy(model):
        probe = LogisticRegression(max_iter=2000)
        return cross_val_score(probe, model.transform(X), y, cv=3).mean()

    assert accuracy(trained) > accuracy(untrained) + 0.05


def test_a_pipeline_passes_labels_to_the_classifier_only(digits):
    X, y = digits
    pipe = Pipeline(
        [("views", small(views=SplitColumns())), ("clf", LogisticRegression())]
    )
    assert pipe.fit(X, y).score(X, y) > 0.5
    without_views = Pipeline([("views", small()), ("clf", LogisticRegression())])
    with pytest.raises(ValueError, match="pass views=... so that they are ignored"):
        without_views.fit(X, y)


@pytest.mark.parametrize("critic", ["bilinear", "separable", "concat", "dot"])
@pytest.mark.parametrize("mi_estimator", sorted(MI_ESTIMATORS))
def test_every_critic_and_estimator_trains(digits, critic, mi_estimator):
    X, _ = digits
    model = small(views=SplitColumns(), critic=critic, mi_estimator=mi_estimator)
    if mi_estimator == "second_order" and critic == "concat":
        with pytest.raises(ValueError, match="ConcatCritic scores pairs without"):
            model.fit(X)
        return
    codes = model.fit_transform(X)
    assert np.isfinite(codes).all() and np.isfinite(model.loss_curve_).all()


def test_random_views_are_drawn_at_each_step(digits):
    X, _ = digits
    model = small(views=_NoisyCopies(), max_epochs=1).fit(X)
    assert np.isfinite(model.loss_curve_).all()


class _NoisyCopies:
    def __call__(self, rows):
        return rows + torch.randn_like(rows), rows + torch.randn_like(rows)


def test_fits_are_reproducible_and_leave_the_global_state(digits):
    X, _ = digits
    state = torch.get_rng_state()
    first = small(views=SplitColumns()).fit_transform(X)
    np.testing.assert_array_equal(first, small(views=SplitColumns()).fit_transform(X))
    assert torch.equal(state, torch.get_rng_state())


@pytest.mark.parametrize("dump", ["pickle", "save"])
def test_round_trips(digits, tmp_path, dump):
    X, _ = digits
    model = small().fit(X[:, :32], X[:, 32:])
    if dump == "pickle":
        restored = pickle.loads(pickle.dumps(model))
    else:
        restored = TwoViewInfoMax.load(model.save(tmp_path / "m"), "cpu")
    a, b = X[:, :32], X[:, 32:]
    np.testing.assert_array_equal(restored.transform(a), model.transform(a))
    assert restored.score(a, b) == model.score(a, b)


def test_save_refuses_a_view_function(digits, tmp_path):
    X, _ = digits
    model = small(views=SplitColumns()).fit(X)
    with pytest.raises(TypeError, match="save the model with pickle or joblib"):
        model.save(tmp_path / "m")


def test_second_view_errors(digits):
    X, _ = digits
    a, b = X[:, :32], X[:, 32:]
    with pytest.raises(ValueError, match="y, the second view, is required"):
        small().fit(a)
    with pytest.raises(ValueError, match="same samples, got 1797 and 10 rows"):
        small().fit(a, b[:10])
    model = small().fit(a, b)
    with pytest.raises(ValueError, match="y has 20 features.*second view of 32"):
        model.transform(a, b[:, :20])
    with pytest.raises(ValueError, match="Input y contains NaN"):
        model.transform(a, np.full_like(b, np.nan))
    with pytest.raises(ValueError, match="X has 20 features"):
        model.transform(a[:, :20])


def test_view_function_errors(digits):
    X, _ = digits
    with pytest.raises(ValueError, match=r"got 1 feature\(s\)"):
        small(views=SplitColumns()).fit(X[:, :1])
    with pytest.raises(ValueError, match="views must return two tensors"):
        small(views=_OneView()).fit(X)
    model = small(views=SplitColumns()).fit(X)
    with pytest.raises(ValueError, match="call transform\\(X\\)"):
        model.transform(X, X)
    with pytest.raises(ValueError, match="X must be 2-D"):
        small(views=SplitColumns()).fit(X.reshape(-1, 8, 8))


class _OneView:
    def __call__(self, rows):
        return rows


def test_a_second_view_beyond_float32_is_refused(digits):
    X, _ = digits
    with pytest.raises(ValueError, match="y holds values beyond the float32 range"):
        small().fit(X[:, :32], X[:, 32:] * 1e40)
