"""From a DeepInfoMaxTransformer's parameters to networks, net and callbacks."""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np
import torch
from torch.optim.lr_scheduler import CosineAnnealingLR

from ._callbacks import EarlyStopping, HeldOutBound, ProgressBar, StepScheduler
from ._data import InputEncoder, InputLayout, Standardize
from ._engine import DeepInfoMaxNet, adam_kernel
from .augmentations import get_augmentation
from .encoders import ConvEncoder, MLPEncoder
from .estimators import get_estimator
from .objectives import DeepInfoMaxObjective
from .prior import PriorDiscriminator


def _encoder_name(params: dict, layout: InputLayout) -> str:
    name = params["encoder"]
    if name == "auto":
        return "mlp" if layout.image_shape is None else "conv"
    if name == "conv" and layout.image_shape is None:
        raise ValueError(
            "encoder='conv' needs images: pass 3-D or 4-D X, or 2-D X with "
            "image_shape=(C, H, W)."
        )
    return name


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
    encoder_name = _encoder_name(params, layout)
    if encoder_name == "conv":
        channels, height, width = layout.image_shape
        encoder = ConvEncoder(channels, (height, width), n_components)
    else:
        n_features = int(np.prod(layout.image_shape or layout.sample_shape))
        encoder = MLPEncoder(n_features, n_components)
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
    )
    discriminator = PriorDiscriminator(n_components) if params["gamma"] > 0 else None
    module = InputEncoder(
        standardize,
        encoder,
        flatten=encoder_name == "mlp",
        channels_last=encoder_name == "conv",
    )
    return module, objective, discriminator


def resolve_augmentation(
    augmentation, layout: InputLayout
) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """The augmentation function of the ``augmentation`` parameter for ``layout``."""
    if augmentation is None or callable(augmentation):
        return augmentation
    if layout.image_shape is None:
        if augmentation == "auto":
            return None
        raise ValueError(
            f"augmentation={augmentation!r} needs images, but X holds "
            f"feature rows; pass image_shape=(C, H, W) if the rows are "
            f"images, or augmentation=None."
        )
    name = "crop" if augmentation == "auto" else augmentation
    return get_augmentation(name, layout.image_shape[1:])


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
        seed=seed,
        compile_step=params["compile"],
        optimizer=torch.optim.Adam,
        optimizer__betas=(0.5, 0.999),
        **{f"optimizer__{name}": value for name, value in adam_kernel(device).items()},
        lr=params["lr"],
        batch_size=params["batch_size"],
        max_epochs=params["max_epochs"],
        callbacks=[],
        device=device,
        verbose=0,
    )


def training_callbacks(
    params: dict,
    n_steps: int,
    valid_data: torch.Tensor | None,
    incremental: bool,
) -> list:
    """Callbacks of one call of ``fit`` (or of ``partial_fit``, ``incremental``).

    The cosine schedule and the stopping rule belong to ``fit``: one call of
    ``partial_fit`` runs one epoch at the constant ``lr``. The user's
    callbacks are deep copies, so that the ones passed are never changed.
    """
    callbacks = []
    if not incremental and params["lr_schedule"] == "cosine":
        callbacks.append(
            ("lr_schedule", StepScheduler(CosineAnnealingLR, T_max=n_steps))
        )
    if valid_data is not None:
        callbacks.append(
            ("valid_bound", HeldOutBound(valid_data, params["batch_size"]))
        )
    if params["verbose"]:
        callbacks.append(("progress", ProgressBar(n_steps)))
    callbacks += copy.deepcopy(list(params["callbacks"] or []))
    if not incremental:
        # last, so that every other callback sees the end of the last epoch
        stopping = EarlyStopping(
            monitor="train_loss" if valid_data is None else "valid_bound",
            lower_is_better=valid_data is None,
            tol=params["tol"],
            n_iter_no_change=params["n_iter_no_change"],
            restore_best=valid_data is not None,
        )
        callbacks.append(("stopping", stopping))
    return callbacks
