"""Training engine: a skorch net that runs Deep InfoMax steps on tensor batches."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable

import torch
from skorch import NeuralNet
from skorch.callbacks import EpochTimer, PassthroughScoring
from torch import nn

from ._batches import TensorBatches, place_on_device
from ._checks import describe
from .prior import (
    discriminator_loss,
    encoder_prior_loss,
    sample_prior,
    to_prior_space,
)


def adam_kernel(device: torch.device) -> dict[str, bool]:
    """Adam's fastest implementation on ``device``: fused on CUDA, else foreach.

    Both update all parameters in a few kernels instead of one loop per
    tensor; on the CPU, foreach makes small-batch steps about 20% faster.
    """
    return {"fused": True} if device.type == "cuda" else {"foreach": True}


#: Constructor arguments of DeepInfoMaxNet holding the module of a fitted attribute.
_SHARED_MODULES = {
    "module": "module_",
    "criterion": "criterion_",
    "discriminator": "discriminator_",
}
#: The fitted networks of a DeepInfoMaxNet (``discriminator_`` may be missing).
NETWORKS = tuple(_SHARED_MODULES.values())


class DeepInfoMaxNet(NeuralNet):
    """skorch net for Deep InfoMax.

    ``module`` is the encoder (with its input normalisation), ``criterion`` the
    :class:`~sk_dim.objectives.DeepInfoMaxObjective` holding the critics, and
    ``discriminator`` the prior discriminator, trained on its own optimizer
    (``optimizer_discriminator_``) when ``gamma > 0``.

    Parameters
    ----------
    module, criterion : torch.nn.Module
        Initialised encoder and objective.
    discriminator : torch.nn.Module or None
        Initialised prior discriminator, None without prior matching.
    prior : str
        ``"uniform"`` or ``"gaussian"``.
    gamma : float
        Weight of the prior-matching loss of the encoder.
    gradient_penalty : float
        Weight of the discriminator's gradient penalty.
    augment : callable or None
        Maps a float batch (images or rows) to an augmented batch of the same
        shape. With it, each step encodes two augmented views of every sample
        and scores the global vector of each view against the local features
        of the other; without it, one view is scored against itself.
    occlude : callable or None, default=None
        Maps a batch of images to occluded float images. With it, the global
        vectors are computed from occluded inputs and the local maps from the
        full ones (in one pass of the encoder over both).
    seed : int
        Seed of the batch permutations.
    compile_step : bool, default=False
        Run the forward pass and loss of each training step (encoder,
        augmentation, critics, estimator and the encoder's prior term)
        through ``torch.compile``. If compilation fails (no C++ compiler, an
        unsupported operation), a warning says why and training goes on
        without it.
    loss_sync_every : int, default=50
        Steps between two copies of the step losses from the device to the
        history.
    **kwargs
        Passed to :class:`skorch.NeuralNet`.
    """

    def __init__(
        self,
        module: nn.Module,
        criterion: nn.Module,
        discriminator: nn.Module | None,
        prior: str,
        gamma: float,
        gradient_penalty: float,
        augment: Callable[[torch.Tensor], torch.Tensor] | None,
        seed: int,
        occlude: Callable[[torch.Tensor], torch.Tensor] | None = None,
        compile_step: bool = False,
        loss_sync_every: int = 50,
        **kwargs,
    ):
        self.discriminator = discriminator
        self.prior = prior
        self.gamma = gamma
        self.gradient_penalty = gradient_penalty
        self.augment = augment
        self.occlude = occlude
        self.seed = seed
        self.compile_step = compile_step
        self.loss_sync_every = loss_sync_every
        super().__init__(module, criterion, train_split=None, **kwargs)

    def __getstate__(self):
        """Pickle every tensor through skorch's device-aware path.

        The constructor arguments ``module``, ``criterion`` and
        ``discriminator`` are the very modules of ``module_``, ``criterion_``
        and ``discriminator_``. skorch reloads the latter on the CPU when a net
        fitted on a GPU is unpickled without one, but would pickle the former
        as plain objects, whose CUDA tensors cannot be loaded there. They are
        left out and restored from the fitted attributes on loading.
        """
        state = super().__getstate__()
        shared = [
            name
            for name, fitted in _SHARED_MODULES.items()
            if state.get(name) is not None
            and state[name] is getattr(self, fitted, None)
        ]
        for name in shared:
            state[name] = None
        state["_shared_modules"] = shared
        state.pop("compiled_loss_", None)  # a compiled function does not pickle
        return state

    def __setstate__(self, state):
        shared = state.pop("_shared_modules", [])
        super().__setstate__(state)
        for name in shared:
            setattr(self, name, getattr(self, _SHARED_MODULES[name]))
        if self.initialized_:
            self._compile_loss()

    @property
    def _default_callbacks(self):
        return [
            ("epoch_timer", EpochTimer()),
            ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
        ]

    @property
    def uses_prior(self) -> bool:
        return self.discriminator is not None and self.gamma > 0

    def initialize_module(self):
        super().initialize_module()
        if self.discriminator is not None:
            self.discriminator_ = self.discriminator
        return self

    def initialize_optimizer(self, *args, **kwargs):
        named = [
            *self.module_.named_parameters(),
            *self.criterion_.named_parameters(),
        ]
        args, kwargs = self.get_params_for_optimizer("optimizer", named)
        self.optimizer_ = self.optimizer(*args, **kwargs)
        if self.discriminator is not None:
            self.optimizer_discriminator_ = self.optimizer(
                self.discriminator_.parameters(), **kwargs
            )
        return self

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        """One pass over ``iterator``, reading losses back from the device in blocks.

        Unlike skorch's loop, which calls ``.item()`` after every step, the
        step losses stay on the device and are copied to the history every
        ``loss_sync_every`` steps and at the end of the pass, so that the host
        does not wait for the device at each step.
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

        for batch in iterator:
            self.notify("on_batch_begin", batch=batch, training=training)
            step = step_fn(batch, **fit_params)
            pending.append(step["loss"])
            self.history.record_batch(prefix + "_batch_size", len(batch[0]))
            if len(pending) == self.loss_sync_every:
                flush()
            self.notify("on_batch_end", batch=batch, training=training, **step)
        flush()
        self.history.record(prefix + "_batch_count", len(batches))

    def initialize(self):
        super().initialize()
        self._compile_loss()
        return self

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
        return TensorBatches(
            dataset,
            self.batch_size,
            shuffle=training,
            generator=generator if training else None,
            device=self.device,
        )

    def held_out_bound(self, data: torch.Tensor, batch_size: int) -> float:
        """Weighted mutual-information bound of the objective on ``data``.

        ``alpha * global + beta * local`` bound of single, unaugmented views,
        averaged over the full batches of ``batch_size`` samples (one batch of
        all samples when there are fewer), with the networks in evaluation
        mode; bounds depend on the batch size, hence full batches only.

        Parameters
        ----------
        data : torch.Tensor
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
        data = data[: len(data) // batch_size * batch_size]
        batches = TensorBatches(data, batch_size, device=self.device)
        bounds = []
        with torch.inference_mode(), self.autocast():
            for batch, _ in batches:
                local_map, global_vector = self.module_(batch)
                scores = self.criterion_.bounds(local_map, global_vector)
                bounds.append(self.criterion_.weighted_bound(scores))
        return float(torch.stack(bounds).mean())

    def autocast(self) -> contextlib.AbstractContextManager:
        """bfloat16 autocast on CUDA, a no-op elsewhere."""
        if torch.device(self.device).type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def forward_loss(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Loss of the encoder and critics on one batch, and its global vectors.

        Returns the scalar loss and the global vectors (B, D), or (2B, D)
        for two views.
        """
        with self.autocast():
            if self.augment is None:
                local_map, global_vector = self._encode(inputs)
                loss = self.criterion_(local_map, global_vector)
            else:
                global_vector, loss = self._two_view_loss(inputs)
            if self.uses_prior:
                encoded = to_prior_space(global_vector.float(), self.prior)
                loss = loss + self.gamma * encoder_prior_loss(
                    self.discriminator_, encoded
                )
        return loss, global_vector

    def _step_loss(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``forward_loss``, compiled when asked and while compilation works."""
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

    def train_step(self, batch, **fit_params):
        self._set_training(True)
        inputs, _ = batch
        loss, global_vector = self._step_loss(inputs)
        self.optimizer_.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer_.step()
        if self.uses_prior:
            encoded = to_prior_space(global_vector.detach().float(), self.prior)
            self._discriminator_step(encoded)
        return {"loss": loss.detach(), "y_pred": global_vector.detach()}

    def _encode(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Local maps of ``inputs``, and global vectors of them once occluded."""
        if self.occlude is None:
            return self.module_(inputs)
        inputs = inputs.float()
        local_map, global_vector = self.module_(
            torch.cat([inputs, self.occlude(inputs)])
        )
        return local_map.chunk(2)[0], global_vector.chunk(2)[1]

    def _two_view_loss(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode two augmented views; score each view's Y against the other's map.

        Returns the global vectors (2B, D) of both views and the mean loss of
        the two pairings.
        """
        inputs = inputs.float()
        views = [self.augment(inputs), self.augment(inputs)]
        for view in views:
            if not isinstance(view, torch.Tensor) or view.shape != inputs.shape:
                raise ValueError(
                    "augmentation must return a tensor of the shape of its input "
                    f"{tuple(inputs.shape)}, got {describe(view)}."
                )
        local_map, global_vector = self._encode(torch.cat(views))
        local_a, local_b = local_map.chunk(2)
        global_a, global_b = global_vector.chunk(2)
        loss = self.criterion_(local_a, global_b) + self.criterion_(local_b, global_a)
        return global_vector, loss / 2

    def _discriminator_step(self, encoded: torch.Tensor) -> None:
        self.optimizer_discriminator_.zero_grad(set_to_none=True)
        prior_samples = sample_prior(self.prior, encoded)
        loss = discriminator_loss(
            self.discriminator_, prior_samples, encoded, self.gradient_penalty
        )
        loss.backward()
        self.optimizer_discriminator_.step()
