"""The skorch net of the Mutual Information Machine and of its VAE baseline."""

from __future__ import annotations

import torch

from .._training.engine import TrainingNet


class LatentModelNet(TrainingNet):
    """skorch net training a :class:`~sk_dim.mim_networks.LatentVariableModel`.

    ``module`` is the model (input scaling, encoder, decoder and likelihood)
    and ``criterion`` its :class:`~sk_dim.objectives.mim.LatentObjective`.
    The held-out score of a batch is the negative loss.
    """

    def forward_loss(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Loss of one batch of raw inputs, and its (B, D) code means."""
        return self.criterion_(self.module_, inputs)

    def batch_score(self, batch: torch.Tensor) -> torch.Tensor:
        loss, _ = self.criterion_(self.module_, batch)
        return -loss
