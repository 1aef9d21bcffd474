"""Training callbacks: LR schedule, progress bar, held-out bound, stopping rule."""

from __future__ import annotations

import torch
from skorch.callbacks import Callback, LRScheduler
from tqdm.auto import tqdm


class StepScheduler(LRScheduler):
    """skorch's LRScheduler, stepped every batch, released at the end of training.

    The scheduler holds the optimizer and through it the parameters; dropping
    it after training keeps every tensor of a fitted net in the state that
    skorch pickles with device mapping (see ``TrainingNet.__getstate__``).
    A new fit creates a new scheduler.
    """

    def __init__(self, policy, **kwargs):
        super().__init__(policy, step_every="batch", **kwargs)

    def on_train_end(self, net, **kwargs):
        self.lr_scheduler_ = None


class ProgressBar(Callback):
    """A tqdm bar over all training steps, showing the running loss.

    Parameters
    ----------
    total : int
        Number of steps of the whole fit.
    name : str
        Label of the bar.
    refresh_every : int, default=10
        Steps between two updates of the displayed loss.
    """

    def __init__(self, total: int, name: str, refresh_every: int = 10):
        self.total = total
        self.name = name
        self.refresh_every = refresh_every

    def on_train_begin(self, net, **kwargs):
        self.bar_ = tqdm(total=self.total, unit="step", desc=self.name)

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        self.bar_.update(1)
        if self.bar_.n % self.refresh_every == 0:
            batches = reversed(net.history[-1]["batches"])
            latest = next(
                (row["train_loss"] for row in batches if "train_loss" in row), None
            )
            if latest is not None:
                self.bar_.set_postfix(loss=f"{latest:.4f}", epoch=len(net.history))

    def on_train_end(self, net, **kwargs):
        self.bar_.close()
        self.bar_ = None  # a live bar holds a lock and cannot be pickled


class HeldOutScore(Callback):
    """Record the model's score on held-out data after each epoch.

    The value, ``net.held_out_score(data, batch_size)`` (for Deep InfoMax the
    mutual-information bound), goes to the history as ``"valid_score"``.

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

    def on_epoch_end(self, net, **kwargs):
        score = net.held_out_score(self.data, self.batch_size)
        net.history.record("valid_score", score)

    def on_train_end(self, net, **kwargs):
        self.data = None  # the samples are not part of the fitted model


class EarlyStopping(Callback):
    """Stop training once a monitored value has stopped improving.

    After each epoch the value recorded under ``monitor`` counts as an
    improvement when it beats the best value so far by more than ``tol``;
    after ``n_iter_no_change`` epochs in a row without one, training stops,
    as in :class:`sklearn.neural_network.MLPClassifier`.

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
    stopped_ : bool
        Whether training was stopped by this callback.
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
        self.stopped_ = False
        self.best_weights_ = None

    def on_epoch_end(self, net, **kwargs):
        value = net.history[-1, self.monitor]
        loss = value if self.lower_is_better else -value
        if loss < self.best_ - self.tol:
            self.best_, self.best_epoch_, self.misses_ = loss, len(net.history), 0
            if self.restore_best:
                self.best_weights_ = _copy_weights(net)
        else:
            self.misses_ += 1
        if self.misses_ >= self.n_iter_no_change:
            self.stopped_ = True
            raise KeyboardInterrupt  # skorch's signal to end the fit loop

    def on_train_end(self, net, **kwargs):
        if self.best_weights_ is not None and self.best_epoch_ != len(net.history):
            for name, weights in self.best_weights_.items():
                getattr(net, name).load_state_dict(weights)
        self.best_weights_ = None  # keeps the pickled model free of copies


def _copy_weights(net) -> dict[str, dict[str, torch.Tensor]]:
    """Copies of the state dicts of the networks of ``net``."""
    return {
        name: {key: value.clone() for key, value in network.state_dict().items()}
        for name, network in net.fitted_networks().items()
    }
