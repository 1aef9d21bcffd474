"""Deep InfoMax's skorch net, and the function that builds it from the parameters."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import ClassVar

import torch
from torch import nn

from .._input.layout import InputLayout
from .._training.configuration import engine_arguments
from .._training.distributed import average_gradients
from .._training.engine import TrainingNet
from .._training.runtime import free_memory
from ..nn.augmentations import RandomOcclusion, get_augmentation
from ..nn.encoders import ENCODERS, ModuleEncoder, build_encoder
from ..nn.mi_estimators import DV, NWJ
from ..nn.models.deep_infomax import DeepInfoMax
from ..nn.scaling import InputEncoder, Standardize


class DeepInfoMaxNet(TrainingNet):
    """skorch net training a :class:`~sk_dim.nn.models.DeepInfoMax` module.

    ``module_`` is the model's encoder (with its input scaling),
    ``criterion_`` its :class:`~sk_dim.nn.objectives.DeepInfoMaxObjective`
    holding the critics, and ``discriminator_`` its prior discriminator,
    trained on its own optimizer (``optimizer_discriminator_``) when
    ``gamma > 0``; ``model_`` is the whole model.

    Parameters
    ----------
    model : DeepInfoMax
        The initialised model.
    seed : int
        Seed of the batch permutations.
    **kwargs
        Passed to :class:`~sk_dim._training.engine.TrainingNet` and
        :class:`skorch.NeuralNet`.
    """

    shared_modules: ClassVar[dict[str, str]] = {
        **TrainingNet.shared_modules,
        "discriminator": "discriminator_",
        "model": "model_",
    }
    grouping_modules: ClassVar[tuple[str, ...]] = ("model_",)

    def __init__(self, model: DeepInfoMax, seed: int, **kwargs):
        self.model = model
        self.discriminator = model.discriminator
        super().__init__(model.encoder, model.objective, seed, **kwargs)

    @property
    def augment(self) -> Callable[[torch.Tensor], torch.Tensor] | None:
        """The augmentation of the training batches, None for one view."""
        return self.model.augmentation

    @property
    def occlude(self) -> Callable[[torch.Tensor], torch.Tensor] | None:
        """The occlusion of the inputs of the global vectors, or None."""
        return self.model.occlusion

    def initialize_module(self):
        super().initialize_module()
        self.model_ = self.model
        if self.discriminator is not None:
            self.discriminator_ = self.discriminator
        return self

    def initialize_optimizer(self, *args, **kwargs):
        named = [
            *self.module_.named_parameters(),
            *self.criterion_.named_parameters(),
        ]
        args, kwargs = self.get_params_for_optimizer("optimizer", named)
        self.optimizer_ = self.optimizer(*args, **kwargs)
        if self.discriminator is not None:
            self.optimizer_discriminator_ = self.optimizer(
                self.discriminator_.parameters(), **kwargs
            )
        return self

    def check_memory(self, batch_size: int) -> None:
        """Refuse a batch whose pairs' activations exceed the device's free memory.

        Critics that score every pair (``"concat"``, ``"concat_and_convolve"``)
        keep (B, B, L, H) activations for the backward pass, twice with two
        views; the error gives the largest batch that fits.
        """
        calls = 1 if self.model.augmentation is None else 2
        needed = calls * self.criterion.pair_memory(batch_size)  # before initialize
        device = torch.device(self.device)
        free = free_memory(device) if needed else None
        if free is None or needed <= free:
            return
        largest = int(batch_size * math.sqrt(free / needed))
        raise ValueError(
            f"The critic scores all B x B x L pairs of a batch and keeps their "
            f"hidden activations for the backward pass: about {needed / 2**30:.1f} "
            f"GiB at batch_size={batch_size}, more than the {free / 2**30:.1f} "
            f"GiB free on {device}. Use batch_size <= {largest}, a smaller "
            "critic_width, or critic='encode_and_dot', whose memory grows "
            "linearly with the batch."
        )

    def likely_divergence_causes(self) -> list[str]:
        causes = super().likely_divergence_causes()
        objective = self.criterion_
        estimator = objective.global_estimator or objective.local_estimator
        if isinstance(estimator, DV | NWJ):
            causes.append(
                f"the {type(estimator).__name__} bound, which exponentiates the "
                "critic's scores (mi_estimator='infonce' or 'jsd' cannot overflow)"
            )
        return causes

    def batch_score(self, batch: torch.Tensor) -> torch.Tensor:
        """``alpha * global + beta * local`` bound of one unaugmented view."""
        return self.model_.score(batch)

    def forward_loss(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Loss of the encoder and critics on one batch, and its global vectors."""
        return self.model_.loss(inputs)

    def after_step(self, codes: torch.Tensor) -> None:
        """One step of the prior discriminator on the batch's global vectors."""
        if self.model_.discriminator is None:
            return
        self.optimizer_discriminator_.zero_grad(set_to_none=True)
        self.model_.discriminator_loss(codes).backward()
        average_gradients(self.discriminator_)
        self.optimizer_discriminator_.step()


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


def build_net(
    params: dict,
    layout: InputLayout,
    standardize: Standardize,
    seed: int,
    device: torch.device,
) -> DeepInfoMaxNet:
    """The skorch net of a DeepInfoMaxTransformer's ``params``, without callbacks.

    Parameters
    ----------
    params : dict
        The transformer's parameters, "auto" values resolved.
    layout : InputLayout
        Layout of the training data.
    standardize : Standardize
        Input scaling.
    seed : int
        Seed of the batch permutations.
    device : torch.device
        Where the net trains.
    """
    model = DeepInfoMax(
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
    return DeepInfoMaxNet(
        model, **engine_arguments(params, seed, device, betas=(0.5, 0.999))
    )
