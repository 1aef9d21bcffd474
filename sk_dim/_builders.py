"""The models of the estimators, built from their resolved parameters.

Each estimator's ``_build_model`` calls one function here with its
parameters ("auto" values resolved), the layout of its training data and
its input scaling; the engine trains what they return.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

import torch
from torch import nn

from ._input.layout import InputLayout
from .nn.augmentations import RandomOcclusion, get_augmentation
from .nn.encoders import ENCODERS, FeedForward, ModuleEncoder, build_encoder
from .nn.latent import (
    BernoulliLikelihood,
    ConvDecoder,
    GaussianEncoder,
    GaussianLikelihood,
)
from .nn.models import DeepInfoMax, LatentVariableModel, TwoViewModel
from .nn.scaling import InputEncoder, Standardize


def build_deep_infomax(
    params: dict, layout: InputLayout, standardize: Standardize
) -> DeepInfoMax:
    """The Deep InfoMax model of a DeepInfoMaxTransformer's resolved ``params``."""
    return DeepInfoMax(
        build_input_encoder(params, layout, standardize),
        params["mi_estimator"],
        params["critic"],
        alpha=params["alpha"],
        beta=params["beta"],
        gamma=params["gamma"],
        prior=params["prior"],
        critic_width=params["critic_width"],
        coordinate_weight=params["coordinate_weight"],
        augmentation=resolve_augmentation(params["augmentation"], layout),
        occlusion=resolve_occlusion(params["occlusion"], layout, standardize),
    )


def build_input_encoder(
    params: dict, layout: InputLayout, standardize: Standardize
) -> InputEncoder:
    """The encoder of ``params`` for data of ``layout``, behind its input scaling.

    A name is built by :func:`~sk_dim.nn.encoders.build_encoder`; a module is
    copied and adapted by :class:`~sk_dim.nn.encoders.ModuleEncoder`.
    """
    encoder, n_components = params["encoder"], params["n_components"]
    sample_shape = layout.image_shape or layout.sample_shape
    if isinstance(encoder, nn.Module):
        module = ModuleEncoder(copy.deepcopy(encoder), sample_shape, n_components)
        return InputEncoder(standardize, module, flatten=False)
    images = ENCODERS[encoder].takes_images
    return InputEncoder(
        standardize,
        build_encoder(encoder, sample_shape, n_components),
        flatten=not images,
        channels_last=images,
    )


def resolve_augmentation(
    augmentation, layout: InputLayout
) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """The augmentation function of a resolved ``augmentation`` for ``layout``."""
    if augmentation is None or callable(augmentation):
        return augmentation
    if layout.image_shape is None:
        raise ValueError(
            f"augmentation={augmentation!r} needs images, but X holds "
            f"feature rows; pass image_shape=(C, H, W) if the rows are "
            f"images, or augmentation=None."
        )
    return get_augmentation(augmentation, layout.image_shape[1:])


def resolve_occlusion(
    occlusion: float, layout: InputLayout, standardize: Standardize
) -> RandomOcclusion | None:
    """The occlusion of the ``occlusion`` parameter, or None when it is 0.

    The square's side is ``occlusion`` times the smaller side of the images
    (one pixel at least), filled with the mean pixel.
    """
    if occlusion == 0:
        return None
    if layout.image_shape is None:
        raise ValueError(
            f"occlusion={occlusion} needs images, but X holds feature rows; pass "
            "image_shape=(C, H, W) if the rows are images, or occlusion=0."
        )
    size = max(1, round(occlusion * min(layout.image_shape[1:])))
    return RandomOcclusion(size, fill=float(standardize.offset))


def build_latent_variable_model(
    standardize: Standardize,
    encoder: str,
    sample_shape: tuple[int, ...],
    n_components: int,
    hidden_layer_sizes: tuple[int, ...],
    likelihood: str,
    objective: str,
) -> LatentVariableModel:
    """The encoder ``encoder``, its decoder and the likelihood of one model.

    An image encoder (``sample_shape`` is (C, H, W)) gets a
    transposed-convolution decoder; the MLP encoder (of samples of any
    shape, flattened) an MLP decoder that mirrors ``hidden_layer_sizes``.
    ``likelihood`` is "bernoulli" or "gaussian", ``objective`` one of
    :class:`~sk_dim.nn.objectives.mim.LatentObjective`.
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
        standardize,
        GaussianEncoder(body),
        decoder,
        output,
        sample_shape,
        n_components,
        objective,
    )


def build_two_view_model(
    params: dict,
    views: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
    view_sizes: list[int],
    scalings: tuple[Standardize, Standardize],
) -> TwoViewModel:
    """The view function, scalings, one plain MLP encoder per view, and the bound."""
    encoders = tuple(
        FeedForward(size, params["n_components"], params["hidden_layer_sizes"])
        for size in view_sizes
    )
    return TwoViewModel(
        views,
        scalings,
        encoders,
        params["n_components"],
        params["mi_estimator"],
        params["critic"],
        params["critic_width"],
    )
