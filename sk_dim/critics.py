"""Critics: networks that score pairs of (global vector, local feature).

The critics here follow the "encode-and-dot" design of Deep InfoMax: both sides
are embedded by a small residual MLP and the score is the inner product of the
embeddings, computed for every pair in the batch at once. The inner product is
divided by the square root of the embedding size (as in scaled dot-product
attention) so that initial scores are of order one whatever the width; without
it, wide critics saturate the estimators and training diverges.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["EncodeAndDotCritic", "ProjectionHead"]


class ProjectionHead(nn.Module):
    """Residual two-layer MLP used to embed features before the dot product.

    ``Linear -> BatchNorm -> ReLU -> Linear`` plus a linear shortcut, as in the
    reference implementation of Deep InfoMax (where it is a stack of 1x1
    convolutions applied at every location).

    Parameters
    ----------
    in_features : int
        Size of each input row.
    hidden_features : int
        Width of the hidden layer.
    out_features : int
        Size of the embedding.
    """

    def __init__(self, in_features: int, hidden_features: int, out_features: int):
        super().__init__()
        self.block = nn.Sequential(
            nn.Linear(in_features, hidden_features),
            nn.BatchNorm1d(hidden_features),
            nn.ReLU(inplace=True),
            nn.Linear(hidden_features, out_features),
        )
        self.shortcut = nn.Linear(in_features, out_features)

    def forward(self, rows: torch.Tensor) -> torch.Tensor:
        """Embed ``rows`` of shape (N, in_features) to (N, out_features)."""
        return self.block(rows) + self.shortcut(rows)


class EncodeAndDotCritic(nn.Module):
    """Score all pairs of global vectors and local features by a dot product.

    Parameters
    ----------
    local_features : int
        Channels of a local feature (one location of the feature map).
    global_features : int
        Size of the global vector.
    embedding_dim : int
        Size of the shared embedding space.
    hidden_features : int
        Width of the hidden layer of both projection heads.
    """

    def __init__(
        self,
        local_features: int,
        global_features: int,
        embedding_dim: int,
        hidden_features: int,
    ):
        super().__init__()
        self.local_head = ProjectionHead(local_features, hidden_features, embedding_dim)
        self.global_head = ProjectionHead(
            global_features, hidden_features, embedding_dim
        )

    def forward(
        self, local_features: torch.Tensor, global_features: torch.Tensor
    ) -> torch.Tensor:
        """Return scores ``u[a, b, i] = <g(global_a), l(local_{b, i})> / sqrt(E)``.

        Parameters
        ----------
        local_features : torch.Tensor of shape (B, L, C)
            ``L`` local features of ``C`` channels per sample.
        global_features : torch.Tensor of shape (B, D)
            One global vector per sample.

        Returns
        -------
        torch.Tensor of shape (B, B, L)
        """
        batch, n_locations, channels = local_features.shape
        local_embedding = self.local_head(local_features.reshape(-1, channels))
        local_embedding = local_embedding.reshape(batch, n_locations, -1)  # (B, L, E)
        global_embedding = self.global_head(global_features)  # (B, E)
        scale = global_embedding.shape[1] ** -0.5
        return torch.einsum("ae,ble->abl", global_embedding * scale, local_embedding)
