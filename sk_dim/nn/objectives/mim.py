"""Losses of the Mutual Information Machine (Livne, Swersky and Fleet 2019) and the VAE.

With the data distribution P(x), the prior P(z) = N(0, I), an encoder
q(z|x) and a decoder p(x|z), MIM minimises the cross-entropy of the sample
distribution M_S = (P(x) q(z|x) + P(z) p(x|z)) / 2 to both model joints::

    L_MIM = -1/2 E_{M_S}[log p(x|z) + log P(z) + log q(z|x) + log q(x)]

On encoder samples (x from the data, z ~ q(z|x)), q(x) is the data
distribution and the term is a constant; using those samples only gives the
asymmetric A-MIM::

    L_A-MIM = -1/2 E_{x, z ~ q(z|x)}[log p(x|z) + log P(z) + log q(z|x)]

On decoder samples (z ~ P(z), x ~ p(x|z)), log q(x) is estimated with one
importance sample z' ~ q(z|x): ``log p(x|z') + log P(z') - log q(z'|x)``.
Where the likelihood cannot be reparameterised (Bernoulli), the decoder's
gradient through its own samples is the score-function term, with the batch
mean as baseline. Unlike the VAE's ``-log p(x|z) - log P(z) + log q(z|x)``,
MIM rewards encoders of low entropy, hence high mutual information between x
and z.

The pure functions take (B,) log-densities and return (B,) per-sample losses
or a scalar mean.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch import nn

from ..latent import gaussian_log_density, standard_normal_log_density

if TYPE_CHECKING:
    from ..models.latent_variable import LatentVariableModel

__all__ = [
    "OBJECTIVES",
    "LatentObjective",
    "importance_log_likelihood",
    "mim_sample_loss",
    "one_sample_log_marginal",
    "score_function_surrogate",
    "vae_loss",
]

#: The objectives of :class:`LatentObjective`.
OBJECTIVES = ("mim", "a-mim", "vae")


def vae_loss(
    log_likelihood: torch.Tensor, log_prior: torch.Tensor, log_posterior: torch.Tensor
) -> torch.Tensor:
    """Negative ELBO of one posterior sample per input, (B,).

    Parameters
    ----------
    log_likelihood, log_prior, log_posterior : torch.Tensor of shape (B,)
        ``log p(x|z)``, ``log P(z)`` and ``log q(z|x)`` at z ~ q(z|x).

    Returns
    -------
    torch.Tensor of shape (B,)
        ``log q(z|x) - log p(x|z) - log P(z)``.

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.objectives.mim import vae_loss
    >>> terms = torch.tensor([-2.0]), torch.tensor([-1.0]), torch.tensor([0.5])
    >>> vae_loss(*terms).tolist()
    [3.5]
    """
    return log_posterior - log_likelihood - log_prior


def mim_sample_loss(
    log_likelihood: torch.Tensor,
    log_prior: torch.Tensor,
    log_posterior: torch.Tensor,
    log_marginal: torch.Tensor | None = None,
) -> torch.Tensor:
    """``-1/2 (log p(x|z) + log P(z) + log q(z|x) + log q(x))`` per sample, (B,).

    Parameters
    ----------
    log_likelihood, log_prior, log_posterior : torch.Tensor of shape (B,)
        ``log p(x|z)``, ``log P(z)`` and ``log q(z|x)`` of each (x, z) pair.
    log_marginal : torch.Tensor of shape (B,) or None
        ``log q(x)``; None for data samples, where it is a constant.

    Returns
    -------
    torch.Tensor of shape (B,)

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.objectives.mim import mim_sample_loss
    >>> ones = torch.ones(1)
    >>> mim_sample_loss(-ones, -ones, ones).tolist()
    [0.5]
    """
    total = log_likelihood + log_prior + log_posterior  # (B,)
    if log_marginal is not None:
        total = total + log_marginal
    return -0.5 * total


def one_sample_log_marginal(
    log_likelihood: torch.Tensor, log_prior: torch.Tensor, log_posterior: torch.Tensor
) -> torch.Tensor:
    """One-sample importance estimate of ``log q(x) = log E_{P(z)} p(x|z)``, (B,).

    Parameters
    ----------
    log_likelihood, log_prior, log_posterior : torch.Tensor of shape (B,)
        ``log p(x|z')``, ``log P(z')`` and ``log q(z'|x)``, read at one code
        z' ~ q(z|x) per input.

    Returns
    -------
    torch.Tensor of shape (B,)
        ``log p(x|z') + log P(z') - log q(z'|x)``, unbiased for ``q(x)``
        after exponentiation.

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.objectives.mim import one_sample_log_marginal
    >>> terms = torch.tensor([-2.0]), torch.tensor([-1.0]), torch.tensor([0.5])
    >>> one_sample_log_marginal(*terms).tolist()
    [-3.5]
    """
    return log_likelihood + log_prior - log_posterior


def score_function_surrogate(
    loss: torch.Tensor, log_prob: torch.Tensor
) -> torch.Tensor:
    """Per-sample ``loss`` (B,) whose gradient also holds the score-function term.

    For samples x drawn with log-probability ``log_prob`` and no
    reparameterisation, ``(loss_i - b_i) * grad log_prob_i`` is added to the
    gradient, with the leave-one-out baseline ``b_i``, the mean loss of the
    other samples, which keeps the estimate unbiased; the values are
    unchanged.

    Parameters
    ----------
    loss : torch.Tensor of shape (B,)
        Per-sample loss.
    log_prob : torch.Tensor of shape (B,)
        Log-probability of each sample under the distribution that drew it.

    Returns
    -------
    torch.Tensor of shape (B,)
        Equal to ``loss``, with the score-function term in its gradient.

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.objectives.mim import score_function_surrogate
    >>> log_prob = torch.zeros(2, requires_grad=True)
    >>> score_function_surrogate(torch.tensor([1.0, 3.0]), log_prob).sum().backward()
    >>> log_prob.grad.tolist()  # each loss less the other's
    [-2.0, 2.0]
    """
    others = max(len(loss) - 1, 1)
    baseline = (loss.sum() - loss) / others  # (B,) the mean of the others
    advantage = (loss - baseline).detach()  # (B,)
    return loss + advantage * (log_prob - log_prob.detach())


def _sample_codes(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    return mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)


def importance_log_likelihood(
    model: LatentVariableModel, scaled: torch.Tensor, noise: torch.Tensor
) -> torch.Tensor:
    """Importance-sampled ``log p(x)`` of scaled inputs (B, ...), shape (B,).

    ``log mean_k p(x|z_k) P(z_k) / q(z_k|x)`` over the codes
    ``z_k = mean(x) + std(x) * noise_k`` ~ q(z|x): a lower bound in
    expectation that tightens as the number K of codes grows (the IWAE
    bound; one code gives the ELBO). Every input uses the same (K, D)
    standard-normal ``noise``, so that its estimate does not depend on the
    other inputs or their order.

    Parameters
    ----------
    model : LatentVariableModel
        Encoder, decoder and likelihood.
    scaled : torch.Tensor of shape (B, ...)
        Inputs in the model's space (see ``LatentVariableModel.prepare``).
    noise : torch.Tensor of shape (K, D)
        Standard-normal draws that make the K codes of every input.

    Returns
    -------
    torch.Tensor of shape (B,)
        The estimate of ``log p(x)`` in nats, in the model's space.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from sk_dim import MutualInformationMachine
    >>> X = np.random.default_rng(0).random((64, 10))
    >>> machine = MutualInformationMachine(n_components=3, batch_size=32, max_epochs=1)
    >>> model = machine.fit(X).net_.module_
    >>> from sk_dim.nn.objectives.mim import importance_log_likelihood
    >>> scaled = model.prepare(torch.as_tensor(X[:5], dtype=torch.float32))
    >>> with torch.no_grad():
    ...     log_p = importance_log_likelihood(model, scaled, torch.randn(100, 3))
    >>> log_p.shape
    torch.Size([5])
    """
    mean, log_var = model.encode(scaled)  # (B, D)
    std = torch.exp(0.5 * log_var)
    codes = mean + std * noise[:, None, :]  # (K, B, D)
    n_samples = len(noise)
    flat = codes.reshape(-1, codes.shape[-1])  # (K B, D)
    targets = scaled.expand(n_samples, *scaled.shape).reshape(-1, *scaled.shape[1:])
    log_likelihood = model.likelihood.log_prob(targets, model.decode(flat))
    log_weights = one_sample_log_marginal(
        log_likelihood,
        standard_normal_log_density(flat),
        gaussian_log_density(
            flat,
            mean.repeat(n_samples, 1),
            log_var.repeat(n_samples, 1),
        ),
    ).view(n_samples, -1)  # (K, B)
    return torch.logsumexp(log_weights, dim=0) - math.log(n_samples)


class LatentObjective(nn.Module):
    """Loss of a :class:`~sk_dim.nn.models.LatentVariableModel` on one batch.

    Parameters
    ----------
    objective : {"mim", "a-mim", "vae"}
        "mim" averages the losses of encoder samples and of as many decoder
        samples; "a-mim" uses encoder samples only; "vae" is the negative
        ELBO.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from sk_dim import MutualInformationMachine
    >>> X = np.random.default_rng(0).random((64, 10))
    >>> machine = MutualInformationMachine(n_components=3, batch_size=32, max_epochs=1)
    >>> model = machine.fit(X).net_.module_
    >>> from sk_dim.nn.objectives.mim import LatentObjective
    >>> inputs = torch.as_tensor(X[:8], dtype=torch.float32)
    >>> loss, code_means, terms = LatentObjective("a-mim")(model, inputs)
    >>> loss.shape, code_means.shape
    (torch.Size([]), torch.Size([8, 3]))
    """

    def __init__(self, objective: str):
        super().__init__()
        if objective not in OBJECTIVES:
            raise ValueError(
                f"objective must be one of {OBJECTIVES}, got {objective!r}."
            )
        self.objective = objective

    def forward(
        self, model: LatentVariableModel, inputs: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """Scalar loss of raw (B, ...) inputs, their (B, D) code means, and terms.

        The terms, detached, are the means of MIM's loss on encoder and on
        decoder samples; the other objectives have none but the loss.
        """
        scaled = model.prepare(inputs)
        if self.objective != "mim":
            mean, log_var = model.encode(scaled)
            loss = self._encoder_loss(model, scaled, mean, log_var).mean()
            return loss, mean, {}
        prior_codes = torch.randn(
            len(scaled), model.n_components, device=scaled.device
        )  # (B, D)
        parameters = model.decode(prior_codes)
        samples = model.likelihood.sample(parameters)  # (B, ...)
        means, log_vars = model.encode(torch.cat([scaled, samples]))  # (2B, D)
        mean, sample_mean = means.chunk(2)
        log_var, sample_log_var = log_vars.chunk(2)
        encoder_half = self._encoder_loss(model, scaled, mean, log_var)
        decoder_half = self._decoder_loss(
            model, prior_codes, parameters, samples, sample_mean, sample_log_var
        )
        encoder_loss, decoder_loss = encoder_half.mean(), decoder_half.mean()
        terms = {
            "encoder_samples": encoder_loss.detach(),
            "decoder_samples": decoder_loss.detach(),
        }
        return (encoder_loss + decoder_loss) / 2, mean, terms

    def _encoder_loss(
        self,
        model: LatentVariableModel,
        scaled: torch.Tensor,
        mean: torch.Tensor,
        log_var: torch.Tensor,
    ) -> torch.Tensor:
        """(B,) loss of data samples x and codes z ~ q(z|x)."""
        codes = _sample_codes(mean, log_var)  # (B, D)
        terms = (
            model.likelihood.log_prob(scaled, model.decode(codes)),
            standard_normal_log_density(codes),
            gaussian_log_density(codes, mean, log_var),
        )
        if self.objective == "vae":
            return vae_loss(*terms)
        return mim_sample_loss(*terms)

    @staticmethod
    def _decoder_loss(
        model: LatentVariableModel,
        codes: torch.Tensor,
        parameters: torch.Tensor,
        samples: torch.Tensor,
        mean: torch.Tensor,
        log_var: torch.Tensor,
    ) -> torch.Tensor:
        """(B,) loss of prior codes z, decoded samples x ~ p(x|z) and q(z|x)."""
        log_likelihood = model.likelihood.log_prob(samples, parameters)  # (B,)
        proposal = _sample_codes(mean, log_var)  # z' ~ q(z|x), (B, D)
        log_marginal = one_sample_log_marginal(
            model.likelihood.log_prob(samples, model.decode(proposal)),
            standard_normal_log_density(proposal),
            gaussian_log_density(proposal, mean, log_var),
        )
        loss = mim_sample_loss(
            log_likelihood,
            standard_normal_log_density(codes),
            gaussian_log_density(codes, mean, log_var),
            log_marginal,
        )
        if model.likelihood.reparameterised:
            return loss
        return score_function_surrogate(loss, log_likelihood)
