"""Mutual-information bounds: pure functions of a tensor of critic scores.

Every bound reads one score tensor ``scores`` of shape ``(B, B, L)``:
``scores[a, b, i]`` is the critic's value for the global vector of sample
``a`` paired with location ``i`` of sample ``b``. Pairs on the diagonal
(``a == b``) are drawn from the joint distribution (positives); the others are
drawn from the product of marginals (negatives). A global objective is the
case ``L == 1``.

Each function returns a scalar lower bound on the mutual information in nats;
the training loss is its negative. :func:`second_order_mi` is the exception:
it reads two embeddings, not scores (explicit MI from second-order
statistics). The modules of :mod:`sk_dim.nn.mi_estimators` wrap these
functions.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = [
    "dv_bound",
    "dv_estimate",
    "infonce_bound",
    "jsd_bound",
    "jsd_estimate",
    "log_mean_exp_negatives",
    "nwj_bound",
    "positive_scores",
    "second_order_mi",
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


def positive_scores(scores: torch.Tensor) -> torch.Tensor:
    """The scores of the positive pairs: the diagonal of the first two axes.

    Parameters
    ----------
    scores : torch.Tensor of shape (B, B, L)
        Critic scores, positives on the diagonal.

    Returns
    -------
    torch.Tensor of shape (L, B)

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.bounds import positive_scores
    >>> positive_scores(torch.eye(3)[:, :, None]).tolist()
    [[1.0, 1.0, 1.0]]
    """
    return scores.diagonal(dim1=0, dim2=1)  # (L, B)


def _positive_mask(scores: torch.Tensor) -> torch.Tensor:
    """True at the positive pairs of (B, B, L) scores: (B, B, 1)."""
    batch = scores.shape[0]
    return torch.eye(batch, dtype=torch.bool, device=scores.device).unsqueeze(-1)


def _negatives_masked(scores: torch.Tensor) -> torch.Tensor:
    """Scores with the positives replaced by ``-inf`` (neutral for logsumexp)."""
    return scores.masked_fill(_positive_mask(scores), float("-inf"))  # (B, B, L)


def log_mean_exp_negatives(scores: torch.Tensor) -> torch.Tensor:
    """``log E_neg[exp(u)]`` over all negative pairs, without gathering them.

    Parameters
    ----------
    scores : torch.Tensor of shape (B, B, L)
        Critic scores, positives on the diagonal.

    Returns
    -------
    torch.Tensor
        A scalar.

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.bounds import log_mean_exp_negatives
    >>> float(log_mean_exp_negatives(torch.zeros(4, 4, 2)))
    0.0
    """
    batch, n_locations = scores.shape[0], scores.shape[2]
    n_negatives = batch * (batch - 1) * n_locations
    return torch.logsumexp(_negatives_masked(scores).flatten(), 0) - math.log(
        n_negatives
    )


def _log_mean_exp(values: torch.Tensor) -> torch.Tensor:
    """``log E[exp(u)]`` over all of ``values``, computed with logsumexp."""
    return torch.logsumexp(values.flatten(), 0) - math.log(values.numel())


def _jsd(positive_mean: torch.Tensor, negative_mean: torch.Tensor) -> torch.Tensor:
    """``2 log 2 - E_pos[softplus(-u)] - E_neg[softplus(u)]`` from its two means."""
    return 2.0 * math.log(2.0) - positive_mean - negative_mean


def jsd_estimate(
    joint_scores: torch.Tensor, marginal_scores: torch.Tensor
) -> torch.Tensor:
    """Jensen-Shannon estimate from scores of samples of two distributions.

    ``2 log 2 - E_joint[softplus(-u)] - E_marginal[softplus(u)]``, twice the
    Jensen-Shannon divergence between the distribution of the joint samples
    and that of the marginal ones at the optimal critic.

    Parameters
    ----------
    joint_scores : torch.Tensor
        Critic scores of samples of the joint distribution, any shape.
    marginal_scores : torch.Tensor
        Critic scores of samples of the product of marginals, any shape.

    Returns
    -------
    torch.Tensor
        Scalar estimate.

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.bounds import jsd_estimate
    >>> round(float(jsd_estimate(torch.full((4,), 5.0), torch.full((8,), -5.0))), 3)
    1.373
    """
    return _jsd(F.softplus(-joint_scores).mean(), F.softplus(marginal_scores).mean())


def dv_estimate(
    joint_scores: torch.Tensor, marginal_scores: torch.Tensor
) -> torch.Tensor:
    """Donsker-Varadhan estimate from scores of samples of two distributions.

    ``E_joint[u] - log E_marginal[exp(u)]``, a lower bound on the
    Kullback-Leibler divergence between the two distributions, hence on the
    mutual information when they are the joint and the product of marginals.

    Parameters
    ----------
    joint_scores : torch.Tensor
        Critic scores of samples of the joint distribution, any shape.
    marginal_scores : torch.Tensor
        Critic scores of samples of the product of marginals, any shape.

    Returns
    -------
    torch.Tensor
        Scalar estimate in nats.

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.bounds import dv_estimate
    >>> float(dv_estimate(torch.full((4,), 2.0), torch.zeros(12)))
    2.0
    """
    return joint_scores.mean() - _log_mean_exp(marginal_scores)


def jsd_bound(scores: torch.Tensor) -> torch.Tensor:
    """Jensen-Shannon estimate used by Deep InfoMax.

    ``2 log 2 - E_pos[softplus(-u)] - E_neg[softplus(u)]``: twice the
    Jensen-Shannon divergence between the joint and the product of marginals.
    It is a stable surrogate that increases with the mutual information, not a
    bound on it in nats. It never exceeds ``2 log 2``; its largest value over
    all critics, twice the divergence, lies in ``[0, 2 log 2]``, while a poor
    critic can make it as negative as it likes.

    Parameters
    ----------
    scores : torch.Tensor of shape (B, B, L)
        Critic scores, positives on the diagonal of the first two axes.

    Returns
    -------
    torch.Tensor
        Scalar estimate.

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.bounds import jsd_bound
    >>> scores = 10 * torch.eye(4).unsqueeze(-1) - 5  # positives 5, negatives -5
    >>> round(float(jsd_bound(scores)), 3)  # close to the maximum, 2 log 2
    1.373
    """
    batch, n_locations = _check_scores(scores)
    positives = positive_scores(scores)  # (L, B)
    # the positives masked out, not subtracted: exact at any score, even +inf
    negatives = F.softplus(scores).masked_fill(_positive_mask(scores), 0.0)
    negative_mean = negatives.sum() / (batch * (batch - 1) * n_locations)
    return _jsd(F.softplus(-positives).mean(), negative_mean)


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

    Examples
    --------
    >>> import math
    >>> import torch
    >>> from sk_dim.nn.bounds import infonce_bound
    >>> scores = 20 * torch.eye(8).unsqueeze(-1)  # positives far above negatives
    >>> round(float(infonce_bound(scores)), 3), round(math.log(8), 3)
    (2.079, 2.079)
    """
    batch, n_locations = _check_scores(scores)
    positives = positive_scores(scores).T  # (B, L)
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

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.bounds import dv_bound
    >>> scores = 2 * torch.eye(4).unsqueeze(-1)  # positives 2, negatives 0
    >>> float(dv_bound(scores))
    2.0
    """
    _check_scores(scores)
    return positive_scores(scores).mean() - log_mean_exp_negatives(scores)


def nwj_bound(scores: torch.Tensor) -> torch.Tensor:
    """Nguyen-Wainwright-Jordan lower bound (f-divergence form, "MINE-f").

    ``E_pos[u] - exp(-1) E_neg[exp(u)]``. Its optimal critic is
    ``1 + log p(x, y) / (p(x) p(y))``. Unbiased over batches, but of high
    variance when the mutual information is large.

    Parameters
    ----------
    scores : torch.Tensor of shape (B, B, L)
        Critic scores, positives on the diagonal of the first two axes.

    Returns
    -------
    torch.Tensor
        Scalar lower bound in nats.

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.bounds import nwj_bound
    >>> float(nwj_bound(torch.ones(4, 4, 1)))
    0.0
    """
    _check_scores(scores)
    positive_mean = positive_scores(scores).mean()
    return positive_mean - torch.exp(log_mean_exp_negatives(scores) - 1.0)


def _log_det_bias(dim: int, n_samples: int) -> float:
    """``E[log det S_hat] - log det S`` for the sample covariance of Gaussians.

    ``S_hat`` is estimated from ``n_samples`` samples with their mean removed
    (``n_samples - 1`` degrees of freedom, Wishart).
    """
    degrees = torch.arange(1, dim + 1, dtype=torch.float64)
    return float(
        torch.special.digamma((n_samples - degrees) / 2).sum()
        + dim * math.log(2.0 / (n_samples - 1))
    )


def second_order_mi(
    first: torch.Tensor,
    second: torch.Tensor,
    ridge: float = 1e-4,
    bias_correction: bool = True,
) -> torch.Tensor:
    """Explicit mutual information from second-order statistics (Chang et al. 2024).

    Both embeddings are centred and standardised per dimension; with ``S11``,
    ``S22`` their covariances and ``S`` the covariance of the concatenation,
    ``I = (log det S11 + log det S22 - log det S) / 2``, which equals
    ``-1/2 sum_k log(1 - rho_k^2)`` over the canonical correlations. It is the
    mutual information of Gaussian variables with these covariances: exact for
    Gaussians, a second-order approximation otherwise. Computed in float64
    with ``ridge`` added to the diagonals.

    The plug-in value is biased upwards by about ``E1 E2 / (2 N)`` nats;
    ``bias_correction`` subtracts the exact bias of Gaussian log-determinants
    (a constant, so gradients are unchanged), which needs more samples than
    dimensions, ``N > E1 + E2``. The correction assumes ``N`` independent
    pairs. Deep InfoMax's local term pairs each of ``B`` global vectors with
    ``L`` locations, so its ``N = B L`` rows repeat each global embedding
    ``L`` times; with fewer independent pairs than rows, the correction
    removes too little, and the local value stays biased upwards (training
    is unaffected; only the value read by ``score`` is).

    Parameters
    ----------
    first : torch.Tensor of shape (N, E1)
    second : torch.Tensor of shape (N, E2)
        Paired samples: row ``n`` of both comes from the same input.
    ridge : float, default=1e-4
        Added to the diagonal of the (correlation) matrices.
    bias_correction : bool, default=True
        Remove the finite-sample bias of the log-determinants of Gaussians.

    Returns
    -------
    torch.Tensor
        Scalar estimate in nats, float64.

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.bounds import second_order_mi
    >>> x = torch.randn(5000, 1, generator=torch.Generator().manual_seed(0))
    >>> y = 0.8 * x + 0.6 * torch.randn(5000, 1)
    >>> round(float(second_order_mi(x, y)), 1)  # -log(1 - 0.8**2) / 2 = 0.51
    0.5
    """
    if first.ndim != 2 or second.ndim != 2 or len(first) != len(second):
        raise ValueError(
            "second_order_mi needs two embeddings of shape (N, E1) and (N, E2) "
            f"with the same N, got {tuple(first.shape)} and {tuple(second.shape)}."
        )
    n_samples, first_dim, second_dim = len(first), first.shape[1], second.shape[1]
    if n_samples < 2 or (bias_correction and n_samples <= first_dim + second_dim):
        needed = first_dim + second_dim + 1 if bias_correction else 2
        raise ValueError(
            f"second_order_mi needs at least {needed} samples for embeddings of "
            f"{first_dim} and {second_dim} dimensions, got {n_samples}; use larger "
            "batches or smaller embeddings."
        )
    joint = torch.cat([first, second], dim=1).double()  # (N, E1 + E2)
    joint = joint - joint.mean(0)
    joint = joint / joint.std(0).clamp_min(1e-12)
    correlation = joint.T @ joint / (len(joint) - 1)  # (E1 + E2, E1 + E2)
    correlation = correlation + ridge * torch.eye(
        len(correlation), dtype=correlation.dtype, device=correlation.device
    )

    def log_det(matrix: torch.Tensor) -> torch.Tensor:
        # cholesky_ex does not wait for the device to report success; a
        # matrix that is not positive definite (which the ridge prevents)
        # gives NaN, which stops training with TrainingDivergedError
        factor, _ = torch.linalg.cholesky_ex(matrix)
        return 2 * factor.diagonal().log().sum()

    plug_in = 0.5 * (
        log_det(correlation[:first_dim, :first_dim])
        + log_det(correlation[first_dim:, first_dim:])
        - log_det(correlation)
    )
    if not bias_correction:
        return plug_in
    bias = 0.5 * (
        _log_det_bias(first_dim, n_samples)
        + _log_det_bias(second_dim, n_samples)
        - _log_det_bias(first_dim + second_dim, n_samples)
    )
    return plug_in - bias
