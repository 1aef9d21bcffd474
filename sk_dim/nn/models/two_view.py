"""The model of two views: a view function, then one scaling and one encoder per view.

The encoders of :class:`TwoViewModel` are trained to maximise a bound on the
mutual information between the codes of two views of each sample
(Tschannen et al. 2020).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .._checks import describe
from ..scaling import Standardize

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

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from sk_dim.nn import TwoViewModel
    >>> from sk_dim.nn.scaling import Standardize
    >>> from sk_dim.nn.views import SplitColumns
    >>> scaling = Standardize(torch.tensor(0.0), torch.tensor(1.0))
    >>> model = TwoViewModel(
    ...     SplitColumns(), (scaling, scaling), (nn.Linear(3, 2), nn.Linear(3, 2))
    ... )
    >>> [codes.shape for codes in model(torch.zeros(4, 6))]
    [torch.Size([4, 2]), torch.Size([4, 2])]
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
