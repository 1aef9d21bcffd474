"""The latent-variable model of the Mutual Information Machine and the VAE.

:class:`LatentVariableModel` (Livne, Swersky and Fleet 2019) encodes each
sample to a Gaussian q(z|x) over codes and decodes codes to a likelihood
p(x|z); its objective (:mod:`sk_dim.nn.objectives.mim`) is MIM's, A-MIM's or
the VAE's.
"""

from __future__ import annotations

import torch
from torch import nn

from ..latent import GaussianEncoder
from ..objectives.mim import LatentObjective
from ..scaling import Standardize
from .base import InfoMaxModel, ModelLoss

__all__ = ["LatentVariableModel"]


class LatentVariableModel(InfoMaxModel):
    """Input scaling, Gaussian encoder, decoder, likelihood and objective of one model.

    The model works in the scaled space of ``standardize``: raw inputs are
    scaled by :meth:`prepare`, and decoded samples are in that space too.
    ``loss`` is the loss of ``objective`` (MIM, A-MIM or the VAE's negative
    ELBO); the held-out score is the negative loss.

    Parameters
    ----------
    standardize : Standardize
        Raw inputs to the model's space ([0, 1] for a Bernoulli likelihood).
    encoder : GaussianEncoder
    decoder : torch.nn.Module
        Codes (B, D) to likelihood parameters of the shape of scaled inputs.
    likelihood : BernoulliLikelihood or GaussianLikelihood
    sample_shape : tuple of int
        Shape of one scaled input, ``(F,)`` or ``(C, H, W)``.
    n_components : int
        Size of the codes.
    objective : {"mim", "a-mim", "vae"}, default="mim"
        See :class:`~sk_dim.nn.objectives.mim.LatentObjective`.

    Examples
    --------
    The model of a fitted :class:`~sk_dim.MutualInformationMachine`:

    >>> import numpy as np
    >>> from sk_dim import MutualInformationMachine
    >>> X = np.random.default_rng(0).random((64, 10))
    >>> machine = MutualInformationMachine(n_components=3, batch_size=32, max_epochs=1)
    >>> model = machine.fit(X).net_.module_
    >>> mean, log_var = model(torch.as_tensor(X[:5], dtype=torch.float32))
    >>> mean.shape, model.decode(mean).shape
    (torch.Size([5, 3]), torch.Size([5, 10]))
    """

    def __init__(
        self,
        standardize: Standardize,
        encoder: GaussianEncoder,
        decoder: nn.Module,
        likelihood: nn.Module,
        sample_shape: tuple[int, ...],
        n_components: int,
        objective: str = "mim",
    ):
        super().__init__()
        self.objective = LatentObjective(objective)
        self.n_components = n_components
        self.standardize = standardize
        self.encoder = encoder
        self.decoder = decoder
        self.likelihood = likelihood
        self.sample_shape = sample_shape

    def prepare(self, inputs: torch.Tensor) -> torch.Tensor:
        """Raw (B, ...) inputs scaled to the model's space, in ``sample_shape``."""
        return self.standardize(inputs).reshape(len(inputs), *self.sample_shape)

    def encode(self, scaled: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, D) means and log-variances of q(z|x) for scaled inputs."""
        return self.encoder(scaled)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Likelihood parameters (B, ...) of p(x|z) for (B, D) codes."""
        return self.decoder(codes).reshape(len(codes), *self.sample_shape)

    def forward(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Means and log-variances of the codes of raw inputs."""
        return self.encode(self.prepare(inputs))

    def loss(self, inputs: torch.Tensor) -> ModelLoss:
        """Loss of raw (B, ...) inputs; the codes are the (B, D) means of q(z|x).

        The terms are the halves of MIM's loss on encoder samples
        ("encoder_samples") and decoder samples ("decoder_samples"), for
        ``objective="mim"``; none for the others.
        """
        return ModelLoss(*self.objective(self, inputs))

    def score(self, inputs: torch.Tensor) -> torch.Tensor:
        """The negative loss of a batch."""
        return -self.objective(self, inputs)[0]
