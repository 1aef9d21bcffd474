"""The time budget ``max_time``, the cosine schedule and ``precision``."""

import math
import time
import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning
from skorch.callbacks import Callback

from sk_dim import DeepInfoMaxTransformer, MutualInformationMachine, TwoViewInfoMax
from sk_dim._training.devices import resolve_precision


class LearningRates(Callback):
    """Records the encoder's learning rate after every training step."""

    def on_train_begin(self, net, **kwargs):
        self.rates_ = []

    def on_batch_end(self, net, training=False, **kwargs):
        self.rates_.append(net.optimizer_.param_groups[0]["lr"])


class SlowSteps(Callback):
    """Sleeps after each training step, so that steps take a known time."""

    def __init__(self, seconds):
        self.seconds = seconds

    def on_batch_end(self, net, **kwargs):
        time.sleep(self.seconds)


def fitted_rates(model):
    return dict(model.net_.callbacks_)["rates"].rates_


def test_the_cosine_schedule_matches_torchs_cosine_annealing(digits, tiny):
    X, _ = digits
    model = tiny(max_epochs=2, callbacks=[("rates", LearningRates())]).fit(X)
    steps = 2 * (len(X) // 32)
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1e-3)
    reference = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    expected = []
    for _ in range(steps):
        optimizer.step()
        reference.step()
        expected.append(optimizer.param_groups[0]["lr"])
    np.testing.assert_allclose(fitted_rates(model), expected, rtol=1e-9, atol=1e-15)


def test_max_time_stops_within_an_epoch_and_spreads_the_schedule(digits, tiny):
    X, _ = digits
    callbacks = [("slow", SlowSteps(0.01)), ("rates", LearningRates())]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # no warning: on time
        start = time.perf_counter()
        model = tiny(max_epochs=100, max_time=1.0, callbacks=callbacks).fit(X)
    seconds = time.perf_counter() - start
    assert 1.0 <= seconds < 3.0
    steps_per_epoch = len(X) // 32
    rates = fitted_rates(model)
    # about 1 s of steps of 10 ms or more (fewer on a loaded machine)
    assert 4 <= len(rates) < 100
    # an epoch cut short by the budget counts, one that ends with it does too
    epochs = math.ceil(len(rates) / steps_per_epoch)
    assert model.n_iter_ == len(model.loss_curve_) == epochs
    assert np.isfinite(model.loss_curve_).all()
    # the learning rate follows the time: down along the cosine, to 0 at the end
    assert rates[-1] < 1e-2 * rates[0]
    assert np.all(np.diff(rates) <= 0)
    middle = rates[len(rates) // 2]
    assert 0.2e-3 < middle < 0.8e-3


def test_max_epochs_ends_a_fit_before_max_time(digits, tiny):
    X, _ = digits
    model = tiny(max_epochs=2, max_time=3600.0, tol=1e9).fit(X)
    assert model.n_iter_ == 2


def test_max_time_bounds_partial_fit_too(digits, tiny):
    X, _ = digits
    model = tiny(max_time=0.2, callbacks=[("slow", SlowSteps(0.05))])
    model.partial_fit(X)
    assert model.n_iter_ == 1
    assert len(model.net_.history[-1]["batches"]) < len(X) // 32


@pytest.mark.parametrize("max_time", [0, -1.0, "5"])
def test_max_time_must_be_positive(digits, tiny, max_time):
    X, _ = digits
    with pytest.raises(ValueError, match="max_time"):
        tiny(max_time=max_time).fit(X)


def test_precision_auto_is_float32_on_the_cpu(digits, tiny):
    X, _ = digits
    model = tiny().fit(X)
    assert model.precision_ == "32"


def test_bf16_trains_in_bfloat16_and_transforms_in_float32(small_images, tiny):
    dtypes = []

    def record_dtype(module, inputs, output):
        dtypes.append(output[1].dtype)

    model = tiny(precision="bf16", augmentation=None).fit(small_images)
    assert model.precision_ == "bf16"
    assert np.isfinite(model.loss_curve_).all()
    encoder = model.net_.module_.encoder
    hook = encoder.register_forward_hook(record_dtype)
    try:
        model.partial_fit(small_images)
        codes = model.transform(small_images)
    finally:
        hook.remove()
    assert dtypes[0] == torch.bfloat16  # a training step
    assert dtypes[-1] == torch.float32  # transform
    with torch.inference_mode():
        _, expected = encoder.eval()(torch.from_numpy(small_images))
    np.testing.assert_allclose(codes, expected.numpy(), rtol=1e-5, atol=1e-6)


class LinearDtypes(Callback):
    """Records the dtype of every Linear layer's output during the fit's steps.

    The layers of an adversary are left out: its own step runs in float32.
    """

    def on_train_begin(self, net, **kwargs):
        self.dtypes_ = set()
        adversary = net.module_.adversary
        excluded = set() if adversary is None else set(adversary.modules())
        self.hooks_ = [
            module.register_forward_hook(self.record)
            for module in net.module_.modules()
            if isinstance(module, torch.nn.Linear) and module not in excluded
        ]

    def record(self, module, inputs, output):
        self.dtypes_.add(output.dtype)

    def on_train_end(self, net, **kwargs):
        for hook in self.hooks_:
            hook.remove()
        self.hooks_ = []


@pytest.mark.parametrize(
    "estimator", [DeepInfoMaxTransformer, TwoViewInfoMax, MutualInformationMachine]
)
def test_every_model_steps_in_bfloat16_under_bf16(digits, estimator):
    X, _ = digits
    X = X[:128] / 16.0
    recorder = LinearDtypes()
    model = estimator(
        precision="bf16", max_epochs=1, batch_size=32, callbacks=[recorder]
    )
    model.fit(X[:, :32], X[:, 32:])
    recorded = model.net_.callbacks_[-2][1]  # the copy that ran, before stopping
    assert recorded.dtypes_ == {torch.bfloat16}


@pytest.mark.parametrize(
    "estimator", [DeepInfoMaxTransformer, TwoViewInfoMax, MutualInformationMachine]
)
def test_16_mixed_on_the_cpu_is_refused(digits, estimator):
    X, _ = digits
    with pytest.raises(ValueError, match="precision='16-mixed'.*needs a CUDA device"):
        estimator(precision="16-mixed", device="cpu").fit(X[:, :32], X[:, 32:])


def test_unknown_precision_is_refused(digits, tiny):
    X, _ = digits
    with pytest.raises(ValueError, match="precision"):
        tiny(precision="fp8").fit(X)


def test_auto_precision_on_cuda_follows_bfloat16_support(monkeypatch):
    cuda = torch.device("cuda:0")
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    assert resolve_precision("auto", cuda, auto="bf16") == "bf16"
    assert resolve_precision("auto", cuda, auto="32") == "32"  # the MIM's
    assert resolve_precision("16-mixed", cuda, auto="bf16") == "16-mixed"
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    assert resolve_precision("auto", cuda, auto="bf16") == "32"
    cpu = torch.device("cpu")
    assert resolve_precision("auto", cpu, auto="bf16") == "32"
    # a model saved with float16 and loaded without CUDA trains in float32
    assert resolve_precision("16-mixed", cpu, auto="bf16") == "32"


def test_precision_survives_save_and_load(small_images, tiny, tmp_path):
    model = tiny(precision="bf16", augmentation=None).fit(small_images)
    loaded = DeepInfoMaxTransformer.load(model.save(tmp_path / "model"), "cpu")
    assert loaded.precision_ == "bf16"
    np.testing.assert_allclose(
        loaded.transform(small_images), model.transform(small_images), atol=1e-6
    )
    assert math.isfinite(loaded.partial_fit(small_images).loss_curve_[-1])
