"""The objective of Deep InfoMax: global and local terms, coordinate prediction."""

from __future__ import annotations

import copy

import torch
from torch import nn

from ..critics import make_critic
from ..mi_estimators import Estimator, estimate_mi

__all__ = [
    "CoordinatePredictor",
    "DeepInfoMaxObjective",
    "coordinate_loss",
]


def coordinate_loss(logits: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Cross-entropy of predicted rows and columns of every location of a map.

    Parameters
    ----------
    logits : torch.Tensor of shape (B, H W, H + W)
        For each location of the (H, W) map in row-major order, scores of
        its row (first H values) and of its column (last W values).
    height, width : int
        Size of the map.

    Returns
    -------
    torch.Tensor
        Scalar: mean cross-entropy of the row plus that of the column.

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.objectives import coordinate_loss
    >>> perfect = torch.eye(2).repeat_interleave(2, 0) * 100  # rows 0, 0, 1, 1
    >>> logits = torch.cat([perfect, torch.eye(2).repeat(2, 1) * 100], 1)
    >>> float(coordinate_loss(logits[None], 2, 2))
    0.0
    """
    batch = len(logits)
    rows = torch.arange(height, device=logits.device).repeat_interleave(width)
    cols = torch.arange(width, device=logits.device).repeat(height)  # (H W,)
    row_logits, col_logits = logits.float().split([height, width], dim=2)
    row_loss = nn.functional.cross_entropy(row_logits.flatten(0, 1), rows.repeat(batch))
    col_loss = nn.functional.cross_entropy(col_logits.flatten(0, 1), cols.repeat(batch))
    return row_loss + col_loss


class CoordinatePredictor(nn.Module):
    """Predicts the grid position of each local feature from it and Y.

    An MLP on the concatenation ``[Y_a; M_a,i]`` of the global vector and
    each local feature of the same sample (one hidden layer, ReLU) scores the
    row and the column of location ``i``; its loss is
    :func:`coordinate_loss`.

    Parameters
    ----------
    local_channels : int
        Channels of the local feature map.
    local_size : tuple of int
        ``(height, width)`` of the local feature map.
    n_components : int
        Size of the global vector.
    hidden_features : int
        Width of the hidden layer.

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.objectives import CoordinatePredictor
    >>> predictor = CoordinatePredictor(8, (3, 4), 5, hidden_features=16)
    >>> predictor(torch.randn(2, 8, 3, 4), torch.randn(2, 5)).shape
    torch.Size([])
    """

    def __init__(
        self,
        local_channels: int,
        local_size: tuple[int, int],
        n_components: int,
        hidden_features: int,
    ):
        super().__init__()
        self.local_size = tuple(local_size)
        self.local_layer = nn.Linear(local_channels, hidden_features)
        self.global_layer = nn.Linear(n_components, hidden_features, bias=False)
        self.output = nn.Linear(hidden_features, sum(local_size))

    def forward(
        self, local_map: torch.Tensor, global_vector: torch.Tensor
    ) -> torch.Tensor:
        """Loss of the predictions for (B, C, H, W) maps and (B, D) vectors."""
        locations = local_map.flatten(2).transpose(1, 2)  # (B, H W, C)
        hidden = torch.relu(
            self.local_layer(locations) + self.global_layer(global_vector)[:, None]
        )  # (B, H W, hidden)
        return coordinate_loss(self.output(hidden), *self.local_size)


class DeepInfoMaxObjective(nn.Module):
    """Global and local mutual-information bounds of Deep InfoMax.

    The global term scores the whole local feature map (flattened) against the
    global vector; the local term scores every location of the map against the
    global vector. Critics are built only for terms with a positive weight.
    With ``coordinate_weight > 0``, a :class:`CoordinatePredictor` adds the
    loss of predicting each location's position from Y and its feature.

    Parameters
    ----------
    estimator : callable
        Maps a (B, B, L) score tensor to a scalar bound, or, with
        ``uses_embeddings = True``, two paired embeddings (N, E) to a scalar
        (see :mod:`sk_dim.nn.mi_estimators`). Each active term gets its own copy
        (``global_estimator``, ``local_estimator``), so that the state of an
        estimator such as DV's moving average follows one term.
    critic : str, class or torch.nn.Module
        Critic of both terms (see :func:`sk_dim.nn.critics.make_critic`).
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
    critic_width : int
        Width of the critics' hidden layers (and of the coordinate
        predictor's).
    coordinate_weight : float, default=0.0
        Weight of the coordinate-prediction loss; 0 disables it.

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.mi_estimators import JSD
    >>> from sk_dim.nn.objectives import DeepInfoMaxObjective
    >>> objective = DeepInfoMaxObjective(
    ...     JSD(), "encode_and_dot", local_channels=16, local_size=(7, 7),
    ...     n_components=8, alpha=0.5, beta=1.0, embedding_dim=32, critic_width=64,
    ... )
    >>> bounds = objective.bounds(torch.randn(4, 16, 7, 7), torch.randn(4, 8))
    >>> sorted(bounds)
    ['global', 'local']
    """

    def __init__(
        self,
        estimator: Estimator,
        critic,
        local_channels: int,
        local_size: tuple[int, int],
        n_components: int,
        alpha: float,
        beta: float,
        embedding_dim: int,
        critic_width: int,
        coordinate_weight: float = 0.0,
    ):
        super().__init__()
        if isinstance(critic, nn.Module) and alpha > 0 and beta > 0:
            raise ValueError(
                "A critic instance can serve only one term, but alpha and beta are "
                "both positive; pass a critic name or class, or set alpha or beta "
                "to 0."
            )
        # each term its own copy: stateful estimators (DV's moving average)
        # must follow the scores of one term only
        self.global_estimator = copy.deepcopy(estimator) if alpha > 0 else None
        self.local_estimator = copy.deepcopy(estimator) if beta > 0 else None
        self.alpha = alpha
        self.beta = beta
        n_locations = local_size[0] * local_size[1]
        self.n_locations = n_locations
        sizes = {"embedding_dim": embedding_dim, "hidden_features": critic_width}
        self.global_critic = (
            make_critic(critic, local_channels * n_locations, n_components, **sizes)
            if alpha > 0
            else None
        )
        self.local_critic = (
            make_critic(critic, local_channels, n_components, **sizes)
            if beta > 0
            else None
        )
        self.coordinate_weight = coordinate_weight
        self.coordinate_predictor = (
            CoordinatePredictor(local_channels, local_size, n_components, critic_width)
            if coordinate_weight > 0
            else None
        )
        if getattr(estimator, "uses_embeddings", False):
            for term in (self.global_critic, self.local_critic):
                if term is not None and not hasattr(term, "embed"):
                    raise ValueError(
                        f"The estimator {estimator!r} reads the critic's two "
                        f"embeddings, but {type(term).__name__} has no 'embed' "
                        "method; use a separable critic such as "
                        "'encode_and_dot'."
                    )

    def pair_memory(self, batch_size: int) -> int:
        """Bytes that critics scoring every pair keep per call (0 for the others).

        See :meth:`sk_dim.nn.critics.ConcatCritic.pair_memory`.
        """
        terms = ((self.global_critic, 1), (self.local_critic, self.n_locations))
        return sum(
            critic.pair_memory(batch_size, n_locations)
            for critic, n_locations in terms
            if hasattr(critic, "pair_memory")
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
            result["global"] = estimate_mi(
                self.global_estimator, self.global_critic, whole_map, global_vector
            )
        if self.local_critic is not None:
            locations = local_map.flatten(2).transpose(1, 2)  # (B, H W, C)
            result["local"] = estimate_mi(
                self.local_estimator, self.local_critic, locations, global_vector
            )
        return result

    def weighted_bound(self, bounds: dict[str, torch.Tensor]) -> torch.Tensor:
        """``alpha * global + beta * local`` over the active terms."""
        weights = {"global": self.alpha, "local": self.beta}
        return sum(weights[name] * value for name, value in bounds.items())

    def forward(
        self, local_map: torch.Tensor, global_vector: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Training loss and its detached terms.

        The loss is the negative weighted bound, plus the weighted loss of
        coordinate prediction; the terms are the bounds ("global", "local")
        and the coordinate loss ("coordinates") of the active terms.
        """
        bounds = self.bounds(local_map, global_vector)
        loss = -self.weighted_bound(bounds)
        terms = {name: bound.detach() for name, bound in bounds.items()}
        if self.coordinate_predictor is not None:
            coordinates = self.coordinate_predictor(local_map, global_vector)
            loss = loss + self.coordinate_weight * coordinates
            terms["coordinates"] = coordinates.detach()
        return loss, terms
