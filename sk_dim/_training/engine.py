"""Training engine: a skorch net that runs the steps of a model on tensor batches."""

from __future__ import annotations

import contextlib
import copy
import itertools
import math
import time
import warnings
from typing import ClassVar

import torch
from skorch import NeuralNet
from skorch.callbacks import EpochTimer, PassthroughScoring
from skorch.utils import TeeGenerator
from torch import nn

from ..exceptions import TrainingDivergedError
from .batches import make_batches, place_on_device
from .devices import PRECISIONS, present_device
from .distributed import (
    any_across_processes,
    broadcast_buffers,
    data_parallel,
    mean_across_processes,
    rank_and_world,
    rank_share,
)


class _TrainingStep(nn.Module):
    """The module and criterion of a net, whose forward is the net's step loss.

    DistributedDataParallel wraps it, so that the parameters of both are
    averaged across processes after each backward pass.
    """

    def __init__(self, net: TrainingNet):
        super().__init__()
        self.module = net.module_
        self.criterion = net.criterion_
        self.step_loss = net._step_loss

    def forward(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.step_loss(inputs)


class _DataParallelStep:
    """The training step of a net in DistributedDataParallel (None alone).

    A plain holder, so that skorch does not take the wrapper for one of the
    net's own modules.
    """

    def __init__(self, net: TrainingNet):
        self.model = data_parallel(_TrainingStep(net))


class _RankShares:
    """This process's share of each global batch of ``batches``."""

    def __init__(self, batches):
        self.batches = batches

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self):
        for batch, target in self.batches:
            yield rank_share(batch), target


class TrainingNet(NeuralNet):
    """skorch net of an sk_dim model, trained on whole-tensor mini-batches.

    Under torchrun, each process trains on its share of every batch and
    DistributedDataParallel averages the gradients (see
    :mod:`sk_dim._training.distributed`).

    The data is one tensor (copied to the GPU when it fits there) sliced into
    batches without per-row collation, or out-of-core data read in chunks;
    the step losses stay on the device and are read back in blocks; the
    forward pass and loss of each step can be compiled. A subclass defines
    :meth:`forward_loss` (the loss of one batch) and :meth:`batch_score` (the
    held-out score of one batch), and may act after each optimizer step in
    :meth:`after_step`.

    Parameters
    ----------
    module, criterion : torch.nn.Module
        Initialised model and loss; both are trained by ``optimizer_``.
    seed : int
        Seed of the batch permutations.
    compile_step : bool, default=False
        Run :meth:`forward_loss` through ``torch.compile``. If compilation
        fails (no C++ compiler, an unsupported operation), a warning says why
        and training goes on without it.
    loss_sync_every : int, default=50
        Steps between two copies of the step losses from the device to the
        history.
    precision : {"32", "bf16", "16-mixed"}, default="32"
        Precision of :meth:`forward_loss`, which the engine runs under
        autocast for every model: float32, bfloat16 autocast, or float16
        autocast with a gradient scaler (CUDA only).
    max_time : float or None, default=None
        Seconds of training after which each call of ``fit`` or
        ``partial_fit`` stops, within the epoch where they run out.
    **kwargs
        Passed to :class:`skorch.NeuralNet`.
    """

    #: Constructor arguments holding the very module of a fitted attribute.
    shared_modules: ClassVar[dict[str, str]] = {
        "module": "module_",
        "criterion": "criterion_",
    }
    #: Fitted attributes holding a model made of the other fitted networks.
    grouping_modules: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        module: nn.Module,
        criterion: nn.Module,
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
        super().__init__(module, criterion, train_split=None, **kwargs)

    def __getstate__(self):
        """Pickle every tensor through skorch's device-aware path.

        The constructor arguments of :attr:`shared_modules` are the very
        modules of the fitted attributes. skorch reloads the latter on the
        CPU when a net fitted on a GPU is unpickled without one, but would
        pickle the former as plain objects, whose CUDA tensors cannot be
        loaded there. They are left out and restored from the fitted
        attributes on loading.
        """
        state = super().__getstate__()
        shared = [
            name
            for name, fitted in self.shared_modules.items()
            if state.get(name) is not None
            and state[name] is getattr(self, fitted, None)
        ]
        for name in shared:
            state[name] = None
        state["_shared_modules"] = shared
        state.pop("compiled_loss_", None)  # a compiled function does not pickle
        state.pop("parallel_step_", None)  # nor a process group
        return state

    def __setstate__(self, state):
        state["device"] = present_device(state.get("device"))
        shared = state.pop("_shared_modules", [])
        super().__setstate__(state)
        for name in shared:
            setattr(self, name, getattr(self, self.shared_modules[name]))
        if self.initialized_:
            self._compile_loss()

    @property
    def _default_callbacks(self):
        return [
            ("epoch_timer", EpochTimer()),
            ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
        ]

    def fitted_networks(self) -> dict[str, nn.Module]:
        """The fitted networks by attribute name, for saving and moving them.

        A module of :attr:`grouping_modules`, which only holds others, is
        not one of them.
        """
        return {
            fitted: network
            for fitted in self.shared_modules.values()
            if fitted not in self.grouping_modules
            and (network := getattr(self, fitted, None)) is not None
        }

    def fitted_optimizers(
        self,
    ) -> dict[str, torch.optim.Optimizer | torch.amp.GradScaler]:
        """The optimisers, and float16's gradient scaler, by attribute name."""
        return {
            name: value
            for name, value in vars(self).items()
            if isinstance(value, torch.optim.Optimizer | torch.amp.GradScaler)
        }

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        """One pass over ``iterator``, reading losses back from the device in blocks.

        Unlike skorch's loop, which calls ``.item()`` after every step, the
        step losses stay on the device and are copied to the history every
        ``loss_sync_every`` steps and at the end of the pass, so that the host
        does not wait for the device at each step. A training pass ends early
        once the time budget is spent (see :meth:`budget_used`).
        """
        if iterator is None:
            return
        batches = self.history[-1]["batches"]
        pending: list[torch.Tensor] = []

        def flush() -> None:
            if pending:
                losses = torch.stack(pending).tolist()
                for row, loss in zip(batches[-len(losses) :], losses, strict=True):
                    row[prefix + "_loss"] = loss
                pending.clear()
                self._check_finite_losses(losses, len(batches))

        for batch in iterator:
            self.notify("on_batch_begin", batch=batch, training=training)
            step = step_fn(batch, **fit_params)
            pending.append(step["loss"])
            self.history.record_batch(prefix + "_batch_size", len(batch[0]))
            synced = len(pending) == self.loss_sync_every
            if synced:
                flush()
            self.notify("on_batch_end", batch=batch, training=training, **step)
            if training and self._out_of_time(synced):
                break
        flush()
        self.history.record(prefix + "_batch_count", len(batches))

    def training_state(self) -> dict:
        """Copies of what training changes: weights, optimiser states, history.

        :meth:`restore_training_state` puts them back, in place.
        """
        return {
            "networks": self.copy_weights(),
            "optimizers": {
                name: copy.deepcopy(value.state_dict())
                for name, value in self.fitted_optimizers().items()
            },
            "history": copy.deepcopy(self.history),
            "callbacks": (self.callbacks, getattr(self, "callbacks_", None)),
        }

    def copy_weights(self) -> dict[str, dict[str, torch.Tensor]]:
        """Copies of the state dicts of :meth:`fitted_networks`, by attribute name."""
        return {
            name: {key: value.clone() for key, value in network.state_dict().items()}
            for name, network in self.fitted_networks().items()
        }

    def load_weights(self, weights: dict[str, dict[str, torch.Tensor]]) -> None:
        """Load weights of :meth:`copy_weights` into the networks, in place."""
        for name, state in weights.items():
            getattr(self, name).load_state_dict(state)

    def restore_training_state(self, state: dict) -> None:
        """Return to a :meth:`training_state`."""
        self.load_weights(state["networks"])
        for name, optimizer_state in state["optimizers"].items():
            getattr(self, name).load_state_dict(optimizer_state)
        self.history = state["history"]
        self.callbacks, self.callbacks_ = state["callbacks"]

    def move_to(self, device: torch.device) -> None:
        """Move the networks and the optimisers' states to ``device``.

        The optimisers reload their own state, which puts each tensor where
        its parameter now is (and Adam's step counts where its kernel wants
        them). float16 with a gradient scaler needs CUDA: elsewhere the
        net trains in float32.
        """
        for network in self.fitted_networks().values():
            network.to(device)
        for optimizer in self.fitted_optimizers().values():
            if isinstance(optimizer, torch.optim.Optimizer):
                optimizer.load_state_dict(optimizer.state_dict())
        self.device = device
        if self.precision == "16-mixed" and device.type != "cuda":
            self.precision = "32"
            self.grad_scaler_ = None

    def check_memory(self, batch_size: int) -> None:
        """Refuse, before the first step, a batch whose activations cannot fit.

        Nothing is checked here; a subclass whose memory grows fastest with
        the batch (critics of every pair) knows what to check.
        """

    def likely_divergence_causes(self) -> list[str]:
        """What commonly makes this net's training diverge, for error messages."""
        causes = [f"a learning rate too high for the model (lr={self.lr:g})"]
        if self.precision == "16-mixed":
            causes.append("float16 overflow (try precision='bf16' or '32')")
        return causes

    def _diverged(self, what: str) -> TrainingDivergedError:
        causes = "; ".join(self.likely_divergence_causes())
        return TrainingDivergedError(
            f"Training diverged: {what} in epoch {len(self.history)}. Likely "
            f"causes: {causes}. The estimator is left as it was before this call."
        )

    def _check_finite_losses(self, losses: list[float], n_steps: int) -> None:
        """Raise at the first non-finite loss of the block that ends at ``n_steps``."""
        for step, loss in enumerate(losses, start=n_steps - len(losses) + 1):
            if not math.isfinite(loss):
                raise self._diverged(f"the loss became {loss} at step {step}")

    def _check_finite_weights(self) -> None:
        """Raise if a weight of the networks, or a buffer of the model, is not finite.

        Buffers of the other networks may hold NaN on purpose (DV's moving
        average before its first update).
        """
        tensors = [
            tensor.detach()
            for network in self.fitted_networks().values()
            for tensor in network.parameters()
        ] + [tensor for tensor in self.module_.buffers() if tensor.is_floating_point()]
        finite = torch.stack([tensor.isfinite().all() for tensor in tensors])
        if not bool(finite.all()):
            raise self._diverged("the weights became non-finite")

    def initialize(self):
        super().initialize()
        self._compile_loss()
        self.grad_scaler_ = (
            torch.amp.GradScaler("cuda") if self.precision == "16-mixed" else None
        )
        return self

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        """Start the clock of the time budget; count the epochs trained so far."""
        super().on_train_begin(net, X, y, **kwargs)
        self.train_started_ = time.monotonic()
        self.out_of_time_ = False
        self.stopped_by_callback_ = False
        self.epochs_before_train_ = len(self.history)

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

    def _compile_loss(self) -> None:
        # torch.compile only wraps here; it compiles at the first call
        self.compiled_loss_ = (
            torch.compile(self.forward_loss) if self.compile_step else None
        )

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

    def autocast(self) -> contextlib.AbstractContextManager:
        """Autocast of the training ``precision`` (a no-op for "32")."""
        dtype = PRECISIONS[self.precision]
        if dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(torch.device(self.device).type, dtype=dtype)

    def forward_loss(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Scalar training loss of one batch, and the batch's codes for ``y_pred``."""
        raise NotImplementedError

    def batch_score(self, batch: torch.Tensor) -> torch.Tensor:
        """Held-out score (higher is better) of one batch, a scalar tensor."""
        raise NotImplementedError

    def after_step(self, codes: torch.Tensor) -> None:
        """Act after the optimizer step, on the batch's codes (nothing here)."""

    def held_out_score(self, data: torch.Tensor, batch_size: int) -> float:
        """:meth:`batch_score` averaged over the full batches of ``data``.

        The networks are in evaluation mode and compute in float32; scores
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
        self.criterion_.eval()
        batch_size = min(batch_size, len(data))
        batches = make_batches(data, batch_size, device=self.device)
        with torch.inference_mode():
            scores = [
                self.batch_score(batch)
                for batch, _ in batches
                if len(batch) == batch_size
            ]
        return float(torch.stack(scores).float().mean())

    def _step_loss(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``forward_loss`` under the training precision's autocast, compiled
        when asked and while compilation works."""
        with self.autocast():
            return self._forward_loss(inputs)

    def _forward_loss(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.compiled_loss_ is None:
            return self.forward_loss(inputs)
        try:
            return self.compiled_loss_(inputs)
        except Exception as error:  # eager forward_loss re-raises errors of the model
            self.compiled_loss_ = None
            reason = str(error).strip().splitlines()[0] if str(error) else ""
            warnings.warn(
                f"torch.compile failed ({type(error).__name__}: {reason}); "
                "training goes on without compilation.",
                UserWarning,
                stacklevel=2,
            )
            return self.forward_loss(inputs)

    def _parallel_step(self) -> nn.Module | None:
        """The training step in DistributedDataParallel under torchrun, else None."""
        if getattr(self, "parallel_step_", None) is None:
            self.parallel_step_ = _DataParallelStep(self)
        return self.parallel_step_.model

    def train_step(self, batch, **fit_params):
        self._set_training(True)
        inputs, _ = batch
        parallel_step = self._parallel_step()
        if parallel_step is None:
            loss, codes = self._step_loss(inputs)
        else:
            loss, codes = parallel_step(inputs)
        self.optimizer_.zero_grad(set_to_none=True)
        scaler = self.grad_scaler_
        if scaler is None:
            loss.backward()
            self._notify_gradients(batch)
            self.optimizer_.step()
        else:  # float16: scaled gradients, steps skipped on overflow
            scaler.scale(loss).backward()
            scaler.unscale_(self.optimizer_)  # callbacks see the true gradients
            self._notify_gradients(batch)
            scaler.step(self.optimizer_)
            scaler.update()
        self.after_step(codes.detach())
        # under torchrun, the loss of the global batch, the same in every process
        return {"loss": mean_across_processes(loss.detach()), "y_pred": codes.detach()}

    def _notify_gradients(self, batch) -> None:
        """skorch's ``on_grad_computed``, with the parameters that ``optimizer_``
        steps, so that callbacks such as ``GradientNormClipping`` act on them."""
        named = itertools.chain(
            self.module_.named_parameters(), self.criterion_.named_parameters()
        )
        self.notify(
            "on_grad_computed",
            named_parameters=TeeGenerator(named),
            batch=batch,
            training=True,
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
        for network in self.fitted_networks().values():
            broadcast_buffers(network)
        self._check_finite_weights()
