"""Stopping rules, interruption, user callbacks and partial_fit."""

import copy
import re
import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning
from skorch.callbacks import Callback

from sk_dim import DeepInfoMaxTransformer


class EpochCounter(Callback):
    """Counts the epochs it sees."""

    def __init__(self):
        self.epochs = 0

    def on_epoch_end(self, net, **kwargs):
        self.epochs += 1


class InterruptAt(Callback):
    """Raises KeyboardInterrupt, as Ctrl-C does, at a given training step."""

    def __init__(self, step):
        self.step = step

    def on_train_begin(self, net, **kwargs):
        self.seen_ = 0

    def on_batch_end(self, net, **kwargs):
        self.seen_ += 1
        if self.seen_ == self.step:
            raise KeyboardInterrupt


def test_a_plateau_of_the_training_loss_stops_the_fit(digits, tiny):
    X, _ = digits
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = tiny(lr=1e-7, max_epochs=20, n_iter_no_change=2, tol=0.05).fit(X)
    assert model.n_iter_ == 3  # the first epoch sets the best loss, two do not beat it
    assert model.validation_scores_ is None


def test_a_fit_still_improving_at_max_epochs_warns(digits, tiny):
    X, _ = digits
    with pytest.warns(ConvergenceWarning, match="training loss still changed"):
        model = tiny(max_epochs=2, tol=0.0).fit(X)
    assert model.n_iter_ == 2


def held_out_split(X, validation_fraction, random_state):
    """The validation samples that fit holds out with these settings, in order."""
    rng = np.random.RandomState(random_state)
    rng.randint(np.iinfo(np.int32).max)  # the seed of the networks
    n_valid = int(np.ceil(validation_fraction * len(X)))
    return X[np.sort(rng.permutation(len(X))[:n_valid])]


class ScrambleEncoderFrom(Callback):
    """From a given epoch on, redraws the encoder's weights after every step.

    The weights stay of the size they had (no divergence), but whatever
    the encoder learnt is lost.
    """

    def __init__(self, epoch):
        self.epoch = epoch

    def on_batch_end(self, net, training=False, **kwargs):
        if training and len(net.history) >= self.epoch:
            with torch.no_grad():
                for parameter in net.module_.encoder.parameters():
                    scale = parameter.std() if parameter.numel() > 1 else 0.1
                    parameter.copy_(scale * torch.randn_like(parameter))


def test_early_stopping_keeps_the_weights_of_the_best_held_out_epoch(digits, tiny):
    X, _ = digits
    # the encoder learns for two epochs, then is scrambled: later epochs are worse
    model = tiny(
        early_stopping=True,
        max_epochs=5,
        n_iter_no_change=5,
        callbacks=[ScrambleEncoderFrom(epoch=3)],
    )
    model.fit(X)
    scores = model.validation_scores_
    assert len(scores) == model.n_iter_ == len(model.loss_curve_) == 5
    assert np.argmax(scores) < 2
    assert model.best_validation_score_ == max(scores)
    valid = held_out_split(X, model.validation_fraction, random_state=0)
    assert model.score(valid) == pytest.approx(max(scores), rel=1e-5)


def test_early_stopping_needs_enough_samples(digits, tiny):
    X, _ = digits
    with pytest.raises(ValueError, match="at least 2 validation samples"):
        tiny(early_stopping=True, validation_fraction=0.01, batch_size=2).fit(X[:50])
    with pytest.warns(UserWarning, match="45 training samples after holding out"):
        model = tiny(early_stopping=True, batch_size=46).fit(X[:50])
    assert model.batch_size_ == 45


def test_keyboard_interrupt_leaves_a_usable_model(digits, tiny):
    X, _ = digits
    with pytest.warns(UserWarning, match="interrupted by the user after 1 of 3"):
        model = tiny(max_epochs=3, callbacks=[InterruptAt(step=70)]).fit(X)
    assert model.n_iter_ == 1 == len(model.loss_curve_)
    out = model.transform(X)
    assert out.shape == (len(X), 8) and np.isfinite(out).all()


def test_user_callbacks_are_copied_and_run(digits, tiny):
    X, _ = digits
    counter = EpochCounter()
    callbacks = [counter, ("named", EpochCounter())]
    before = copy.deepcopy(callbacks)
    model = tiny(max_epochs=2, callbacks=callbacks).fit(X)
    assert counter.epochs == 0 and callbacks[1][1].epochs == 0
    assert [type(c) for c in callbacks] == [type(c) for c in before]
    fitted = dict(model.net_.callbacks_)
    assert fitted["EpochCounter"].epochs == 2 and fitted["named"].epochs == 2


def test_partial_fit_trains_one_epoch_per_chunk(digits, tiny):
    X, _ = digits
    model = tiny()
    for chunk in np.array_split(X, 3):
        model.partial_fit(chunk)
    assert model.n_iter_ == 3 == len(model.loss_curve_)
    assert model.transform(X).shape == (len(X), 8)
    again = tiny()
    for chunk in np.array_split(X, 3):
        again.partial_fit(chunk)
    np.testing.assert_array_equal(again.transform(X), model.transform(X))
    with pytest.raises(ValueError, match="X has 10 features"):
        model.partial_fit(X[:, :10])
    assert model.n_iter_ == 3


def test_partial_fit_continues_a_fit_at_the_constant_rate(digits, tiny):
    X, _ = digits
    model = tiny(max_epochs=2).fit(X)
    assert model.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(0.0)
    model.partial_fit(X)
    assert model.n_iter_ == 3
    assert model.net_.optimizer_.param_groups[0]["lr"] == model.lr
    with pytest.warns(UserWarning, match="batch_size=32 is larger"):
        model.partial_fit(X[:10])
    assert model.n_iter_ == 4


def test_a_failed_refit_leaves_the_model_as_it_was(digits, tiny):
    X, _ = digits
    model = tiny().fit(X)
    before = model.transform(X)
    state = dict(model.__dict__)
    for bad in (X[:1], np.full_like(X, np.nan), X * 1e40):
        with pytest.raises(ValueError):
            model.fit(bad)
    with pytest.raises(ValueError, match="augmentation must return"):
        model.set_params(augmentation=lambda x: x[:, :3]).fit(X)
    model.set_params(augmentation="auto")
    assert model.__dict__.keys() == state.keys()
    assert model.n_features_in_ == 64 and model.net_ is state["net_"]
    np.testing.assert_array_equal(model.transform(X), before)


def test_defaults_of_the_stopping_rule():
    model = DeepInfoMaxTransformer()
    assert (model.tol, model.n_iter_no_change, model.early_stopping) == (
        1e-2,
        3,
        False,
    )


class GradientNorms(Callback):
    """Records the norm of the gradients that the optimizer is about to use."""

    def on_train_begin(self, net, **kwargs):
        self.norms_ = []

    def on_grad_computed(self, net, named_parameters, **kwargs):
        gradients = [p.grad for _, p in named_parameters if p.grad is not None]
        self.norms_.append(
            float(
                torch.linalg.vector_norm(
                    torch.stack([torch.linalg.vector_norm(g) for g in gradients])
                )
            )
        )


def test_skorch_gradient_clipping_clips_the_gradients_of_each_step(digits, tiny):
    from skorch.callbacks import GradientNormClipping

    X, _ = digits
    free = tiny(callbacks=[("norms", GradientNorms())]).fit(X)
    clipping = GradientNormClipping(gradient_clip_value=0.01)
    clipped = tiny(callbacks=[clipping, ("norms", GradientNorms())]).fit(X)
    # the callbacks are copied at fit: those of the nets recorded the norms
    free_norms = dict(free.net_.callbacks_)["norms"].norms_
    clipped_norms = dict(clipped.net_.callbacks_)["norms"].norms_
    assert len(clipped_norms) == len(X) // 32  # one call per step
    assert max(clipped_norms) <= 0.01 * (1 + 1e-4)
    assert min(free_norms) > 0.01  # clipping had work to do


def test_warm_start_trains_the_fitted_model_on(digits, tiny):
    X, _ = digits
    model = tiny(max_epochs=2, n_iter_no_change=10).fit(X)
    curve, weights = list(model.loss_curve_), copy.deepcopy(model.net_.module_)
    steps = max(int(state["step"]) for state in model.net_.optimizer_.state.values())
    model.set_params(warm_start=True).fit(X)
    assert model.n_iter_ == 4 and model.loss_curve_[:2] == curve
    assert model.loss_curve_[3] < curve[0]
    assert (
        max(int(state["step"]) for state in model.net_.optimizer_.state.values())
        == 2 * steps
    )  # Adam's state carried over
    changed = [
        not torch.equal(a, b)
        for a, b in zip(
            weights.state_dict().values(),
            model.net_.module_.state_dict().values(),
            strict=True,
        )
    ]
    assert any(changed)
    model.set_params(warm_start=False).fit(X)
    assert model.n_iter_ == 2  # a new model
    assert all(type(loss) is float for loss in model.loss_curve_)


@pytest.mark.parametrize(
    ("estimator", "change"),
    [
        ("DeepInfoMaxTransformer", {"n_components": 6}),
        ("DeepInfoMaxTransformer", {"critic_width": 32}),
        ("MutualInformationMachine", {"hidden_layer_sizes": (8,)}),
        ("TwoViewInfoMax", {"n_components": 2}),
    ],
)
def test_partial_fit_and_save_refuse_a_changed_model_and_keep_the_fitted_one(
    digits, tmp_path, estimator, change
):
    import sk_dim

    X, _ = digits
    X = X / 16.0
    # the two views as X and y: a views function is no JSON value to save
    y = X[:, 32:] if estimator == "TwoViewInfoMax" else None
    X = X[:, :32] if estimator == "TwoViewInfoMax" else X
    model = getattr(sk_dim, estimator)(
        n_components=4, batch_size=32, max_epochs=1, random_state=0
    ).fit(X, y)
    folder = model.save(tmp_path / "model")
    saved = (folder / "config.json").read_text()
    codes, net = model.transform(X), model.net_
    name, value = next(iter(change.items()))
    model.set_params(**change)
    with pytest.raises(ValueError, match=f"partial_fit .* {name} changed from"):
        model.partial_fit(X, y)
    changed = f"save .* {name} changed .* {re.escape(repr(value))}"
    with pytest.raises(ValueError, match=changed):
        model.save(folder)
    assert (folder / "config.json").read_text() == saved  # the earlier save is kept
    assert model.net_ is net and model.n_iter_ == 1
    np.testing.assert_array_equal(model.transform(X), codes)


def test_warm_start_refuses_a_changed_model_and_keeps_the_fitted_one(
    digits, tiny, tmp_path
):
    X, _ = digits
    model = tiny(max_epochs=1, warm_start=True).fit(X)
    state = dict(vars(model))
    with pytest.raises(ValueError, match="n_components changed from 8 to 6"):
        model.set_params(n_components=6).fit(X)
    model.set_params(n_components=8)
    with pytest.raises(ValueError, match="X has 10 features, but"):
        model.fit(X[:, :10])
    assert model.net_ is state["net_"] and model.n_iter_ == 1
    loaded = type(model).load(model.save(tmp_path / "model"), device="cpu")
    assert loaded.fit(X).n_iter_ == 2  # the loaded model trains on
