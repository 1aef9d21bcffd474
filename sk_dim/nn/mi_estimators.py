"""Mutual-information estimators: the bounds of :mod:`sk_dim.nn.bounds` as modules.

The estimator objects (:class:`JSD`, :class:`InfoNCE`, :class:`DV`,
:class:`NWJ`, :class:`SecondOrder`) wrap the bounds as modules, so that
they can hold state (MINE's moving average) and move with the model. Any
callable mapping a (B, B, L) score tensor to a scalar bound is an estimator
too; a callable with ``uses_embeddings = True`` is given two embeddings
``(N, E)`` of paired samples instead (see :class:`SecondOrder`).
:func:`estimate_mi` runs a critic, then an estimator.
"""

from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Callable, Iterator

import torch
from torch import nn

from ._checks import describe
from .bounds import (
    dv_bound,
    infonce_bound,
    jsd_bound,
    log_mean_exp_negatives,
    nwj_bound,
    positive_scores,
    second_order_mi,
)

Estimator = Callable[..., torch.Tensor]

__all__ = [
    "DV",
    "JSD",
    "MI_ESTIMATORS",
    "NWJ",
    "InfoNCE",
    "SecondOrder",
    "divergence_causes",
    "estimate_mi",
    "get_estimator",
    "running_means_frozen",
]


class _ScoreBound(nn.Module):
    """A stateless estimator: the module form of one bound of (B, B, L) scores."""

    bound: Callable[[torch.Tensor], torch.Tensor]

    def __init__(self) -> None:
        super().__init__()

    def forward(self, scores: torch.Tensor) -> torch.Tensor:
        """Estimate from scores of shape (B, B, L)."""
        return self.bound(scores)


class JSD(_ScoreBound):
    """Jensen-Shannon estimator of Deep InfoMax (:func:`jsd_bound`).

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.mi_estimators import JSD
    >>> scores = torch.zeros(4, 4, 1)  # the critic tells nothing apart
    >>> float(JSD()(scores))
    0.0
    """

    bound = staticmethod(jsd_bound)


class InfoNCE(_ScoreBound):
    """InfoNCE lower bound (:func:`infonce_bound`).

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.mi_estimators import InfoNCE
    >>> scores = torch.zeros(4, 4, 1)  # the critic tells nothing apart
    >>> float(InfoNCE()(scores))
    0.0
    """

    bound = staticmethod(infonce_bound)


class NWJ(_ScoreBound):
    """Nguyen-Wainwright-Jordan lower bound (:func:`nwj_bound`).

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.mi_estimators import NWJ
    >>> scores = torch.ones(4, 4, 1)  # the optimal critic when X and Y are independent
    >>> float(NWJ()(scores))
    0.0
    """

    bound = staticmethod(nwj_bound)


class DV(nn.Module):
    """Donsker-Varadhan bound of MINE, optionally with its bias-corrected gradient.

    The value is always :func:`dv_bound`. The gradient of ``log E_neg[exp u]``
    over a batch is biased; with ``moving_average`` set, training steps use
    MINE's correction instead: ``grad E_neg[exp u]`` divided by an exponential
    moving average of ``E_neg[exp u]`` over past batches.

    Parameters
    ----------
    moving_average : float or None, default=None
        Weight of the newest batch in the moving average (MINE used 0.01);
        None gives the plain gradient.

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.mi_estimators import DV
    >>> estimator = DV(moving_average=0.01)
    >>> scores = torch.randn(8, 8, 1, requires_grad=True)
    >>> estimator(scores).backward()
    >>> scores.grad.shape
    torch.Size([8, 8, 1])
    """

    def __init__(self, moving_average: float | None = None):
        super().__init__()
        if moving_average is not None and not 0 < moving_average <= 1:
            raise ValueError(
                f"moving_average must be in (0, 1] or None, got {moving_average!r}."
            )
        self.moving_average = moving_average
        # log of the moving average of E_neg[exp u], and the batches it has seen
        self.register_buffer("log_running_mean", torch.tensor(0.0))
        self.register_buffer("n_updates", torch.tensor(0))
        # False inside running_means_frozen: read the running mean, do not move it
        self.updates_running_mean = True

    def forward(self, scores: torch.Tensor) -> torch.Tensor:
        """Bound from scores of shape (B, B, L)."""
        bound = dv_bound(scores)
        if self.moving_average is None or not (self.training and scores.requires_grad):
            return bound
        log_mean_exp = log_mean_exp_negatives(scores)
        if self.updates_running_mean:
            self._update_running_mean(log_mean_exp.detach())
        # E_neg[exp u] / running mean: its gradient is MINE's corrected one
        corrected = torch.exp(log_mean_exp - self.log_running_mean)
        surrogate = positive_scores(scores).mean() - corrected
        return bound.detach() + surrogate - surrogate.detach()

    @torch.no_grad()
    def _update_running_mean(self, log_mean_exp: torch.Tensor) -> None:
        """Move the running mean towards this batch's ``log E_neg[exp u]``."""
        updated = torch.logaddexp(
            math.log1p(-self.moving_average) + self.log_running_mean,
            math.log(self.moving_average) + log_mean_exp,
        )
        first_step = self.n_updates == 0
        self.log_running_mean.copy_(torch.where(first_step, log_mean_exp, updated))
        self.n_updates += 1

    def extra_repr(self) -> str:
        return f"moving_average={self.moving_average}"


class SecondOrder(nn.Module):
    """Explicit mutual information of two embeddings (:func:`second_order_mi`).

    It reads the critic's two embeddings rather than its scores
    (``uses_embeddings = True``), so it needs a critic that embeds each side
    separately (not ``"concat"``).

    Parameters
    ----------
    ridge : float, default=1e-4
        Added to the diagonal of the correlation matrices.
    bias_correction : bool, default=True
        Remove the finite-sample bias of Gaussian log-determinants; needs
        more pairs per batch than the two embedding sizes together, and
        assumes independent pairs, which the local term's rows are not (see
        :func:`second_order_mi`).

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.mi_estimators import SecondOrder
    >>> x = torch.randn(2000, 2, generator=torch.Generator().manual_seed(0))
    >>> y = torch.randn(2000, 2, generator=torch.Generator().manual_seed(1))
    >>> abs(float(SecondOrder()(x, y))) < 0.01  # independent: no information
    True
    """

    uses_embeddings = True

    def __init__(self, ridge: float = 1e-4, bias_correction: bool = True):
        super().__init__()
        self.ridge = ridge
        self.bias_correction = bias_correction

    def forward(self, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
        """Estimate from paired embeddings of shapes (N, E1) and (N, E2)."""
        return second_order_mi(first, second, self.ridge, self.bias_correction).float()

    def extra_repr(self) -> str:
        return f"ridge={self.ridge}, bias_correction={self.bias_correction}"


#: Estimators by name.
MI_ESTIMATORS: dict[str, type[nn.Module]] = {
    "jsd": JSD,
    "infonce": InfoNCE,
    "dv": DV,
    "nwj": NWJ,
    "second_order": SecondOrder,
}


def get_estimator(estimator: str | type | Estimator) -> Estimator:
    """Resolve an estimator given by name, class or instance.

    Parameters
    ----------
    estimator : str, class or callable
        A key of :data:`MI_ESTIMATORS`; a class, instantiated without
        arguments; or a callable, deep-copied so that training never changes
        the caller's object.

    Returns
    -------
    callable
        The estimator.

    Examples
    --------
    >>> from sk_dim.nn.mi_estimators import get_estimator
    >>> get_estimator("dv")
    DV(moving_average=None)
    """
    if isinstance(estimator, type):
        return estimator()
    if callable(estimator):
        return copy.deepcopy(estimator)
    try:
        return MI_ESTIMATORS[estimator]()
    except (KeyError, TypeError):
        raise ValueError(
            f"Unknown mi_estimator {estimator!r}; expected one of "
            f"{sorted(MI_ESTIMATORS)}, an estimator class or a callable."
        ) from None


@contextlib.contextmanager
def running_means_frozen(module: nn.Module) -> Iterator[None]:
    """Inside the block, the :class:`DV` estimators of ``module`` keep their mean.

    They read their running mean without updating it, so that a step that
    calls them twice (two pairings of two views) moves it once.

    Parameters
    ----------
    module : torch.nn.Module
        A module holding estimators, such as an objective.

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.mi_estimators import DV, running_means_frozen
    >>> estimator = DV(moving_average=0.1)
    >>> scores = torch.randn(4, 4, 1, requires_grad=True)
    >>> with running_means_frozen(estimator):
    ...     _ = estimator(scores)
    >>> int(estimator.n_updates)
    0
    """
    estimators = [part for part in module.modules() if isinstance(part, DV)]
    for estimator in estimators:
        estimator.updates_running_mean = False
    try:
        yield
    finally:
        for estimator in estimators:
            estimator.updates_running_mean = True


def _at_least_float32(values: torch.Tensor) -> torch.Tensor:
    """``values`` in float32 when of lower precision, else as they are."""
    if values.dtype in (torch.float16, torch.bfloat16):
        return values.float()
    return values


def divergence_causes(estimator: Estimator | None) -> list[str]:
    """Why training with ``estimator`` may diverge: DV and NWJ exponentiate scores.

    Parameters
    ----------
    estimator : callable or None
        An estimator of :func:`get_estimator`.

    Returns
    -------
    list of str
        One sentence for DV and NWJ, none for the others.

    Examples
    --------
    >>> from sk_dim.nn.mi_estimators import NWJ, divergence_causes
    >>> divergence_causes(NWJ())[0][:11]
    'the NWJ bou'
    """
    if not isinstance(estimator, DV | NWJ):
        return []
    return [
        f"the {type(estimator).__name__} bound, which exponentiates the critic's "
        "scores (mi_estimator='infonce' or 'jsd' cannot overflow)"
    ]


def estimate_mi(
    estimator: Estimator,
    critic: nn.Module,
    local_features: torch.Tensor,
    global_vector: torch.Tensor,
) -> torch.Tensor:
    """Estimate between (B, L, C) local features and (B, D) global vectors.

    Score estimators read the critic's (B, B, L) scores; an estimator with
    ``uses_embeddings = True`` reads the critic's two embeddings of the
    ``B L`` positive pairs instead.

    Parameters
    ----------
    estimator : callable
        See :mod:`sk_dim.nn.mi_estimators`.
    critic : torch.nn.Module
        See :mod:`sk_dim.nn.critics`.
    local_features : torch.Tensor of shape (B, L, C)
    global_vector : torch.Tensor of shape (B, D)

    Returns
    -------
    torch.Tensor
        Scalar estimate.

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.critics import DotCritic
    >>> from sk_dim.nn.mi_estimators import SecondOrder
    >>> from sk_dim.nn.objectives import estimate_mi
    >>> x = torch.randn(500, 2)
    >>> value = estimate_mi(SecondOrder(), DotCritic(2, 2), x[:, None], x)
    >>> value.shape
    torch.Size([])
    """
    if getattr(estimator, "uses_embeddings", False):
        if not hasattr(critic, "embed"):
            raise ValueError(
                f"The {type(estimator).__name__} estimator reads the two "
                f"embeddings of a critic, but the {type(critic).__name__} "
                "scores pairs without them; use a critic that embeds both "
                "sides, such as 'bilinear', 'separable' or 'encode_and_dot'."
            )
        local_embedding, global_embedding = critic.embed(
            local_features, global_vector
        )  # (B, L, E), (B, E)
        global_embedding = global_embedding[:, None].expand(
            -1, local_embedding.shape[1], -1
        )  # (B, L, E)
        return estimator(
            _at_least_float32(global_embedding.flatten(0, 1)),
            _at_least_float32(local_embedding.flatten(0, 1)),
        )
    scores = critic(local_features, global_vector)
    expected = (len(global_vector), *local_features.shape[:2])  # (B, B, L)
    if not isinstance(scores, torch.Tensor) or scores.shape != expected:
        raise ValueError(
            f"critic must return scores of shape (B, B, L) = {expected}, got "
            f"{describe(scores)}."
        )
    return estimator(_at_least_float32(scores))
