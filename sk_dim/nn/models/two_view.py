"""The model of two views: a view function, one scaling and encoder per view, a bound.

The encoders of :class:`TwoViewModel` are trained to maximise a bound on the
mutual information between the codes of two views of each sample
(Tschannen et al. 2020): a critic scores every pair of codes of a batch,
an estimator turns the scores into the bound.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .._checks import describe
from ..gather import gather_rows
from ..mi_estimators import divergence_causes, get_estimator
from ..objectives.two_view import CrossViewObjective
from ..scaling import Standardize
from .base import InfoMaxModel, ModelLoss

__all__ = ["TwoViewModel", "split_views"]


def split_views(
    views: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
    inputs: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The two views that ``views`` makes of raw (B, F) inputs, checked.

    Parameters
    ----------
    views : callable
        Maps a float batch (B, F) to two tensors (B, F_a) and (B, F_b).
    inputs : torch.Tensor of shape (B, F)
        Raw rows.

    Returns
    -------
    view_a, view_b : torch.Tensor
        The two views, (B, F_a) and (B, F_b).

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.models.two_view import split_views
    >>> from sk_dim.nn.views import SplitColumns
    >>> [view.shape for view in split_views(SplitColumns(), torch.zeros(2, 6))]
    [torch.Size([2, 3]), torch.Size([2, 3])]
    """
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


class TwoViewModel(InfoMaxModel):
    """A view function, one scaling and one encoder per view, and their bound.

    ``loss`` is the negative bound on the mutual information between the
    codes of the two views; ``score`` the bound.

    Parameters
    ----------
    views : callable
        Maps a float batch (B, F) to the two views (B, F_a) and (B, F_b).
    scalings : tuple of Standardize
        Scaling of view a and of view b.
    encoders : tuple of torch.nn.Module
        Encoder of view a and of view b, each to (B, D) codes.
    n_components : int
        D, the size of the codes of both views.
    mi_estimator : str, class or callable, default="infonce"
        See :func:`~sk_dim.nn.mi_estimators.get_estimator`.
    critic : str, class or torch.nn.Module, default="bilinear"
        See :func:`~sk_dim.nn.critics.make_critic`.
    critic_width : int, default=512
        Width of the hidden layers of critics that have them.

    Attributes
    ----------
    objective : CrossViewObjective
        The critic and estimator of the bound.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from sk_dim.nn import TwoViewModel
    >>> from sk_dim.nn.scaling import Standardize
    >>> from sk_dim.nn.views import SplitColumns
    >>> scaling = Standardize(torch.tensor(0.0), torch.tensor(1.0))
    >>> model = TwoViewModel(
    ...     SplitColumns(),
    ...     (scaling, scaling),
    ...     (nn.Linear(3, 2), nn.Linear(3, 2)),
    ...     n_components=2,
    ... )
    >>> [codes.shape for codes in model(torch.zeros(4, 6))]
    [torch.Size([4, 2]), torch.Size([4, 2])]
    """

    def __init__(
        self,
        views: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
        scalings: tuple[Standardize, Standardize],
        encoders: tuple[nn.Module, nn.Module],
        n_components: int,
        mi_estimator="infonce",
        critic="bilinear",
        critic_width: int = 512,
    ):
        super().__init__()
        self.views = views
        self.scalings = nn.ModuleList(scalings)
        self.encoders = nn.ModuleList(encoders)
        self.objective = CrossViewObjective(
            get_estimator(mi_estimator), critic, n_components, critic_width
        )

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

    def loss(self, inputs: torch.Tensor) -> ModelLoss:
        """Negative bound of raw (B, F) inputs; the codes are those of view a.

        The terms hold the bound ("bound"). Under torchrun, the codes of
        every process form the pairs: those of the global batch.
        """
        codes_a, codes_b = map(gather_rows, self(inputs))
        bound = self.objective(codes_a, codes_b)
        return ModelLoss(-bound, codes_a, {"bound": bound.detach()})

    def score(self, inputs: torch.Tensor) -> torch.Tensor:
        """The bound of a batch of raw (B, F) inputs."""
        return self.objective(*self(inputs))

    def divergence_causes(self) -> list[str]:
        return divergence_causes(self.objective.estimator)
