"""The networks and skorch net of TwoViewInfoMax, and their builders."""

from __future__ import annotations

from collections.abc import Callable

import torch

from .._training.configuration import engine_arguments
from .._training.engine import TrainingNet
from ..nn.encoders import FeedForward
from ..nn.gather import gather_rows
from ..nn.mi_estimators import get_estimator
from ..nn.models.two_view import TwoViewModel
from ..nn.objectives.two_view import CrossViewObjective
from ..nn.scaling import Standardize


class TwoViewNet(TrainingNet):
    """skorch net maximising the bound of a two-view objective.

    ``module`` is the :class:`TwoViewModel` and ``criterion`` the
    :class:`~sk_dim.nn.objectives.CrossViewObjective` holding the critic; the
    loss is the negative bound, the held-out score the bound.
    """

    def forward_loss(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Negative bound of one batch, and the (B, D) codes of view a."""
        # under torchrun, the codes of every process: the global batch
        codes_a, codes_b = map(gather_rows, self.module_(inputs))
        return -self.criterion_(codes_a, codes_b), codes_a

    def batch_score(self, batch: torch.Tensor) -> torch.Tensor:
        return self.criterion_(*self.module_(batch))


def build_model(
    params: dict,
    views: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
    view_sizes: list[int],
    scalings: tuple[Standardize, Standardize],
) -> TwoViewModel:
    """The view function, scalings and one plain MLP encoder per view."""
    encoders = tuple(
        FeedForward(size, params["n_components"], params["hidden_layer_sizes"])
        for size in view_sizes
    )
    return TwoViewModel(views, scalings, encoders)


def build_net(
    model: TwoViewModel, params: dict, seed: int, device: torch.device
) -> TwoViewNet:
    """The skorch net training ``model`` with the critic and estimator of ``params``."""
    objective = CrossViewObjective(
        get_estimator(params["mi_estimator"]),
        params["critic"],
        params["n_components"],
        critic_hidden=params["critic_width"],
    )
    return TwoViewNet(
        module=model,
        criterion=objective,
        **engine_arguments(params, seed, device, betas=(0.9, 0.999)),
    )
