"""Deep InfoMax as a plain PyTorch module, for a training loop of one's own.

:class:`DeepInfoMax` holds an encoder, the critics and estimator of the
global and local terms, and the prior discriminator, its adversary;
``loss`` and ``adversary_loss`` give the two losses of a batch. The estimator
:class:`~sk_dim.DeepInfoMaxTransformer` trains this module; the same module
trains in a plain loop, in Lightning or with accelerate.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .._checks import describe
from ..gather import gather_rows
from ..mi_estimators import divergence_causes, get_estimator, running_means_frozen
from ..objectives.deep_infomax import DeepInfoMaxObjective
from ..prior import (
    PriorDiscriminator,
    discriminator_loss,
    encoder_prior_loss,
    sample_prior,
    to_prior_space,
)
from .base import InfoMaxModel, ModelLoss

__all__ = ["DeepInfoMax"]

Transform = Callable[[torch.Tensor], torch.Tensor]


def _encoder_name(encoder: nn.Module) -> str:
    """The name of the user's module inside sk_dim's adapters, for messages."""
    while hasattr(encoder, "encoder") or hasattr(encoder, "module"):
        encoder = getattr(encoder, "encoder", None) or encoder.module
    return type(encoder).__name__


class DeepInfoMax(InfoMaxModel):
    """Deep InfoMax (Hjelm et al. 2019) around an encoder.

    The encoder maps a batch to a local feature map and a global vector Y.
    The module scores Y against the feature map as a whole (global term,
    weight ``alpha``) and against each of its locations (local term, weight
    ``beta``) with critics, bounds the mutual information with an
    estimator, and matches Y to a prior through a discriminator (weight
    ``gamma``). ``loss`` is the loss of the encoder and critics on a batch;
    ``adversary_loss`` that of the discriminator, trained by an optimiser of
    its own (see :class:`~sk_dim.nn.models.base.InfoMaxModel`).

    Parameters
    ----------
    encoder : torch.nn.Module
        Maps a batch to ``(local_map, global_vector)`` of shapes
        (B, C, H, W) and (B, D), and has the attributes ``local_channels``
        (C), ``local_size`` ((H, W)) and ``feature_sizes`` (whose
        ``"global"`` entry is D), as the encoders of :mod:`sk_dim.nn.encoders`
        have; :class:`~sk_dim.nn.encoders.ModuleEncoder` adapts any module.
    mi_estimator : str, class or callable, default="jsd"
        See :func:`~sk_dim.nn.mi_estimators.get_estimator`.
    critic : str, class or torch.nn.Module, default="encode_and_dot"
        See :func:`~sk_dim.nn.critics.make_critic`.
    alpha : float, default=0.0
        Weight of the global term.
    beta : float, default=1.0
        Weight of the local term.
    gamma : float, default=0.1
        Weight of prior matching; 0 builds no discriminator.
    prior : {"uniform", "gaussian"}, default="uniform"
        See :func:`~sk_dim.nn.prior.to_prior_space`.
    critic_width : int, default=512
        Width of the critics' hidden layers.
    coordinate_weight : float, default=0.0
        Weight of the prediction of each local feature's position.
    augmentation : callable or None, default=None
        Maps a float batch to an augmented batch of the same shape. With it,
        ``loss`` encodes two views of every sample and scores the global
        vector of each view against the local features of the other;
        without it, one view is scored against itself.
    occlusion : callable or None, default=None
        Maps a batch of images to occluded images (for example
        :class:`~sk_dim.nn.augmentations.RandomOcclusion`). With it, the global
        vectors come from occluded inputs and the local maps from the full
        ones.
    gradient_penalty : float, default=1.0
        Weight of the discriminator's gradient penalty.

    Attributes
    ----------
    objective : DeepInfoMaxObjective
        The critics and estimator of the global and local terms.
    discriminator : PriorDiscriminator or None
        The prior discriminator, None when ``gamma`` is 0.

    Examples
    --------
    A training loop of one's own:

    >>> import torch
    >>> from sk_dim.nn.encoders import MLPEncoder
    >>> from sk_dim.nn.models import DeepInfoMax
    >>> model = DeepInfoMax(MLPEncoder(20, 8, hidden_layer_sizes=(32,)))
    >>> encoder_step = torch.optim.Adam(model.main_parameters())
    >>> prior_step = torch.optim.Adam(model.adversary.parameters())
    >>> for batch in torch.randn(5, 64, 20):
    ...     loss = model.loss(batch)
    ...     encoder_step.zero_grad()
    ...     loss.total.backward()
    ...     encoder_step.step()
    ...     prior_loss = model.adversary_loss(loss.codes.detach())
    ...     prior_step.zero_grad()
    ...     prior_loss.backward()
    ...     prior_step.step()
    >>> sorted(loss.terms)
    ['local', 'prior']
    >>> model(torch.randn(3, 20))[1].shape
    torch.Size([3, 8])
    """

    def __init__(
        self,
        encoder: nn.Module,
        mi_estimator="jsd",
        critic="encode_and_dot",
        *,
        alpha: float = 0.0,
        beta: float = 1.0,
        gamma: float = 0.1,
        prior: str = "uniform",
        critic_width: int = 512,
        coordinate_weight: float = 0.0,
        augmentation: Transform | None = None,
        occlusion: Transform | None = None,
        gradient_penalty: float = 1.0,
    ):
        super().__init__()
        has_local_map = getattr(encoder, "has_local_map", True)  # False: only Y
        if beta > 0 and not has_local_map:
            raise ValueError(
                f"The encoder module {_encoder_name(encoder)} returns only global "
                "vectors, but the local term (beta > 0) needs a local feature "
                "map; set beta=0 to train the global term against the input, or "
                "return (local_map, global_vector) from the module."
            )
        if coordinate_weight > 0 and (
            not has_local_map or tuple(encoder.local_size) == (1, 1)
        ):
            raise ValueError(
                "coordinate_weight > 0 predicts the position of each local "
                f"feature, but the {_encoder_name(encoder)} has no local feature "
                "map of several locations; use an image encoder or set "
                "coordinate_weight=0."
            )
        n_components = encoder.feature_sizes["global"]
        self.encoder = encoder
        self.objective = DeepInfoMaxObjective(
            get_estimator(mi_estimator),
            critic,
            local_channels=encoder.local_channels,
            local_size=tuple(encoder.local_size),
            n_components=n_components,
            alpha=alpha,
            beta=beta,
            embedding_dim=n_components,
            critic_width=critic_width,
            coordinate_weight=coordinate_weight,
        )
        self.discriminator = PriorDiscriminator(n_components) if gamma > 0 else None
        self.gamma = gamma
        self.prior = prior
        self.augmentation = augmentation
        self.occlusion = occlusion
        self.gradient_penalty = gradient_penalty

    def forward(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The encoder's ``(local_map, global_vector)`` of a batch."""
        return self.encoder(inputs)

    def loss(self, inputs: torch.Tensor) -> ModelLoss:
        """Loss of the encoder and critics on a batch, and its global vectors.

        Parameters
        ----------
        inputs : torch.Tensor of shape (B, ...)
            A batch for the encoder.

        Returns
        -------
        ModelLoss
            ``total``: the negative weighted bounds, plus ``gamma`` times the
            encoder's prior-matching loss; ``codes``: the global vectors (B, D),
            or (2B, D) with two views (under torchrun, those of the global
            batch); ``terms``: the bounds ("global", "local"), the
            coordinate loss ("coordinates") and the prior loss ("prior") of
            the active terms.
        """
        if self.augmentation is None:
            local_map, global_vector = map(gather_rows, self._encode(inputs))
            total, terms = self.objective(local_map, global_vector)
        else:
            global_vector, total, terms = self._two_view_loss(inputs)
        if self.discriminator is not None:
            encoded = to_prior_space(global_vector.float(), self.prior)
            prior_loss = encoder_prior_loss(self.discriminator, encoded)
            total = total + self.gamma * prior_loss
            terms["prior"] = prior_loss.detach()
        return ModelLoss(total, global_vector, terms)

    @property
    def adversary(self) -> PriorDiscriminator | None:
        """The prior discriminator, None when ``gamma`` is 0."""
        return self.discriminator

    def adversary_loss(self, codes: torch.Tensor) -> torch.Tensor:
        """Loss of the prior discriminator on detached (B, D) global vectors.

        Samples of the prior are the real examples, the encoded vectors the
        fake ones; a gradient penalty keeps the discriminator smooth.
        """
        if self.discriminator is None:
            raise ValueError("gamma=0: the model has no prior discriminator.")
        encoded = to_prior_space(codes.float(), self.prior)
        return discriminator_loss(
            self.discriminator,
            sample_prior(self.prior, encoded),
            encoded,
            self.gradient_penalty,
        )

    def score(self, inputs: torch.Tensor) -> torch.Tensor:
        """``alpha * global + beta * local`` bound of a batch, in one view."""
        local_map, global_vector = self.encoder(inputs)
        return self.objective.weighted_bound(
            self.objective.bounds(local_map, global_vector)
        )

    def _encode(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Local maps of ``inputs``, and global vectors of them once occluded."""
        if self.occlusion is None:
            return self.encoder(inputs)
        inputs = inputs.float()
        local_map, global_vector = self.encoder(
            torch.cat([inputs, self.occlusion(inputs)])
        )
        return local_map.chunk(2)[0], global_vector.chunk(2)[1]

    def _two_view_loss(
        self, inputs: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """Encode two augmented views; score each view's Y against the other's map.

        Returns the global vectors (2B, D) of both views, the mean loss of
        the two pairings and the mean of their terms.
        """
        inputs = inputs.float()
        views = [self.augmentation(inputs), self.augmentation(inputs)]
        for view in views:
            if not isinstance(view, torch.Tensor) or view.shape != inputs.shape:
                raise ValueError(
                    "augmentation must return a tensor of the shape of its input "
                    f"{tuple(inputs.shape)}, got {describe(view)}."
                )
        local_map, global_vector = self._encode(torch.cat(views))
        # under torchrun, the rows of every process: negatives of the global batch
        local_a, local_b = map(gather_rows, local_map.chunk(2))
        global_a, global_b = map(gather_rows, global_vector.chunk(2))
        loss_ab, terms_ab = self.objective(local_a, global_b)
        with running_means_frozen(self.objective):  # DV's mean moves once a step
            loss_ba, terms_ba = self.objective(local_b, global_a)
        terms = {name: (terms_ab[name] + terms_ba[name]) / 2 for name in terms_ab}
        return torch.cat([global_a, global_b]), (loss_ab + loss_ba) / 2, terms

    def batch_memory(self, batch_size: int) -> int:
        """Bytes that critics scoring every pair keep, twice with two views."""
        calls = 1 if self.augmentation is None else 2
        return calls * self.objective.pair_memory(batch_size)

    def memory_advice(self) -> str:
        return (
            "The critic scores all B x B x L pairs of a batch and keeps their "
            "hidden activations for the backward pass. Use a smaller batch, a "
            "smaller critic_width, or critic='encode_and_dot', whose memory "
            "grows linearly with the batch."
        )

    def divergence_causes(self) -> list[str]:
        objective = self.objective
        return divergence_causes(
            objective.global_estimator or objective.local_estimator
        )
