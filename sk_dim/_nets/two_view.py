"""The networks and skorch net of TwoViewInfoMax, and their builders."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .._input.checks import describe
from .._input.scaling import Standardize
from .._training.configuration import engine_arguments
from .._training.distributed import gather_rows
from .._training.engine import TrainingNet
from ..encoders import build_encoder
from ..mi_estimators import get_estimator
from ..objectives.two_view import CrossViewObjective


def split_views(
    views: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
    inputs: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The two views that ``views`` makes of raw (B, F) inputs, checked."""
    split = views(inputs.float())
    valid = (
        isinstance(split, (tuple, list))
        and len(split) == 2
        and all(
            isinstance(view, torch.Tensor)
            and view.ndim == 2
            and len(view) == len(inputs)
            for view in split
        )
    )
    if not valid:
        raise ValueError(
            "views must return two tensors (B, F_a) and (B, F_b) of the "
            f"batch's {len(inputs)} rows, got {describe(split)}."
        )
    return split[0], split[1]


class TwoViewModel(nn.Module):
    """A view function, then one scaling and one encoder per view.

    Parameters
    ----------
    views : callable
        Maps a float batch (B, F) to the two views (B, F_a) and (B, F_b).
    scalings : tuple of Standardize
        Scaling of view a and of view b.
    encoders : tuple of torch.nn.Module
        Encoder of view a and of view b, each to (B, D) codes.
    """

    def __init__(
        self,
        views: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
        scalings: tuple[Standardize, Standardize],
        encoders: tuple[nn.Module, nn.Module],
    ):
        super().__init__()
        self.views = views
        self.scalings = nn.ModuleList(scalings)
        self.encoders = nn.ModuleList(encoders)

    def split(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The two views of raw (B, F) inputs."""
        return split_views(self.views, inputs)

    def encode(self, view: torch.Tensor, index: int) -> torch.Tensor:
        """(B, D) codes of raw rows of view ``index`` (0 for a, 1 for b)."""
        return self.encoders[index](self.scalings[index](view))

    def forward(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Codes (B, D) of both views of raw (B, F) inputs."""
        view_a, view_b = self.split(inputs)
        return self.encode(view_a, 0), self.encode(view_b, 1)


class TwoViewNet(TrainingNet):
    """skorch net maximising the bound of a two-view objective.

    ``module`` is the :class:`TwoViewModel` and ``criterion`` the
    :class:`~sk_dim.objectives.CrossViewObjective` holding the critic; the
    loss is the negative bound, the held-out score the bound.
    """

    def forward_loss(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Negative bound of one batch, and the (B, D) codes of view a."""
        with self.autocast():
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
    """The view function, scalings and one "feedforward" encoder per view."""
    encoders = tuple(
        build_encoder(
            "feedforward",
            (size,),
            params["n_components"],
            hidden_layer_sizes=params["hidden_layer_sizes"],
        )
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
