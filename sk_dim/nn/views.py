"""View functions: the two views of each sample for :class:`~sk_dim.TwoViewInfoMax`.

A view function maps a float batch (B, F) to two tensors (B, F_a) and
(B, F_b). It runs on every training batch (a random one draws new views at
each step) and on the input of ``transform``, whose codes are those of the
first view.
"""

from __future__ import annotations

import torch

__all__ = ["SplitColumns"]


class SplitColumns:
    """Two views of each row: its first ``at`` columns and the others.

    For flattened images stored row by row, the default split gives the top
    and the bottom halves of each image (Tschannen et al. 2020).

    Parameters
    ----------
    at : int or None, default=None
        Columns of the first view; None splits the row in the middle (the
        first view gets the smaller half of an odd row).

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.views import SplitColumns
    >>> top, bottom = SplitColumns()(torch.zeros(5, 784))
    >>> tuple(top.shape), tuple(bottom.shape)
    ((5, 392), (5, 392))
    """

    def __init__(self, at: int | None = None):
        self.at = at

    def __call__(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n_features = rows.shape[1]
        at = n_features // 2 if self.at is None else self.at
        if not 0 < at < n_features:
            raise ValueError(
                f"SplitColumns(at={self.at}) needs rows of more than "
                f"{max(at, 1)} columns so that both views have one, got "
                f"{n_features} feature(s)."
            )
        return rows[:, :at], rows[:, at:]

    def __repr__(self) -> str:
        return f"SplitColumns(at={self.at})"

    def __eq__(self, other) -> bool:
        return isinstance(other, SplitColumns) and other.at == self.at

    def __hash__(self) -> int:
        return hash((SplitColumns, self.at))
