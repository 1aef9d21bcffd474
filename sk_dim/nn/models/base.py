"""The protocol of the models: how a batch becomes a loss, codes and a score.

Every model of :mod:`sk_dim.nn.models` is an :class:`InfoMaxModel`. Its
:meth:`~InfoMaxModel.loss` maps a batch to a :class:`ModelLoss` (the scalar
to minimise, the batch's codes and named terms for logging);
:meth:`~InfoMaxModel.score` gives the held-out score of a batch. A model
that trains a second network against the first (Deep InfoMax's prior
discriminator) names it in :attr:`~InfoMaxModel.adversary`, steps it with
:meth:`~InfoMaxModel.adversary_loss` on the detached codes, and leaves it out
of :meth:`~InfoMaxModel.main_parameters`. A training loop, sk_dim's engine
or one's own, needs nothing else of a model.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import torch
from torch import nn

__all__ = ["InfoMaxModel", "ModelLoss"]


class ModelLoss(NamedTuple):
    """The loss of a model on one batch.

    Parameters
    ----------
    total : torch.Tensor
        Scalar to minimise; gradients flow through it.
    codes : torch.Tensor of shape (B, D)
        The batch's codes (under torchrun, those of the global batch).
    terms : dict of str to torch.Tensor
        Detached scalars by name, the parts of the loss worth logging.

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.models import ModelLoss
    >>> terms = {"bound": torch.tensor(-1.5)}
    >>> loss = ModelLoss(torch.tensor(1.5), torch.zeros(4, 2), terms)
    >>> total, codes, terms = loss
    >>> float(total), codes.shape, sorted(terms)
    (1.5, torch.Size([4, 2]), ['bound'])
    """

    total: torch.Tensor
    codes: torch.Tensor
    terms: dict[str, torch.Tensor]


class InfoMaxModel(nn.Module):
    """Base of the models: the methods that a training loop calls.

    A subclass defines :meth:`loss` and :meth:`score`; one with an adversary
    also overrides :attr:`adversary` and :meth:`adversary_loss`.

    Examples
    --------
    The loop of any model, here the two views of a table's columns:

    >>> import torch
    >>> from sk_dim.nn.encoders import FeedForward
    >>> from sk_dim.nn.models import TwoViewModel
    >>> from sk_dim.nn.scaling import Standardize
    >>> from sk_dim.nn.views import SplitColumns
    >>> scaling = Standardize(torch.tensor(0.0), torch.tensor(1.0))
    >>> model = TwoViewModel(
    ...     SplitColumns(),
    ...     (scaling, scaling),
    ...     (FeedForward(3, 2, (16,)), FeedForward(3, 2, (16,))),
    ...     n_components=2,
    ... )
    >>> optimizer = torch.optim.Adam(model.main_parameters())
    >>> for batch in torch.randn(3, 32, 6):
    ...     loss = model.loss(batch)
    ...     optimizer.zero_grad()
    ...     loss.total.backward()
    ...     optimizer.step()
    >>> sorted(loss.terms), loss.codes.shape
    (['bound'], torch.Size([32, 2]))
    """

    def __init__(self) -> None:
        super().__init__()

    def loss(self, inputs: torch.Tensor) -> ModelLoss:
        """The loss, codes and logged terms of a batch of raw inputs (B, ...)."""
        raise NotImplementedError

    def score(self, inputs: torch.Tensor) -> torch.Tensor:
        """Held-out score of a batch, a scalar tensor (higher is better)."""
        raise NotImplementedError

    @property
    def adversary(self) -> nn.Module | None:
        """The network trained against the model on its own optimiser, or None."""
        return None

    def adversary_loss(self, codes: torch.Tensor) -> torch.Tensor:
        """Loss of :attr:`adversary` on the detached (B, D) codes of a batch."""
        raise ValueError(f"{type(self).__name__} has no adversary.")

    def main_parameters(self) -> Iterator[nn.Parameter]:
        """The parameters that minimise :meth:`loss`: all but the adversary's."""
        for _, parameter in self.named_main_parameters():
            yield parameter

    def named_main_parameters(self) -> Iterator[tuple[str, nn.Parameter]]:
        """:meth:`main_parameters` with their names."""
        adversary = self.adversary
        excluded = set() if adversary is None else set(map(id, adversary.parameters()))
        for name, parameter in self.named_parameters():
            if id(parameter) not in excluded:
                yield name, parameter

    def batch_memory(self, batch_size: int) -> int:
        """Bytes of activations that grow faster than the batch (0 if none).

        The engine refuses, before the first step, a batch whose activations
        exceed the device's free memory.
        """
        return 0

    def memory_advice(self) -> str:
        """What to change when :meth:`batch_memory` is too large."""
        return ""

    def divergence_causes(self) -> list[str]:
        """What commonly makes this model's training diverge, for messages."""
        return []
