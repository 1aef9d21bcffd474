"""Adversarial matching of the global vector to a prior distribution.

A discriminator learns to tell prior samples from encoded samples with the
standard GAN loss (plus a gradient penalty) on its own optimizer; the encoder
receives the non-saturating loss ``E[softplus(-D(q))]``, which pulls the
encoded distribution toward the prior.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "PRIORS",
    "PriorDiscriminator",
    "discriminator_loss",
    "encoder_prior_loss",
    "sample_prior",
    "to_prior_space",
]

#: Supported priors: ``"uniform"`` on ``[0, 1]^d`` (compared with the sigmoid of
#: the global vector) and ``"gaussian"`` ``N(0, I)`` (compared with the vector).
PRIORS = ("uniform", "gaussian")


class PriorDiscriminator(nn.Module):
    """Discriminator ``d -> 1000 -> 200 -> 1`` with ReLU activations.

    Parameters
    ----------
    n_components : int
        Size of the vectors to classify.

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.prior import PriorDiscriminator
    >>> discriminator = PriorDiscriminator(n_components=8)
    >>> discriminator(torch.rand(5, 8)).shape
    torch.Size([5])
    """

    def __init__(self, n_components: int):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(n_components, 1000),
            nn.ReLU(inplace=True),
            nn.Linear(1000, 200),
            nn.ReLU(inplace=True),
            nn.Linear(200, 1),
        )

    def forward(self, vectors: torch.Tensor) -> torch.Tensor:
        """Logits of shape (B,) that ``vectors`` (B, d) come from the prior."""
        return self.layers(vectors).squeeze(-1)


def to_prior_space(global_vector: torch.Tensor, prior: str) -> torch.Tensor:
    """Map the global vector to the support of ``prior``.

    Parameters
    ----------
    global_vector : torch.Tensor of shape (B, d)
        Global vectors Y.
    prior : {"uniform", "gaussian"}
        The prior they are matched to.

    Returns
    -------
    torch.Tensor of shape (B, d)
        ``sigmoid(Y)`` for the uniform prior on ``[0, 1]^d``, Y itself for the
        Gaussian one.

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.prior import to_prior_space
    >>> to_prior_space(torch.zeros(1, 3), "uniform")
    tensor([[0.5000, 0.5000, 0.5000]])
    """
    return torch.sigmoid(global_vector) if prior == "uniform" else global_vector


def sample_prior(
    prior: str, like: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Draw as many prior samples as ``like`` has rows, with its shape and dtype.

    Parameters
    ----------
    prior : {"uniform", "gaussian"}
        Uniform on ``[0, 1]^d`` or standard normal.
    like : torch.Tensor of shape (B, d)
        A tensor of the wanted shape, dtype and device.
    generator : torch.Generator, optional
        Source of the random numbers; torch's default generator when None.

    Returns
    -------
    torch.Tensor of shape (B, d)

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.prior import sample_prior
    >>> samples = sample_prior("uniform", torch.empty(1000, 2))
    >>> samples.shape, bool(samples.min() >= 0), bool(samples.max() <= 1)
    (torch.Size([1000, 2]), True, True)
    """
    if prior == "uniform":
        return torch.rand(
            like.shape, generator=generator, device=like.device, dtype=like.dtype
        )
    return torch.randn(
        like.shape, generator=generator, device=like.device, dtype=like.dtype
    )


def encoder_prior_loss(discriminator: nn.Module, encoded: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss ``E[softplus(-D(encoded))]``.

    Parameters
    ----------
    discriminator : torch.nn.Module
        Maps vectors (B, d) to logits (B,) that they come from the prior.
    encoded : torch.Tensor of shape (B, d)
        Encoded vectors in the prior's space (see :func:`to_prior_space`).

    Returns
    -------
    torch.Tensor
        Scalar loss of the encoder, low when the discriminator takes the
        encoded vectors for prior samples.

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.prior import encoder_prior_loss
    >>> fooled = lambda vectors: torch.full((len(vectors),), 10.0)
    >>> round(float(encoder_prior_loss(fooled, torch.rand(4, 2))), 4)
    0.0
    """
    return F.softplus(-discriminator(encoded)).mean()


def discriminator_loss(
    discriminator: nn.Module,
    prior_samples: torch.Tensor,
    encoded: torch.Tensor,
    gradient_penalty: float = 1.0,
) -> torch.Tensor:
    """GAN loss of the discriminator with a gradient penalty.

    ``E[softplus(-D(p))] + E[softplus(D(q))] + w E[|grad D(x)|^2]``, where the
    penalty is taken on both prior samples ``p`` and encoded samples ``q``.

    Parameters
    ----------
    discriminator : torch.nn.Module
        Maps vectors (B, d) to logits (B,) that they come from the prior.
    prior_samples : torch.Tensor of shape (B, d)
        Samples of the prior.
    encoded : torch.Tensor of shape (B, d)
        Encoded vectors in the prior's space, detached from the encoder.
    gradient_penalty : float, default=1.0
        Weight ``w`` of the penalty; 0 turns it off.

    Returns
    -------
    torch.Tensor
        Scalar loss of the discriminator.

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.prior import PriorDiscriminator, discriminator_loss
    >>> _ = torch.manual_seed(0)
    >>> discriminator = PriorDiscriminator(n_components=2)
    >>> loss = discriminator_loss(discriminator, torch.rand(8, 2), torch.randn(8, 2))
    >>> loss.backward()
    >>> loss.shape
    torch.Size([])
    """
    inputs = torch.cat([prior_samples, encoded]).requires_grad_(gradient_penalty > 0)
    logits = discriminator(inputs)
    prior_logits, encoded_logits = logits.split(len(prior_samples))
    loss = F.softplus(-prior_logits).mean() + F.softplus(encoded_logits).mean()
    if gradient_penalty > 0:
        (gradients,) = torch.autograd.grad(logits.sum(), inputs, create_graph=True)
        loss = loss + gradient_penalty * gradients.pow(2).sum(dim=1).mean()
    return loss
