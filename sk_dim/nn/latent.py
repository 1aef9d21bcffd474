"""Latent-variable networks: a Gaussian encoder q(z|x), decoders and likelihoods p(x|z).

The :class:`~sk_dim.nn.models.LatentVariableModel` of
:class:`~sk_dim.MutualInformationMachine` holds the input scaling, a
:class:`GaussianEncoder` and a decoder whose output parameterises a
:class:`BernoulliLikelihood` (logits) or a :class:`GaussianLikelihood`
(means, with one learned variance per feature).
Densities are summed over all but the first axis, so each sample gets one
log-density.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

__all__ = [
    "BernoulliLikelihood",
    "ConvDecoder",
    "GaussianEncoder",
    "GaussianLikelihood",
    "gaussian_log_density",
    "standard_normal_log_density",
]

_LOG_2PI = math.log(2 * math.pi)


def gaussian_log_density(
    values: torch.Tensor, mean: torch.Tensor, log_var: torch.Tensor
) -> torch.Tensor:
    """Log-density of a diagonal Gaussian, summed over all but the first axis.

    Parameters
    ----------
    values, mean : torch.Tensor of shape (B, ...)
    log_var : torch.Tensor
        Log-variances, broadcastable to ``values``.

    Returns
    -------
    torch.Tensor of shape (B,)

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.latent import gaussian_log_density
    >>> zero = torch.zeros(1, 1)
    >>> round(float(gaussian_log_density(zero, zero, zero)), 4)  # -log(2 pi) / 2
    -0.9189
    """
    squared = (values - mean) ** 2 * torch.exp(-log_var)  # (B, ...)
    return -0.5 * (squared + log_var + _LOG_2PI).flatten(1).sum(1)


def standard_normal_log_density(values: torch.Tensor) -> torch.Tensor:
    """Log-density of the standard normal N(0, I) at each row.

    Parameters
    ----------
    values : torch.Tensor of shape (B, D)
        Points, one per row.

    Returns
    -------
    torch.Tensor of shape (B,)

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.latent import standard_normal_log_density
    >>> standard_normal_log_density(torch.zeros(1, 2))  # -log(2 pi)
    tensor([-1.8379])
    """
    return -0.5 * (values**2 + _LOG_2PI).sum(1)


class BernoulliLikelihood(nn.Module):
    """p(x|z) with independent Bernoulli pixels or features, from logits.

    Targets are in [0, 1]; for binary data the log-likelihood is a
    log-probability, for grey levels in between it is the usual
    cross-entropy surrogate. It has no parameters.

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.latent import BernoulliLikelihood
    >>> likelihood = BernoulliLikelihood()
    >>> round(float(likelihood.log_prob(torch.ones(1, 2), torch.zeros(1, 2))), 4)
    -1.3863
    """

    #: Whether samples of this likelihood can carry gradients (reparameterised).
    reparameterised = False

    def __init__(self) -> None:
        super().__init__()

    def log_prob(self, targets: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        """(B,) log-likelihood of (B, ...) ``targets`` given (B, ...) logits."""
        bce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
        return -bce.flatten(1).sum(1)

    def mean(self, logits: torch.Tensor) -> torch.Tensor:
        """The probabilities of the logits."""
        return torch.sigmoid(logits)

    def sample(self, logits: torch.Tensor) -> torch.Tensor:
        """Binary samples of the logits, without gradient."""
        return torch.bernoulli(torch.sigmoid(logits.detach()))


class GaussianLikelihood(nn.Module):
    """p(x|z) Gaussian around the decoder's output, one learned variance per feature.

    Parameters
    ----------
    sample_shape : tuple of int
        Shape of one sample (``(F,)`` or ``(C, H, W)``).
    min_log_var : float, default=-6.0
        Floor of the log-variances, which keeps the likelihood bounded.

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.latent import GaussianLikelihood
    >>> likelihood = GaussianLikelihood(sample_shape=(2,))
    >>> likelihood.log_prob(torch.zeros(1, 2), torch.zeros(1, 2))  # variances near 1
    tensor([-1.8404], grad_fn=<MulBackward0>)
    """

    reparameterised = True

    def __init__(self, sample_shape: tuple[int, ...], min_log_var: float = -6.0):
        super().__init__()
        self.raw_log_var = nn.Parameter(torch.zeros(sample_shape))
        self.min_log_var = min_log_var

    @property
    def log_var(self) -> torch.Tensor:
        return self.min_log_var + F.softplus(self.raw_log_var - self.min_log_var)

    def log_prob(self, targets: torch.Tensor, means: torch.Tensor) -> torch.Tensor:
        """(B,) log-density of (B, ...) ``targets`` around (B, ...) means."""
        return gaussian_log_density(targets, means, self.log_var)

    def mean(self, means: torch.Tensor) -> torch.Tensor:
        return means

    def sample(self, means: torch.Tensor) -> torch.Tensor:
        """Reparameterised samples around the means."""
        return means + torch.exp(0.5 * self.log_var) * torch.randn_like(means)


class GaussianEncoder(nn.Module):
    """q(z|x) = N(mean(x), diag(exp(log_var(x)))) on top of an sk_dim encoder.

    Parameters
    ----------
    body : torch.nn.Module
        An encoder of :mod:`sk_dim.nn.encoders` built with ``2 * n_components``
        outputs; its global vector holds the means and raw log-variances.
    min_log_var : float, default=-10.0
        Smooth floor of the log-variances. Objectives that reward a
        low-entropy encoder (the MIM losses) drive the variances to it.

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.encoders import MLPEncoder
    >>> from sk_dim.nn.latent import GaussianEncoder
    >>> encoder = GaussianEncoder(MLPEncoder(10, 2 * 3, hidden_layer_sizes=(16,)))
    >>> mean, log_var = encoder(torch.randn(4, 10))
    >>> mean.shape, log_var.shape
    (torch.Size([4, 3]), torch.Size([4, 3]))
    """

    def __init__(self, body: nn.Module, min_log_var: float = -10.0):
        super().__init__()
        self.body = body
        self.min_log_var = min_log_var

    def forward(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, D) means and log-variances of the codes of standardised inputs."""
        _, output = self.body(inputs)
        mean, raw_log_var = output.float().chunk(2, dim=1)
        log_var = self.min_log_var + F.softplus(raw_log_var - self.min_log_var)
        return mean, log_var


class ConvDecoder(nn.Module):
    """Codes (B, D) to (B, C, H, W) likelihood parameters by transposed convolutions.

    A linear layer maps the code to a 128-channel map of a quarter of the
    image's side (rounded up); two stride-2 transposed convolutions (64
    channels, BatchNorm, ReLU in between) double it twice, and the result is
    cropped to the image.

    Parameters
    ----------
    n_components : int
        Size of the codes.
    image_shape : tuple of int
        ``(C, H, W)`` of the images.

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.latent import ConvDecoder
    >>> ConvDecoder(8, (1, 28, 28))(torch.zeros(2, 8)).shape
    torch.Size([2, 1, 28, 28])
    """

    def __init__(self, n_components: int, image_shape: tuple[int, int, int]):
        super().__init__()
        channels, height, width = image_shape
        self.image_size = (height, width)
        self.seed_shape = (128, -(-height // 4), -(-width // 4))
        self.project = nn.Sequential(
            nn.Linear(n_components, math.prod(self.seed_shape)),
            nn.ReLU(inplace=True),
        )
        self.upsample = nn.Sequential(
            nn.ConvTranspose2d(128, 64, 4, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(64),
            nn.ReLU(inplace=True),
            nn.ConvTranspose2d(64, channels, 4, stride=2, padding=1),
        )

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        seed = self.project(codes).view(len(codes), *self.seed_shape)
        height, width = self.image_size
        return self.upsample(seed)[:, :, :height, :width]
