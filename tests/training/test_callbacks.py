"""skorch's callbacks with their defaults or documented arguments, and resuming."""

import os
import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning
from skorch.callbacks import (
    Callback,
    EarlyStopping,
    LoadInitState,
    LRScheduler,
    TensorBoard,
)
from skorch.callbacks import Checkpoint as SkorchCheckpoint
from torch.optim.lr_scheduler import StepLR

from sk_dim import MutualInformationMachine
from sk_dim._training.configuration import copy_callbacks
from sk_dim.callbacks import Checkpoint

from .test_training import EpochCounter


class LearningRate(Callback):
    """Records the learning rate of ``optimizer_`` after each epoch."""

    def on_epoch_end(self, net, **kwargs):
        net.history.record("lr", net.optimizer_.param_groups[0]["lr"])


class PowerCut(Callback):
    """Fails at the end of a given epoch, as a crash would."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.epoch:
            raise RuntimeError("power cut")


def test_skorch_checkpoint_with_its_defaults_saves_the_best_held_out_epochs(
    digits, tiny, tmp_path
):
    X, _ = digits
    model = tiny(
        early_stopping=True,
        max_epochs=3,
        callbacks=[SkorchCheckpoint(dirname=tmp_path)],
    ).fit(X)
    history = model.net_.history
    # the held-out loss is the negative held-out bound, best when lowest
    assert history[:, "valid_loss"] == [-score for score in model.validation_scores_]
    losses = history[:, "valid_loss"]
    assert history[:, "valid_loss_best"] == [
        loss == min(losses[: epoch + 1]) for epoch, loss in enumerate(losses)
    ]
    assert history[:, "event_cp"] == history[:, "valid_loss_best"]
    assert {"params.pt", "criterion.pt", "optimizer.pt", "history.json"} <= set(
        os.listdir(tmp_path)
    )
    saved = torch.load(tmp_path / "params.pt", weights_only=True)
    assert saved.keys() == model.net_.module_.state_dict().keys()


@pytest.mark.parametrize(
    "callback", [SkorchCheckpoint(), EarlyStopping()], ids=["Checkpoint", "Stopping"]
)
def test_callbacks_watching_held_out_values_need_held_out_data(digits, tiny, callback):
    X, _ = digits
    model = tiny(max_epochs=2).fit(X)
    weights = {k: v.clone() for k, v in model.net_.module_.state_dict().items()}
    with pytest.raises(ValueError, match=r"callbacks\[0\] .* set early_stopping=True"):
        model.set_params(callbacks=[callback]).fit(X)
    with pytest.raises(ValueError, match="partial_fit holds out no data"):
        model.partial_fit(X)
    for key, value in model.net_.module_.state_dict().items():  # the model is kept
        assert torch.equal(value, weights[key])


def test_sk_dim_checkpoint_saves_the_model_and_every_optimiser(digits, tiny, tmp_path):
    X, _ = digits
    checkpoint = Checkpoint(dirname=tmp_path, monitor="train_loss_best")
    model = tiny(gamma=0.1, max_epochs=2, callbacks=[checkpoint]).fit(X)
    net = model.net_
    assert sorted(os.listdir(tmp_path)) == [
        "criterion.pt",
        "history.json",
        "optimizer.pt",
        "optimizer_adversary.pt",
        "params.pt",
    ]
    params = torch.load(tmp_path / "params.pt", weights_only=True)
    for key, value in net.module_.discriminator.state_dict().items():
        # the best epoch is the last
        assert torch.equal(params[f"discriminator.{key}"], value)
    optimizer = torch.load(tmp_path / "optimizer_adversary.pt", weights_only=True)
    assert (
        optimizer["state"].keys()
        == net.optimizer_adversary_.state_dict()["state"].keys()
    )
    assert not hasattr(checkpoint, "f_optimizer_adversary")  # the one passed


def test_skorch_checkpoint_saves_the_adversary_optimiser_when_named(
    digits, tiny, tmp_path
):
    X, _ = digits
    checkpoint = SkorchCheckpoint(
        dirname=tmp_path, monitor=None, f_optimizer_adversary="oa.pt"
    )
    tiny(gamma=0.1, callbacks=[checkpoint]).fit(X)
    assert {"oa.pt", "params.pt", "criterion.pt"} <= set(os.listdir(tmp_path))


@pytest.mark.parametrize("crash_after", [1, 3])
def test_a_fit_resumed_by_load_init_state_ends_where_the_full_fit_would(
    digits, tiny, tmp_path, crash_after
):
    X, _ = digits
    params = {"gamma": 0.1, "max_epochs": 5, "tol": 0.0, "lr_schedule": "cosine"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        full = tiny(**params, callbacks=[LearningRate()]).fit(X)
        checkpoint = Checkpoint(dirname=tmp_path, monitor=None)
        callbacks = [LearningRate(), checkpoint, LoadInitState(checkpoint)]
        crashing = tiny(**params, callbacks=[*callbacks, PowerCut(crash_after)])
        with pytest.raises(RuntimeError, match="power cut"):
            crashing.fit(X)
        counter = ("counter", EpochCounter())
        resumed = tiny(**params, callbacks=[*callbacks, counter]).fit(X)
    # each fit counts on a copy of the counter passed
    assert dict(resumed.net_.callbacks_)["counter"].epochs == 5 - crash_after
    assert resumed.n_iter_ == 5 == len(resumed.loss_curve_)
    # the epochs before the crash, as the crashed fit trained them
    np.testing.assert_allclose(
        resumed.loss_curve_[:crash_after], full.loss_curve_[:crash_after], rtol=1e-5
    )
    # the schedule goes on from the restored step
    np.testing.assert_allclose(
        resumed.net_.history[:, "lr"], full.net_.history[:, "lr"], rtol=1e-6
    )
    assert resumed.net_.history[-1, "lr"] == 0.0


def test_load_init_state_resumes_the_mutual_information_machine(digits, tmp_path):
    X, _ = digits
    X = X / 16.0
    checkpoint = Checkpoint(dirname=tmp_path, monitor=None)
    callbacks = [checkpoint, LoadInitState(checkpoint)]
    params = {"n_components": 4, "max_epochs": 3, "tol": 0.0, "random_state": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.raises(RuntimeError, match="power cut"):
            MutualInformationMachine(**params, callbacks=[*callbacks, PowerCut(2)]).fit(
                X
            )
        resumed = MutualInformationMachine(**params, callbacks=callbacks).fit(X)
    assert resumed.n_iter_ == 3
    assert np.isfinite(resumed.transform(X)).all()


def test_skorch_early_stopping_ends_the_fit_without_an_interruption_warning(
    digits, tiny
):
    X, _ = digits
    # an improvement must beat the best held-out loss by 10 nats: none does
    stopping = EarlyStopping(patience=2, threshold=10, threshold_mode="abs")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = tiny(early_stopping=True, max_epochs=10, callbacks=[stopping]).fit(X)
    assert model.n_iter_ == 3  # the first epoch sets the best, two miss


def test_skorch_lr_scheduler_sets_the_rate_under_a_constant_schedule(digits, tiny):
    X, _ = digits
    scheduler = LRScheduler(policy=StepLR, step_size=1, gamma=0.5)
    with pytest.raises(ValueError, match="lr_schedule='constant'"):
        tiny(lr_schedule="cosine", callbacks=[scheduler]).fit(X)
    model = tiny(
        lr=1e-3,
        lr_schedule="constant",
        max_epochs=3,
        callbacks=[scheduler, LearningRate()],
    ).fit(X)
    np.testing.assert_allclose(model.net_.history[:, "lr"], [5e-4, 2.5e-4, 1.25e-4])
    # with its defaults: a cosine from max_lr=0.05 with warm restarts, by epoch
    model = tiny(
        lr_schedule="constant", max_epochs=3, callbacks=[LRScheduler(), LearningRate()]
    ).fit(X)
    history = model.net_.history
    assert history[:, "event_lr"] == [0.05] + history[:-1, "lr"]
    assert 0 < history[-1, "lr"] < history[0, "lr"] < 0.05


def test_skorch_tensorboard_logs_each_epoch_through_the_shared_writer(
    digits, tiny, tmp_path
):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import (
        EventAccumulator,
    )
    from torch.utils.tensorboard import SummaryWriter

    X, _ = digits
    writer = SummaryWriter(tmp_path)
    model = tiny(early_stopping=True, max_epochs=3, callbacks=[TensorBoard(writer)])
    model.fit(X)
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    tags = events.Tags()["scalars"]
    assert {"Loss/train_loss", "Loss/valid_loss", "Loss/valid_score"} <= set(tags)
    logged = [event.value for event in events.Scalars("Loss/valid_score")]
    np.testing.assert_allclose(logged, model.validation_scores_, rtol=1e-6)


def test_copies_of_callbacks_keep_their_references_and_share_what_cannot_be_copied():
    checkpoint = SkorchCheckpoint(dirname="run")
    writer = _Uncopiable()
    copies = copy_callbacks(
        [checkpoint, LoadInitState(checkpoint), TensorBoard(writer)]
    )
    assert copies[0] is not checkpoint
    assert copies[1].checkpoint is copies[0]
    assert copies[2].writer is writer


class _Uncopiable:
    """An object that refuses to be copied, as an open file with a lock does."""

    def __deepcopy__(self, memo):
        raise TypeError("cannot pickle '_thread.lock' object")
