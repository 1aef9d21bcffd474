"""The skorch net of the Mutual Information Machine (and its VAE), and its builder."""

from __future__ import annotations

import math

import torch

from .._input.layout import InputLayout
from .._training.configuration import engine_arguments
from .._training.engine import TrainingNet
from ..nn.encoders import ENCODERS, FeedForward, build_encoder
from ..nn.latent import (
    BernoulliLikelihood,
    ConvDecoder,
    GaussianEncoder,
    GaussianLikelihood,
    LatentVariableModel,
)
from ..nn.objectives.mim import LatentObjective
from ..nn.scaling import Standardize


class LatentModelNet(TrainingNet):
    """skorch net training a :class:`~sk_dim.nn.latent.LatentVariableModel`.

    ``module`` is the model (input scaling, encoder, decoder and likelihood)
    and ``criterion`` its :class:`~sk_dim.nn.objectives.mim.LatentObjective`.
    The held-out score of a batch is the negative loss.
    """

    def forward_loss(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Loss of one batch of raw inputs, and its (B, D) code means."""
        return self.criterion_(self.module_, inputs)

    def batch_score(self, batch: torch.Tensor) -> torch.Tensor:
        loss, _ = self.criterion_(self.module_, batch)
        return -loss


def build_model(
    standardize: Standardize,
    encoder: str,
    sample_shape: tuple[int, ...],
    n_components: int,
    hidden_layer_sizes: tuple[int, ...],
    likelihood: str,
) -> LatentVariableModel:
    """The encoder ``encoder``, its decoder and the likelihood of one model.

    An image encoder (``sample_shape`` is (C, H, W)) gets a
    transposed-convolution decoder; the MLP encoder (of samples of any
    shape, flattened) an MLP decoder that mirrors ``hidden_layer_sizes``.
    ``likelihood`` is "bernoulli" or "gaussian".
    """
    if ENCODERS[encoder].takes_images:
        body = build_encoder(encoder, sample_shape, 2 * n_components)
        decoder = ConvDecoder(n_components, sample_shape)
    else:
        sample_shape = (math.prod(sample_shape),)
        body = build_encoder(
            encoder,
            sample_shape,
            2 * n_components,
            hidden_layer_sizes=hidden_layer_sizes,
        )
        decoder = FeedForward(n_components, *sample_shape, hidden_layer_sizes[::-1])
    output = (
        BernoulliLikelihood()
        if likelihood == "bernoulli"
        else GaussianLikelihood(sample_shape)
    )
    return LatentVariableModel(
        standardize, GaussianEncoder(body), decoder, output, sample_shape, n_components
    )


def build_net(
    params: dict,
    layout: InputLayout,
    standardize: Standardize,
    likelihood: str,
    seed: int,
    device: torch.device,
) -> LatentModelNet:
    """The skorch net of a MutualInformationMachine's ``params``, without callbacks.

    ``params`` has "auto" values resolved: ``encoder`` a name and
    ``hidden_layer_sizes`` a checked tuple; ``likelihood`` is
    "bernoulli" or "gaussian".
    """
    model = build_model(
        standardize,
        params["encoder"],
        layout.image_shape or layout.sample_shape,
        params["n_components"],
        params["hidden_layer_sizes"],
        likelihood,
    )
    return LatentModelNet(
        module=model,
        criterion=LatentObjective(params["objective"]),
        **engine_arguments(
            params, seed, device, betas=(0.9, 0.999), auto_precision="32"
        ),
    )
