"""The Deep InfoMax objective: weighted global and local mutual information."""

from __future__ import annotations

import torch
from torch import nn

from .critics import EncodeAndDotCritic
from .estimators import Estimator

__all__ = ["DeepInfoMaxObjective"]


class DeepInfoMaxObjective(nn.Module):
    """Global and local mutual-information bounds of Deep InfoMax.

    The global term scores the whole local feature map (flattened) against the
    global vector; the local term scores every location of the map against the
    global vector. Critics are built only for terms with a positive weight.

    Parameters
    ----------
    estimator : callable
        Maps a (B, B, L) score tensor to a scalar bound (see
        :mod:`sk_dim.estimators`).
    local_channels : int
        Channels of the local feature map.
    local_size : tuple of int
        ``(height, width)`` of the local feature map.
    n_components : int
        Size of the global vector.
    alpha : float
        Weight of the global term.
    beta : float
        Weight of the local term.
    embedding_dim : int
        Size of the critics' embedding space.
    critic_hidden : int
        Width of the critics' hidden layers.
    """

    def __init__(
        self,
        estimator: Estimator,
        local_channels: int,
        local_size: tuple[int, int],
        n_components: int,
        alpha: float,
        beta: float,
        embedding_dim: int,
        critic_hidden: int,
    ):
        super().__init__()
        self.estimator = estimator
        self.alpha = alpha
        self.beta = beta
        n_locations = local_size[0] * local_size[1]
        self.global_critic = (
            EncodeAndDotCritic(
                local_channels * n_locations,
                n_components,
                embedding_dim,
                critic_hidden,
            )
            if alpha > 0
            else None
        )
        self.local_critic = (
            EncodeAndDotCritic(
                local_channels, n_components, embedding_dim, critic_hidden
            )
            if beta > 0
            else None
        )

    def bounds(
        self, local_map: torch.Tensor, global_vector: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """Mutual-information bounds of the active terms.

        Parameters
        ----------
        local_map : torch.Tensor of shape (B, C, H, W)
        global_vector : torch.Tensor of shape (B, D)

        Returns
        -------
        dict
            ``{"global": bound, "local": bound}`` for the terms with a positive
            weight, each a scalar in float32.
        """
        result = {}
        if self.global_critic is not None:
            whole_map = local_map.flatten(1).unsqueeze(1)  # (B, 1, C H W)
            scores = self.global_critic(whole_map, global_vector)  # (B, B, 1)
            result["global"] = self.estimator(scores.float())
        if self.local_critic is not None:
            locations = local_map.flatten(2).transpose(1, 2)  # (B, H W, C)
            scores = self.local_critic(locations, global_vector)  # (B, B, H W)
            result["local"] = self.estimator(scores.float())
        return result

    def weighted_bound(self, bounds: dict[str, torch.Tensor]) -> torch.Tensor:
        """``alpha * global + beta * local`` over the active terms."""
        weights = {"global": self.alpha, "local": self.beta}
        return sum(weights[name] * value for name, value in bounds.items())

    def forward(
        self, local_map: torch.Tensor, global_vector: torch.Tensor
    ) -> torch.Tensor:
        """Training loss: the negative weighted bound."""
        return -self.weighted_bound(self.bounds(local_map, global_vector))
