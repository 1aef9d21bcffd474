"""Critics: networks that score pairs of (global vector, local feature).

Every critic maps local features (B, L, C) and global vectors (B, D) to scores
(B, B, L), ``u[a, b, i] = f(global_a, local_{b, i})``, for all pairs of a batch
at once. The families of Tschannen et al. (2020):

- ``"dot"``: ``<x, y> / sqrt(d)`` (needs C == D);
- ``"bilinear"``: ``x^T W y / sqrt(D)``;
- ``"separable"``: ``<phi(x), psi(y)> / sqrt(E)`` with MLP heads;
- ``"encode_and_dot"``: the separable critic of Deep InfoMax, with residual
  heads and BatchNorm (the default);
- ``"concat"``: an MLP on the concatenated pair, evaluated on all B x B x L
  pairs (memory grows as B^2 L times its width);
- ``"concat_and_convolve"``: the concat critic of Deep InfoMax, with two
  hidden layers (1x1 convolutions over the map with Y replicated).

Inner products are divided by the square root of their size (as in scaled
dot-product attention) so that initial scores are of order one whatever the
width; without it, wide critics saturate the estimators and training diverges.
Critics other than the concat ones also expose ``embed``, the two embeddings whose
inner product is the score, which :class:`~sk_dim.nn.mi_estimators.SecondOrder` reads.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

__all__ = [
    "CRITICS",
    "BilinearCritic",
    "ConcatAndConvolveCritic",
    "ConcatCritic",
    "DotCritic",
    "EncodeAndDotCritic",
    "ProjectionHead",
    "SeparableCritic",
    "make_critic",
]


class ProjectionHead(nn.Module):
    """Residual two-layer MLP used to embed features before the dot product.

    ``Linear -> BatchNorm -> ReLU -> Linear`` plus a linear shortcut: the
    residual branch of the reference implementation's 1x1-convolution heads,
    applied to each location. Unlike those, it has no LayerNorm on its output,
    its shortcut starts from a random rather than an identity-like matrix, and
    its width is a parameter (``critic_width`` of the estimators).

    Parameters
    ----------
    in_features : int
        Size of each input row.
    hidden_features : int
        Width of the hidden layer.
    out_features : int
        Size of the embedding.

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.critics import ProjectionHead
    >>> head = ProjectionHead(128, hidden_features=512, out_features=64)
    >>> head(torch.randn(10, 128)).shape
    torch.Size([10, 64])
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


def _scaled_dot(
    local_embedding: torch.Tensor, global_embedding: torch.Tensor
) -> torch.Tensor:
    """Scores (B, B, L) from embeddings (B, L, E) and (B, E), over sqrt(E)."""
    scale = global_embedding.shape[1] ** -0.5
    return torch.einsum("ae,ble->abl", global_embedding * scale, local_embedding)


def _mlp(in_features: int, hidden_features: int, out_features: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(in_features, hidden_features),
        nn.ReLU(inplace=True),
        nn.Linear(hidden_features, out_features),
    )


class _EmbeddingCritic(nn.Module):
    """A critic whose score is the scaled inner product of two embeddings."""

    def embed_local(self, rows: torch.Tensor) -> torch.Tensor:
        return rows

    def embed_global(self, rows: torch.Tensor) -> torch.Tensor:
        return rows

    def embed(
        self, local_features: torch.Tensor, global_features: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Embeddings (B, L, E) of the local features and (B, E) of the globals."""
        batch, n_locations, channels = local_features.shape
        local_embedding = self.embed_local(local_features.reshape(-1, channels))
        local_embedding = local_embedding.reshape(batch, n_locations, -1)
        return local_embedding, self.embed_global(global_features)

    def forward(
        self, local_features: torch.Tensor, global_features: torch.Tensor
    ) -> torch.Tensor:
        """Return scores ``u[a, b, i]`` of shape (B, B, L).

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
        return _scaled_dot(*self.embed(local_features, global_features))


class DotCritic(_EmbeddingCritic):
    """Inner product of the raw features, divided by the square root of their size.

    Parameters
    ----------
    local_features, global_features : int
        Sizes of both sides; they must be equal.
    **unused
        Other sizes given by :func:`make_critic`, which this critic does not use.

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.critics import DotCritic
    >>> critic = DotCritic(local_features=4, global_features=4)
    >>> critic(torch.randn(3, 5, 4), torch.randn(3, 4)).shape
    torch.Size([3, 3, 5])
    """

    def __init__(self, local_features: int, global_features: int, **unused):
        super().__init__()
        if local_features != global_features:
            raise ValueError(
                "The 'dot' critic needs features of the same size on both sides, "
                f"got {local_features} (local) and {global_features} (global); "
                "use 'bilinear' or 'separable'."
            )


class BilinearCritic(_EmbeddingCritic):
    """Bilinear score ``x^T W y / sqrt(D)``: the local side is mapped by W.

    Parameters
    ----------
    local_features, global_features : int
        Sizes of both sides.
    **unused
        Other sizes given by :func:`make_critic`, which this critic does not use.

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.critics import BilinearCritic
    >>> critic = BilinearCritic(local_features=6, global_features=4)
    >>> critic(torch.randn(3, 5, 6), torch.randn(3, 4)).shape
    torch.Size([3, 3, 5])
    """

    def __init__(self, local_features: int, global_features: int, **unused):
        super().__init__()
        self.weight = nn.Linear(local_features, global_features, bias=False)

    def embed_local(self, rows: torch.Tensor) -> torch.Tensor:
        return self.weight(rows)


class SeparableCritic(_EmbeddingCritic):
    """Inner product of two MLP embeddings (``Linear, ReLU, Linear`` each side).

    Parameters
    ----------
    local_features, global_features : int
        Sizes of both sides.
    embedding_dim : int
        Size of the shared embedding space.
    hidden_features : int
        Width of the hidden layer of both heads.

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.critics import SeparableCritic
    >>> critic = SeparableCritic(6, 4, embedding_dim=8, hidden_features=16)
    >>> critic(torch.randn(3, 5, 6), torch.randn(3, 4)).shape
    torch.Size([3, 3, 5])
    """

    #: Builds one head from (in_features, hidden_features, out_features).
    head = staticmethod(_mlp)

    def __init__(
        self,
        local_features: int,
        global_features: int,
        embedding_dim: int,
        hidden_features: int,
    ):
        super().__init__()
        self.local_head = self.head(local_features, hidden_features, embedding_dim)
        self.global_head = self.head(global_features, hidden_features, embedding_dim)

    def embed_local(self, rows: torch.Tensor) -> torch.Tensor:
        return self.local_head(rows)

    def embed_global(self, rows: torch.Tensor) -> torch.Tensor:
        return self.global_head(rows)


class EncodeAndDotCritic(SeparableCritic):
    """The encode-and-dot critic of Deep InfoMax: residual heads, then a dot product.

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

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.critics import EncodeAndDotCritic
    >>> critic = EncodeAndDotCritic(128, 64, embedding_dim=64, hidden_features=32)
    >>> critic(torch.randn(4, 49, 128), torch.randn(4, 64)).shape
    torch.Size([4, 4, 49])
    """

    head = ProjectionHead


class ConcatCritic(nn.Module):
    """An MLP on the concatenation ``[x; y]`` of every pair of the batch.

    The first layer is applied to each side separately and the results are
    added for every pair, which is the same as applying it to the
    concatenation; the hidden activations of all B x B x L pairs are held in
    memory at once.

    Parameters
    ----------
    local_features, global_features : int
        Sizes of both sides.
    hidden_features : int
        Width of the hidden layers.
    n_hidden_layers : int, default=1
        Number of hidden layers (ReLU).
    **unused
        Other sizes given by :func:`make_critic`, which this critic does not use.

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.critics import ConcatCritic
    >>> critic = ConcatCritic(local_features=6, global_features=4, hidden_features=8)
    >>> critic(torch.randn(3, 5, 6), torch.randn(3, 4)).shape
    torch.Size([3, 3, 5])
    """

    def __init__(
        self,
        local_features: int,
        global_features: int,
        hidden_features: int,
        n_hidden_layers: int = 1,
        **unused,
    ):
        super().__init__()
        self.local_layer = nn.Linear(local_features, hidden_features)
        self.global_layer = nn.Linear(global_features, hidden_features, bias=False)
        deeper = []
        for _ in range(n_hidden_layers - 1):
            deeper += [nn.Linear(hidden_features, hidden_features), nn.ReLU()]
        self.deeper_layers = nn.Sequential(*deeper)
        self.output = nn.Linear(hidden_features, 1)
        self.n_hidden_layers = n_hidden_layers
        self.hidden_features = hidden_features

    def pair_memory(self, batch_size: int, n_locations: int) -> int:
        """Bytes of the (B, B, L, H) activations that one call keeps for backward.

        Each hidden layer keeps its sum and its ReLU in float32.
        """
        values = batch_size**2 * n_locations * self.hidden_features
        return 2 * self.n_hidden_layers * values * 4

    def forward(
        self, local_features: torch.Tensor, global_features: torch.Tensor
    ) -> torch.Tensor:
        """Return scores of shape (B, B, L) from (B, L, C) and (B, D) features."""
        local_hidden = self.local_layer(local_features)  # (B, L, H)
        global_hidden = self.global_layer(global_features)  # (B, H)
        hidden = torch.relu(global_hidden[:, None, None] + local_hidden[None])
        return self.output(self.deeper_layers(hidden)).squeeze(-1)  # (B, B, L)


class ConcatAndConvolveCritic(ConcatCritic):
    """The concat-and-convolve critic of Deep InfoMax.

    Y is concatenated with the local feature at every location and scored by
    two hidden layers (ReLU) and a linear output, which are the paper's 1x1
    convolutions over the map with Y replicated at each location; for the
    global term, the flattened map is concatenated with Y as in the paper's
    DIM(G). Scores of all B x B x L pairs cost memory in proportion to
    ``B^2 L hidden_features``: light for the global term (L = 1), heavy for
    the local one.

    Parameters
    ----------
    local_features, global_features : int
        Sizes of both sides.
    hidden_features : int
        Width of the two hidden layers.
    **unused
        Other sizes given by :func:`make_critic`, which this critic does not use.

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.critics import ConcatAndConvolveCritic
    >>> critic = ConcatAndConvolveCritic(6, 4, hidden_features=8)
    >>> critic(torch.randn(3, 5, 6), torch.randn(3, 4)).shape
    torch.Size([3, 3, 5])
    """

    def __init__(
        self,
        local_features: int,
        global_features: int,
        hidden_features: int,
        **unused,
    ):
        super().__init__(
            local_features, global_features, hidden_features, n_hidden_layers=2
        )


#: Critics by name.
CRITICS: dict[str, type[nn.Module]] = {
    "encode_and_dot": EncodeAndDotCritic,
    "separable": SeparableCritic,
    "bilinear": BilinearCritic,
    "dot": DotCritic,
    "concat": ConcatCritic,
    "concat_and_convolve": ConcatAndConvolveCritic,
}


def make_critic(
    critic: str | type | nn.Module,
    local_features: int,
    global_features: int,
    embedding_dim: int,
    hidden_features: int,
) -> nn.Module:
    """Build a critic by name or class, or copy a critic instance.

    Parameters
    ----------
    critic : str, class or torch.nn.Module
        A key of :data:`CRITICS`; a class, called with the four sizes below as
        keyword arguments; or a module mapping (B, L, C) and (B, D) features
        to (B, B, L) scores, deep-copied so that training leaves it unchanged.
    local_features, global_features : int
        Sizes of the two sides.
    embedding_dim, hidden_features : int
        Embedding size and hidden width for critics that use them.

    Returns
    -------
    torch.nn.Module

    Examples
    --------
    >>> from sk_dim.nn.critics import make_critic
    >>> make_critic("bilinear", 128, 64, embedding_dim=64, hidden_features=512)
    BilinearCritic(
      (weight): Linear(in_features=128, out_features=64, bias=False)
    )
    """
    if isinstance(critic, nn.Module):
        return copy.deepcopy(critic)
    if isinstance(critic, str):
        if critic not in CRITICS:
            raise ValueError(
                f"Unknown critic {critic!r}; expected one of {sorted(CRITICS)}, "
                "a critic class or a torch.nn.Module."
            )
        critic = CRITICS[critic]
    return critic(
        local_features=local_features,
        global_features=global_features,
        embedding_dim=embedding_dim,
        hidden_features=hidden_features,
    )
