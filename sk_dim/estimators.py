"""Mutual-information bounds computed from a tensor of critic scores.

Every estimator is a pure function of one score tensor ``scores`` of shape
``(B, B, L)``: ``scores[a, b, i]`` is the critic's value for the global vector of
sample ``a`` paired with location ``i`` of sample ``b``. Pairs on the diagonal
(``a == b``) are drawn from the joint distribution (positives); the others are
drawn from the product of marginals (negatives). A global objective is the case
``L == 1``.

Each function returns a scalar lower bound on the mutual information in nats;
the training loss is its negative.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

Estimator = Callable[[torch.Tensor], torch.Tensor]

__all__ = [
    "MI_ESTIMATORS",
    "dv_bound",
    "get_estimator",
    "infonce_bound",
    "jsd_bound",
]


def _check_scores(scores: torch.Tensor) -> tuple[int, int]:
    if scores.ndim != 3 or scores.shape[0] != scores.shape[1]:
        raise ValueError(
            "scores must have shape (B, B, L) with positives on the diagonal of "
            f"the first two axes, got shape {tuple(scores.shape)}."
        )
    batch, n_locations = scores.shape[0], scores.shape[2]
    if batch < 2:
        raise ValueError(
            "A mutual-information bound needs negatives: at least 2 samples per "
            f"batch, got {batch}."
        )
    return batch, n_locations


def _positives(scores: torch.Tensor) -> torch.Tensor:
    return scores.diagonal(dim1=0, dim2=1)  # (L, B)


def _negatives_masked(scores: torch.Tensor) -> torch.Tensor:
    """Scores with the positives replaced by ``-inf`` (neutral for logsumexp)."""
    batch = scores.shape[0]
    eye = torch.eye(batch, dtype=torch.bool, device=scores.device).unsqueeze(-1)
    return scores.masked_fill(eye, float("-inf"))  # (B, B, L)


def jsd_bound(scores: torch.Tensor) -> torch.Tensor:
    """Jensen-Shannon estimate used by Deep InfoMax.

    ``2 log 2 - E_pos[softplus(-u)] - E_neg[softplus(u)]``: twice the
    Jensen-Shannon divergence between the joint and the product of marginals.
    It is a stable surrogate that increases with the mutual information, not a
    bound on it in nats; its values lie in ``[0, 2 log 2]``.

    Parameters
    ----------
    scores : torch.Tensor of shape (B, B, L)
        Critic scores, positives on the diagonal of the first two axes.

    Returns
    -------
    torch.Tensor
        Scalar estimate.
    """
    batch, n_locations = _check_scores(scores)
    positives = _positives(scores)  # (L, B)
    negative_total = F.softplus(scores).sum() - F.softplus(positives).sum()
    negative_mean = negative_total / (batch * (batch - 1) * n_locations)
    positive_mean = F.softplus(-positives).mean()
    return 2.0 * math.log(2.0) - positive_mean - negative_mean


def infonce_bound(scores: torch.Tensor) -> torch.Tensor:
    """InfoNCE lower bound (van den Oord et al. 2018).

    For each positive ``(a, i)`` the candidates are the positive itself and all
    negatives of anchor ``a`` (every location of every other sample). The bound
    is ``log K + E[log softmax]`` with ``K = (B - 1) L + 1`` candidates, hence it
    never exceeds ``log K``. The negatives' log-sum-exp is shared by all
    locations of an anchor, so memory stays ``O(B^2 L)``.

    Parameters
    ----------
    scores : torch.Tensor of shape (B, B, L)
        Critic scores, positives on the diagonal of the first two axes.

    Returns
    -------
    torch.Tensor
        Scalar lower bound in nats.
    """
    batch, n_locations = _check_scores(scores)
    positives = _positives(scores).T  # (B, L)
    negatives = _negatives_masked(scores).reshape(batch, -1)  # (B, B L)
    negative_lse = torch.logsumexp(negatives, dim=1, keepdim=True)  # (B, 1)
    log_softmax = positives - torch.logaddexp(positives, negative_lse)  # (B, L)
    n_candidates = (batch - 1) * n_locations + 1
    return math.log(n_candidates) + log_softmax.mean()


def dv_bound(scores: torch.Tensor) -> torch.Tensor:
    """Donsker-Varadhan lower bound (the bound of MINE).

    ``E_pos[u] - log E_neg[exp(u)]``, the second term computed with logsumexp.

    Parameters
    ----------
    scores : torch.Tensor of shape (B, B, L)
        Critic scores, positives on the diagonal of the first two axes.

    Returns
    -------
    torch.Tensor
        Scalar lower bound in nats.
    """
    batch, n_locations = _check_scores(scores)
    positive_mean = _positives(scores).mean()
    n_negatives = batch * (batch - 1) * n_locations
    log_mean_exp = torch.logsumexp(_negatives_masked(scores).flatten(), 0)
    return positive_mean - (log_mean_exp - math.log(n_negatives))


MI_ESTIMATORS: dict[str, Estimator] = {
    "jsd": jsd_bound,
    "infonce": infonce_bound,
    "dv": dv_bound,
}


def get_estimator(estimator: str | Estimator) -> Estimator:
    """Resolve an estimator given by name or as a callable.

    Parameters
    ----------
    estimator : str or callable
        A key of :data:`MI_ESTIMATORS` or a function mapping a ``(B, B, L)``
        score tensor to a scalar bound.

    Returns
    -------
    callable
        The estimator function.
    """
    if callable(estimator):
        return estimator
    try:
        return MI_ESTIMATORS[estimator]
    except (KeyError, TypeError):
        raise ValueError(
            f"Unknown mi_estimator {estimator!r}; expected one of "
            f"{sorted(MI_ESTIMATORS)} or a callable."
        ) from None
