"""From a DeepInfoMaxTransformer's parameters to its networks and net."""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from ._data import InputEncoder, InputLayout, Standardize
from ._dim_net import DeepInfoMaxNet
from ._training import engine_arguments
from .augmentations import RandomOcclusion, get_augmentation
from .encoders import ENCODERS, MLPEncoder, ModuleEncoder
from .estimators import get_estimator
from .objectives import DeepInfoMaxObjective
from .prior import PriorDiscriminator


def _encoder_name(params: dict, layout: InputLayout) -> str:
    name = params["encoder"]
    if isinstance(name, nn.Module):
        return "module"
    if name == "auto":
        return "mlp" if layout.image_shape is None else "conv"
    if name in ENCODERS and layout.image_shape is None:
        raise ValueError(
            f"encoder={name!r} needs images: pass 3-D or 4-D X, or 2-D X with "
            "image_shape=(C, H, W)."
        )
    return name


def build_encoder(params: dict, layout: InputLayout) -> tuple[nn.Module, str]:
    """The encoder of ``params`` for data of ``layout``, and its kind.

    The kind is a key of :data:`~sk_dim.encoders.ENCODERS`, ``"mlp"`` or
    ``"module"`` (a copy of the user's module, adapted by
    :class:`~sk_dim.encoders.ModuleEncoder`).
    """
    n_components = params["n_components"]
    kind = _encoder_name(params, layout)
    if kind == "module":
        module = copy.deepcopy(params["encoder"])
        shape = layout.image_shape or layout.sample_shape
        return ModuleEncoder(module, shape, n_components), kind
    if kind == "mlp":
        n_features = int(np.prod(layout.image_shape or layout.sample_shape))
        return MLPEncoder(n_features, n_components), kind
    channels, height, width = layout.image_shape
    return ENCODERS[kind](channels, (height, width), n_components), kind


def build_networks(
    params: dict, layout: InputLayout, standardize: Standardize
) -> tuple[InputEncoder, DeepInfoMaxObjective, PriorDiscriminator | None]:
    """The encoder (with its input scaling), objective and prior discriminator.

    Parameters
    ----------
    params : dict
        The transformer's parameters (``get_params(deep=False)``).
    layout : InputLayout
        Layout of the training data.
    standardize : Standardize
        Input scaling.

    Returns
    -------
    module, objective, discriminator
        ``discriminator`` is None when ``gamma`` is 0.
    """
    n_components = params["n_components"]
    encoder, kind = build_encoder(params, layout)
    has_local_map = getattr(encoder, "has_local_map", True)  # False: only Y
    if params["beta"] > 0 and not has_local_map:
        raise ValueError(
            f"The encoder module {type(params['encoder']).__name__} returns only "
            "global vectors, but the local term (beta > 0) needs a local feature "
            "map; set beta=0 to train the global term against the input, or "
            "return (local_map, global_vector) from the module."
        )
    if params["coordinate_weight"] > 0 and (
        not has_local_map or encoder.local_size == (1, 1)
    ):
        raise ValueError(
            "coordinate_weight > 0 predicts the position of each local feature, "
            f"but the {type(encoder).__name__} has no local feature map of "
            "several locations; use an image encoder or set coordinate_weight=0."
        )
    objective = DeepInfoMaxObjective(
        get_estimator(params["mi_estimator"]),
        params["critic"],
        local_channels=encoder.local_channels,
        local_size=encoder.local_size,
        n_components=n_components,
        alpha=params["alpha"],
        beta=params["beta"],
        embedding_dim=n_components,
        critic_hidden=params["critic_width"],
        coordinate_weight=params["coordinate_weight"],
    )
    discriminator = PriorDiscriminator(n_components) if params["gamma"] > 0 else None
    module = InputEncoder(
        standardize,
        encoder,
        flatten=kind == "mlp",
        channels_last=kind in ENCODERS,
    )
    return module, objective, discriminator


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


def make_net(
    params: dict,
    layout: InputLayout,
    standardize: Standardize,
    seed: int,
    device: torch.device,
) -> DeepInfoMaxNet:
    """The skorch net training the networks of ``params``, without callbacks."""
    module, objective, discriminator = build_networks(params, layout, standardize)
    return DeepInfoMaxNet(
        module=module,
        criterion=objective,
        discriminator=discriminator,
        prior=params["prior"],
        gamma=params["gamma"],
        gradient_penalty=1.0,
        augment=resolve_augmentation(params["augmentation"], layout),
        occlude=resolve_occlusion(params["occlusion"], layout, standardize),
        **engine_arguments(params, seed, device, betas=(0.5, 0.999)),
    )
