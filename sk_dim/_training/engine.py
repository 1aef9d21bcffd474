"""Training engine: a skorch net that trains a model on tensor batches."""

from __future__ import annotations

import math
import time
from typing import ClassVar

import torch
from skorch import NeuralNet
from skorch.callbacks import EpochTimer, PassthroughScoring
from skorch.utils import TeeGenerator

from ..exceptions import TrainingDivergedError
from ..nn.models.base import InfoMaxModel, ModelLoss
from .batches import make_batches, place_on_device
from .devices import present_device
from .distributed import (
    any_across_processes,
    average_gradients,
    broadcast_buffers,
    mean_across_processes,
    rank_and_world,
    rank_share,
)
from .divergence import DivergenceCheck, has_non_finite_weights
from .runtime import free_memory
from .step import ModelStep


class _RankShares:
    """This process's share of each global batch of ``batches``."""

    def __init__(self, batches):
        self.batches = batches

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self):
        for batch, target in self.batches:
            yield rank_share(batch), target


class TotalLoss(torch.nn.Module):
    """The criterion of a :class:`TrainingNet`: the total of a model's loss.

    The model holds its objective; its ``loss`` gives a
    :class:`~sk_dim.nn.models.ModelLoss`, which is the net's ``y_pred``.
    """

    def forward(self, loss: ModelLoss) -> torch.Tensor:
        return loss.total


class TrainingNet(NeuralNet):
    """skorch net training an :class:`~sk_dim.nn.models.InfoMaxModel`.

    ``module_`` is the whole model; the net knows nothing of it beyond the
    protocol of :class:`~sk_dim.nn.models.InfoMaxModel`. ``optimizer_``
    minimises the model's loss with its :meth:`main_parameters`; a model
    with an adversary gets a second optimiser, ``optimizer_adversary_``, of
    the same settings, stepped after each step on the batch's codes, in
    float32.

    The data is one tensor (copied to the GPU when it fits there) sliced into
    batches without per-row collation, or out-of-core data read in chunks;
    the step losses stay on the device and are read back in blocks. Each
    step runs under the precision's autocast (with a gradient scaler for
    float16), compiled when asked (see :class:`~sk_dim._training.step.ModelStep`);
    under torchrun, each process trains on its share of every batch and
    DistributedDataParallel averages the gradients. A loss or codes that
    diverge (:mod:`~sk_dim._training.divergence`: not finite, or grown a
    million times), or a non-finite weight, stop training with
    :class:`~sk_dim.exceptions.TrainingDivergedError`; ``max_time`` ends it
    within the epoch where the time runs out. The model's named terms are
    averaged over each epoch into the history as ``"train_<name>"``.

    Parameters
    ----------
    module : InfoMaxModel
        The initialised model.
    seed : int
        Seed of the batch permutations.
    compile_step : bool, default=False
        Run the model's loss through ``torch.compile``.
    loss_sync_every : int, default=50
        Steps between two copies of the step losses from the device to the
        history.
    precision : {"32", "bf16", "16-mixed"}, default="32"
        float32, bfloat16 autocast, or float16 autocast with a gradient
        scaler (CUDA only).
    max_time : float or None, default=None
        Seconds of training after which each call of ``fit`` or
        ``partial_fit`` stops, within the epoch where they run out.
    **kwargs
        Passed to :class:`skorch.NeuralNet`.
    """

    # The constructor's ``module`` is the very model of ``module_``: listed
    # here (skorch's documented list of prefixes), it is pickled with
    # ``module_`` through skorch's device-aware path, so that a net fitted
    # on a GPU unpickles on a machine without one, its model shared.
    cuda_dependent_attributes_: ClassVar[list[str]] = ["module"]

    def __init__(
        self,
        module: InfoMaxModel,
        seed: int,
        compile_step: bool = False,
        loss_sync_every: int = 50,
        precision: str = "32",
        max_time: float | None = None,
        **kwargs,
    ):
        self.seed = seed
        self.compile_step = compile_step
        self.loss_sync_every = loss_sync_every
        self.precision = precision
        self.max_time = max_time
        super().__init__(module, TotalLoss, train_split=None, **kwargs)

    def __setstate__(self, state):
        # a net saved on a device that is absent here loads on the CPU
        state["device"] = present_device(state.get("device"))
        super().__setstate__(state)

    def get_default_callbacks(self):
        """The epoch timer and the training loss: no validation split, no print log."""
        return [
            ("epoch_timer", EpochTimer()),
            ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
        ]

    def initialize(self):
        super().initialize()
        self.step_ = ModelStep(self.compile_step)
        self.grad_scaler_ = (
            torch.amp.GradScaler("cuda") if self.precision == "16-mixed" else None
        )
        return self

    def initialize_optimizer(self, *args, **kwargs):
        """``optimizer_`` of the model's main parameters; one for its adversary.

        The adversary's optimiser, ``optimizer_adversary_``, takes the
        settings of ``optimizer_``.
        """
        named = list(self.module_.named_main_parameters())
        args, kwargs = self.get_params_for_optimizer("optimizer", named)
        self.optimizer_ = self.optimizer(*args, **kwargs)
        adversary = self.module_.adversary
        if adversary is not None:
            self.optimizer_adversary_ = self.optimizer(adversary.parameters(), **kwargs)
        return self

    def check_memory(self, batch_size: int) -> None:
        """Refuse, before the first step, a batch whose activations cannot fit.

        The model tells the bytes that grow faster than the batch
        (``batch_memory``); the error gives the largest batch that fits.
        """
        needed = self.module.batch_memory(batch_size)  # also before initialize
        device = torch.device(self.device)
        free = free_memory(device) if needed else None
        if free is None or needed <= free:
            return
        largest = int(batch_size * math.sqrt(free / needed))
        raise ValueError(
            f"The activations of a batch need about {needed / 2**30:.1f} GiB "
            f"at batch_size={batch_size}, more than the {free / 2**30:.1f} GiB "
            f"free on {device}: use batch_size <= {largest}. "
            f"{self.module.memory_advice()}".rstrip()
        )

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        """Start the clock of the time budget; count the epochs trained so far."""
        super().on_train_begin(net, X, y, **kwargs)
        self.train_started_ = time.monotonic()
        self.out_of_time_ = False
        self.stopped_by_callback_ = False
        self.epochs_before_train_ = len(self.history)
        self.divergence_ = DivergenceCheck()

    def notify(self, method_name, **cb_kwargs):
        """skorch's notify, noting a callback that ends training after an epoch.

        skorch's callbacks (``EarlyStopping``, and the stopping rule of the
        estimators) end a fit by raising ``KeyboardInterrupt`` at the end of
        an epoch; a user's Ctrl-C comes during the steps.
        """
        try:
            super().notify(method_name, **cb_kwargs)
        except KeyboardInterrupt:
            self.stopped_by_callback_ = method_name == "on_epoch_end"
            raise

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        """skorch's loop; a fit resumed from a checkpoint ends at ``max_epochs``.

        When ``epochs`` is None (``fit``), the epochs that a callback restored
        as training began (skorch's ``LoadInitState``) count among the
        ``max_epochs``, and their steps among those of the learning-rate
        schedule (:attr:`restored_steps_`), so that the resumed fit ends
        where the interrupted one would have. ``partial_fit(epochs=k)`` runs
        ``k`` more epochs.
        """
        restored = range(self.epochs_before_train_, len(self.history))
        self.restored_steps_ = 0
        if epochs is None:
            self.restored_steps_ = sum(
                self.history[epoch].get("train_batch_count", 0) for epoch in restored
            )
            epochs = max(0, self.max_epochs - len(restored))
        return super().fit_loop(X, y, epochs=epochs, **fit_params)

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        """One pass over ``iterator``, reading losses back from the device in blocks.

        Unlike skorch's loop, which calls ``.item()`` after every step, the
        step losses stay on the device and are copied to the history every
        ``loss_sync_every`` steps and at the end of the pass, so that the host
        does not wait for the device at each step. The model's terms are
        averaged over the pass. A training pass ends early once the time
        budget is spent (see :meth:`budget_used`).
        """
        if iterator is None:
            return
        batches = self.history[-1]["batches"]
        pending: list[torch.Tensor] = []
        code_sizes: list[torch.Tensor] = []
        terms: dict[str, list[torch.Tensor]] = {}

        def flush() -> None:
            if pending:
                losses = torch.stack(pending).tolist()
                sizes = torch.stack(code_sizes).tolist()
                for row, loss in zip(batches[-len(losses) :], losses, strict=True):
                    row[prefix + "_loss"] = loss
                pending.clear()
                code_sizes.clear()
                problem = self.divergence_.problem(losses, sizes, len(batches))
                if problem is not None:
                    raise self._diverged(problem)

        for batch in iterator:
            self.notify("on_batch_begin", batch=batch, training=training)
            step = step_fn(batch, **fit_params)
            pending.append(step["loss"])
            code_sizes.append(step["y_pred"].abs().amax().float())
            for name, value in step["terms"].items():
                terms.setdefault(name, []).append(value)
            self.history.record_batch(prefix + "_batch_size", len(batch[0]))
            synced = len(pending) == self.loss_sync_every
            if synced:
                flush()
            self.notify("on_batch_end", batch=batch, training=training, **step)
            if training and self._out_of_time(synced):
                break
        flush()
        self.history.record(prefix + "_batch_count", len(batches))
        for name, values in terms.items():
            self.history.record(f"{prefix}_{name}", float(torch.stack(values).mean()))

    def budget_used(self) -> float:
        """Share of ``max_time`` spent since training began (0 without one)."""
        if self.max_time is None:
            return 0.0
        return (time.monotonic() - self.train_started_) / self.max_time

    def _out_of_time(self, synced: bool) -> bool:
        """Whether the time budget is spent, the same answer in every process.

        Under torchrun, the processes agree at the steps where the losses
        are read back, so that they all stop after the same step.
        """
        if self.max_time is None or (rank_and_world()[1] > 1 and not synced):
            return False
        self.out_of_time_ = any_across_processes(self.budget_used() >= 1, self.device)
        return self.out_of_time_

    def get_split_datasets(self, X, y=None, **fit_params):
        return place_on_device(X, self.device), None

    def get_iterator(self, dataset, training=False):
        # a new order for each call of partial_fit, the same for a given history
        generator = torch.Generator().manual_seed(self.seed + len(self.history))
        batches = make_batches(
            dataset,
            self.batch_size,
            shuffle=training,
            generator=generator if training else None,
            device=self.device,
        )
        _, world = rank_and_world()
        return _RankShares(batches) if training and world > 1 else batches

    def train_step_single(self, batch, **fit_params):
        """The model's loss of one batch, and its gradients.

        Under float16, the gradients are unscaled before callbacks see them
        (``on_grad_computed``, with the parameters that ``optimizer_`` steps,
        so that ``GradientNormClipping`` acts on them).

        Returns
        -------
        step : dict
            ``loss`` (detached), ``y_pred`` (the detached codes) and
            ``terms`` (the model's named terms).
        """
        self.module_.train()
        inputs, _ = batch
        model_loss = self.step_(self.module_, inputs, self.precision)
        loss = self.get_loss(model_loss, X=inputs, training=True)
        scaler = self.grad_scaler_
        if scaler is None:
            loss.backward()
        else:  # float16: scaled gradients
            scaler.scale(loss).backward()
            scaler.unscale_(self.optimizer_)
        self.notify(
            "on_grad_computed",
            named_parameters=TeeGenerator(self.module_.named_main_parameters()),
            batch=batch,
            training=True,
        )
        return {
            "loss": loss.detach(),
            "y_pred": model_loss.codes.detach(),
            "terms": model_loss.terms,
        }

    def train_step(self, batch, **fit_params):
        """One optimiser step of the model, then one of its adversary."""
        self.optimizer_.zero_grad(set_to_none=True)
        step = self.train_step_single(batch, **fit_params)
        scaler = self.grad_scaler_
        if scaler is None:
            self.optimizer_.step()
        else:  # steps skipped on overflow
            scaler.step(self.optimizer_)
            scaler.update()
        adversary = self.module_.adversary
        if adversary is not None:
            self.optimizer_adversary_.zero_grad(set_to_none=True)
            self.module_.adversary_loss(step["y_pred"]).backward()
            average_gradients(adversary)
            self.optimizer_adversary_.step()
        # under torchrun, the loss of the global batch, the same in every process
        step["loss"] = mean_across_processes(step["loss"])
        return step

    def get_loss(self, y_pred: ModelLoss, y_true=None, X=None, training=False):
        """The criterion of the model's loss of a batch, ``y_pred``: its total."""
        return self.criterion_(y_pred)

    def held_out_score(self, data: torch.Tensor, batch_size: int) -> float:
        """The model's ``score`` averaged over the full batches of ``data``.

        The model is in evaluation mode and computes in float32; scores
        may depend on the batch size (a bound over the other samples of the
        batch), hence full batches of ``batch_size`` samples only, or one
        batch of all samples when there are fewer.

        Parameters
        ----------
        data : torch.Tensor, StreamedData or LoaderData
            At least 2 samples.
        batch_size : int
            Samples per batch.

        Returns
        -------
        float
        """
        self.module_.eval()
        batch_size = min(batch_size, len(data))
        batches = make_batches(data, batch_size, device=self.device)
        with torch.inference_mode():
            scores = [
                self.module_.score(batch)
                for batch, _ in batches
                if len(batch) == batch_size
            ]
        return float(torch.stack(scores).float().mean())

    def likely_divergence_causes(self) -> list[str]:
        """What commonly makes this net's training diverge, for error messages."""
        causes = [f"a learning rate too high for the model (lr={self.lr:g})"]
        if self.precision == "16-mixed":
            causes.append("float16 overflow (try precision='bf16' or '32')")
        return causes + self.module_.divergence_causes()

    def _diverged(self, what: str) -> TrainingDivergedError:
        causes = "; ".join(self.likely_divergence_causes())
        return TrainingDivergedError(
            f"Training diverged: {what} in epoch {len(self.history)}. Likely "
            f"causes: {causes}. The estimator is left as it was before this call."
        )

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        """Check the weights; under torchrun, give every process those of process 0.

        DDP sends the buffers at each step, but each process then updates its
        BatchNorm statistics with its own share of the batch; from here on,
        the held-out score and the fitted model are the same in every process.
        A non-finite weight or buffer stops training with
        :class:`~sk_dim.exceptions.TrainingDivergedError`.
        """
        super().on_epoch_end(net, dataset_train, dataset_valid, **kwargs)
        broadcast_buffers(self.module_)
        if has_non_finite_weights(self.module_):
            raise self._diverged("the weights became non-finite")
