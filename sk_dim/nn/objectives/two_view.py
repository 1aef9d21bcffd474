"""The objective of TwoViewInfoMax: a bound between the codes of two views."""

from __future__ import annotations

import torch
from torch import nn

from ..critics import make_critic
from ..mi_estimators import estimate_mi

__all__ = ["CrossViewObjective"]


class CrossViewObjective(nn.Module):
    """Mutual-information bound between the codes of two views of each sample.

    The critic scores every pair (code of view a, code of view b) of the
    batch; the estimator reads those (B, B, 1) scores, whose diagonal holds
    the positive pairs (Tschannen et al. 2020).

    Parameters
    ----------
    estimator : callable
        See :mod:`sk_dim.nn.mi_estimators`.
    critic : str, class or torch.nn.Module
        See :func:`~sk_dim.nn.critics.make_critic`.
    n_components : int
        Size of the codes of both views.
    critic_width : int
        Hidden width of the critics that have hidden layers.

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.mi_estimators import InfoNCE
    >>> from sk_dim.nn.objectives import CrossViewObjective
    >>> objective = CrossViewObjective(InfoNCE(), "bilinear", 4, critic_width=8)
    >>> objective(torch.randn(6, 4), torch.randn(6, 4)).shape
    torch.Size([])
    """

    def __init__(self, estimator, critic, n_components: int, critic_width: int):
        super().__init__()
        self.estimator = estimator
        self.critic = make_critic(
            critic,
            n_components,
            n_components,
            embedding_dim=n_components,
            hidden_features=critic_width,
        )

    def forward(self, codes_a: torch.Tensor, codes_b: torch.Tensor) -> torch.Tensor:
        """The bound (a scalar) from (B, D) codes of view a and of view b."""
        return estimate_mi(self.estimator, self.critic, codes_b[:, None], codes_a)
