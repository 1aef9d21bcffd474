"""The skorch net of Deep InfoMax: encoder, critics and prior discriminator."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import ClassVar

import torch
from torch import nn

from ._checks import describe
from ._distributed import average_gradients, gather_rows
from ._engine import TrainingNet
from ._runtime import free_memory
from .estimators import DV, NWJ
from .prior import (
    discriminator_loss,
    encoder_prior_loss,
    sample_prior,
    to_prior_space,
)


class DeepInfoMaxNet(TrainingNet):
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
    seed : int
        Seed of the batch permutations.
    occlude : callable or None, default=None
        Maps a batch of images to occluded float images. With it, the global
        vectors are computed from occluded inputs and the local maps from the
        full ones (in one pass of the encoder over both).
    **kwargs
        Passed to :class:`~sk_dim._engine.TrainingNet` (``compile_step``,
        ``loss_sync_every``) and :class:`skorch.NeuralNet`.
    """

    shared_modules: ClassVar[dict[str, str]] = {
        **TrainingNet.shared_modules,
        "discriminator": "discriminator_",
    }

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
        **kwargs,
    ):
        self.discriminator = discriminator
        self.prior = prior
        self.gamma = gamma
        self.gradient_penalty = gradient_penalty
        self.augment = augment
        self.occlude = occlude
        super().__init__(module, criterion, seed, **kwargs)

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

    def check_memory(self, batch_size: int) -> None:
        """Refuse a batch whose pairs' activations exceed the device's free memory.

        Critics that score every pair (``"concat"``, ``"concat_and_convolve"``)
        keep (B, B, L, H) activations for the backward pass, twice with two
        views; the error gives the largest batch that fits.
        """
        calls = 1 if self.augment is None else 2
        needed = calls * self.criterion.pair_memory(batch_size)  # before initialize
        device = torch.device(self.device)
        free = free_memory(device) if needed else None
        if free is None or needed <= free:
            return
        largest = int(batch_size * math.sqrt(free / needed))
        raise ValueError(
            f"The critic scores all B x B x L pairs of a batch and keeps their "
            f"hidden activations for the backward pass: about {needed / 2**30:.1f} "
            f"GiB at batch_size={batch_size}, more than the {free / 2**30:.1f} "
            f"GiB free on {device}. Use batch_size <= {largest}, a smaller "
            "critic_width, or critic='encode_and_dot', whose memory grows "
            "linearly with the batch."
        )

    def likely_divergence_causes(self) -> list[str]:
        causes = super().likely_divergence_causes()
        objective = self.criterion_
        estimator = objective.global_estimator or objective.local_estimator
        if isinstance(estimator, DV | NWJ):
            causes.append(
                f"the {type(estimator).__name__} bound, which exponentiates the "
                "critic's scores (mi_estimator='infonce' or 'jsd' cannot overflow)"
            )
        return causes

    def batch_score(self, batch: torch.Tensor) -> torch.Tensor:
        """``alpha * global + beta * local`` bound of one unaugmented view."""
        local_map, global_vector = self.module_(batch)
        scores = self.criterion_.bounds(local_map, global_vector)
        return self.criterion_.weighted_bound(scores)

    def forward_loss(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Loss of the encoder and critics on one batch, and its global vectors.

        Returns the scalar loss and the global vectors (B, D), or (2B, D)
        for two views; under torchrun, those of the global batch.
        """
        with self.autocast():
            if self.augment is None:
                local_map, global_vector = map(gather_rows, self._encode(inputs))
                loss = self.criterion_(local_map, global_vector)
            else:
                global_vector, loss = self._two_view_loss(inputs)
            if self.uses_prior:
                encoded = to_prior_space(global_vector.float(), self.prior)
                loss = loss + self.gamma * encoder_prior_loss(
                    self.discriminator_, encoded
                )
        return loss, global_vector

    def after_step(self, codes: torch.Tensor) -> None:
        """One step of the prior discriminator on the batch's global vectors."""
        if not self.uses_prior:
            return
        encoded = to_prior_space(codes.float(), self.prior)
        self.optimizer_discriminator_.zero_grad(set_to_none=True)
        prior_samples = sample_prior(self.prior, encoded)
        loss = discriminator_loss(
            self.discriminator_, prior_samples, encoded, self.gradient_penalty
        )
        loss.backward()
        average_gradients(self.discriminator_)
        self.optimizer_discriminator_.step()

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
        # under torchrun, the rows of every process: negatives of the global batch
        local_a, local_b = map(gather_rows, local_map.chunk(2))
        global_a, global_b = map(gather_rows, global_vector.chunk(2))
        loss = self.criterion_(local_a, global_b) + self.criterion_(local_b, global_a)
        return torch.cat([global_a, global_b]), loss / 2
