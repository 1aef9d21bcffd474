"""Training callbacks: LR schedule, progress bar, held-out bound, stopping rule."""

from __future__ import annotations

import logging
import math

import torch
from skorch.callbacks import Callback
from tqdm.auto import tqdm

from .batches import place_on_device
from .distributed import value_of_process_0
from .state import copy_weights

logger = logging.getLogger("sk_dim")


class CosineSchedule(Callback):
    """Anneal the learning rates to zero along a cosine over a fit's budget.

    After each training step the learning rate of every parameter group of
    ``optimizer_`` is ``base * (1 + cos(pi * progress)) / 2``, where the
    progress is the larger of the share of ``n_steps`` taken and the share
    of the net's time budget spent (:meth:`TrainingNet.budget_used`), so
    that the schedule ends with whichever budget runs out first. A fit
    resumed from a checkpoint goes on from the steps it restored
    (:attr:`TrainingNet.restored_steps_`).

    Parameters
    ----------
    n_steps : int
        Steps of the whole fit.
    """

    def __init__(self, n_steps: int):
        self.n_steps = n_steps

    def on_train_begin(self, net, **kwargs):
        # before a checkpoint is loaded: the learning rates the fit starts from
        self.base_lrs_ = [group["lr"] for group in net.optimizer_.param_groups]
        self.steps_ = None

    def on_epoch_begin(self, net, **kwargs):
        if self.steps_ is None:
            self.steps_ = net.restored_steps_

    def on_batch_end(self, net, training=False, **kwargs):
        if not training:
            return
        self.steps_ += 1
        progress = min(1.0, max(self.steps_ / self.n_steps, net.budget_used()))
        factor = (1 + math.cos(math.pi * progress)) / 2
        for group, base in zip(
            net.optimizer_.param_groups, self.base_lrs_, strict=True
        ):
            group["lr"] = base * factor


class ProgressBar(Callback):
    """A tqdm bar over all training steps, with the loss; a line per epoch.

    The bar shows the loss of the latest step whose loss has been read back
    from the device (every ``loss_sync_every`` steps and at the end of each
    epoch), and after each epoch the epoch's mean loss and held-out score.
    With ``epoch_lines``, each epoch also gives one line (loss, held-out
    score when there is one, seconds), written above the bar and logged at
    INFO level to the ``"sk_dim"`` logger.

    Parameters
    ----------
    total : int
        Number of steps of the whole fit.
    name : str
        Label of the bar and the lines.
    epoch_lines : bool, default=False
        Write and log one line per epoch.
    """

    def __init__(self, total: int, name: str, epoch_lines: bool = False):
        self.total = total
        self.name = name
        self.epoch_lines = epoch_lines

    def on_train_begin(self, net, **kwargs):
        self.bar_ = tqdm(total=self.total, unit="step", desc=self.name)

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        self.bar_.update(1)
        latest = net.history[-1]["batches"][-1]
        if "train_loss" in latest:  # a block of losses was just read back
            self.bar_.set_postfix(
                loss=f"{latest['train_loss']:.4f}", epoch=len(net.history)
            )

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        summary = {"loss": f"{row['train_loss']:.4f}", "epoch": len(net.history)}
        if "valid_score" in row:
            summary["held_out"] = f"{row['valid_score']:.4f}"
        self.bar_.set_postfix(summary)
        if self.epoch_lines:
            held_out = ""
            if "valid_score" in row:
                held_out = f", held-out score {row['valid_score']:.4f}"
            line = (
                f"{self.name} epoch {len(net.history)}: loss "
                f"{row['train_loss']:.4f}{held_out}, {row['dur']:.1f} s"
            )
            self.bar_.write(line)
            logger.info(line)

    def on_train_end(self, net, **kwargs):
        self.bar_.close()
        self.bar_ = None  # a live bar holds a lock and cannot be pickled


class HeldOutScore(Callback):
    """Record the model's score on held-out data after each epoch.

    The value, ``net.held_out_score(data, batch_size)`` (for Deep InfoMax the
    mutual-information bound), goes to the history as ``"valid_score"``, and
    its negative as ``"valid_loss"``, with ``"valid_loss_best"`` when it is
    the lowest so far: the keys that skorch's ``Checkpoint``,
    ``EarlyStopping`` and ``ReduceLROnPlateau`` watch by default.

    Parameters
    ----------
    data : torch.Tensor
        The held-out samples.
    batch_size : int
        Samples per batch of the estimate, as in training.
    """

    def __init__(self, data: torch.Tensor, batch_size: int):
        self.data = data
        self.batch_size = batch_size

    def on_train_begin(self, net, **kwargs):
        # on a GPU, copied there once rather than batch by batch every epoch
        self.data = place_on_device(self.data, net.device)

    def on_epoch_end(self, net, **kwargs):
        score = net.held_out_score(self.data, self.batch_size)
        earlier = [row["valid_loss"] for row in net.history[:-1] if "valid_loss" in row]
        net.history.record("valid_score", score)
        net.history.record("valid_loss", -score)
        net.history.record("valid_loss_best", all(-score < loss for loss in earlier))

    def on_train_end(self, net, **kwargs):
        self.data = None  # the samples are not part of the fitted model


class StoppingRule(Callback):
    """Stop training once a monitored value has stopped improving.

    After each epoch the value recorded under ``monitor`` counts as an
    improvement when it beats the best value so far by more than ``tol``;
    after ``n_iter_no_change`` epochs in a row without one, training stops,
    as in :class:`sklearn.neural_network.MLPClassifier`. Training also stops
    after the epoch in which the net's time budget ran out.

    Parameters
    ----------
    monitor : str
        Key of the epoch history to watch.
    lower_is_better : bool
        Direction of improvement.
    tol : float
        Smallest change that counts as an improvement.
    n_iter_no_change : int
        Epochs without improvement before stopping.
    restore_best : bool
        At the end of training, load the weights of the best epoch.

    Attributes
    ----------
    best_epoch_ : int
        Epoch (from 1) of the best value.
    """

    def __init__(
        self,
        monitor: str,
        lower_is_better: bool,
        tol: float,
        n_iter_no_change: int,
        restore_best: bool,
    ):
        self.monitor = monitor
        self.lower_is_better = lower_is_better
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.restore_best = restore_best

    def on_train_begin(self, net, **kwargs):
        self.best_ = float("inf")
        self.best_epoch_ = 0
        self.misses_ = 0
        self.best_weights_ = None

    def on_epoch_end(self, net, **kwargs):
        # under torchrun, process 0's value, so that all processes stop together
        value = value_of_process_0(net.history[-1, self.monitor], net.device)
        loss = value if self.lower_is_better else -value
        if loss < self.best_ - self.tol:
            self.best_, self.best_epoch_, self.misses_ = loss, len(net.history), 0
            if self.restore_best:
                self.best_weights_ = copy_weights(net)
        else:
            self.misses_ += 1
        if self.misses_ >= self.n_iter_no_change or net.out_of_time_:
            raise KeyboardInterrupt  # skorch's signal to end the fit loop

    def on_train_end(self, net, **kwargs):
        if self.best_weights_ is not None and self.best_epoch_ != len(net.history):
            net.module_.load_state_dict(self.best_weights_)
        self.best_weights_ = None  # keeps the pickled model free of copies
