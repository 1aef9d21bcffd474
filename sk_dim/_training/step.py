"""The loss of a model on one batch as the engine computes it.

:class:`ModelStep` runs a model's ``loss`` under the training precision's
autocast, compiled with ``torch.compile`` when asked (and while compilation
works), and through DistributedDataParallel under torchrun, so that the
gradients of every process are averaged after the backward pass.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable

import torch
from torch import nn

from ..nn.models.base import InfoMaxModel, ModelLoss
from .devices import PRECISIONS
from .distributed import data_parallel


class _LossModule(nn.Module):
    """A model whose forward is ``loss(model, inputs)``, for DDP to wrap."""

    def __init__(
        self,
        model: InfoMaxModel,
        loss: Callable[[InfoMaxModel, torch.Tensor], ModelLoss],
    ):
        super().__init__()
        self.model = model
        self.loss = loss

    def forward(self, inputs: torch.Tensor) -> ModelLoss:
        return self.loss(self.model, inputs)


def autocast(precision: str, device: torch.device) -> contextlib.AbstractContextManager:
    """Autocast of a training ``precision`` on ``device`` (a no-op for "32")."""
    dtype = PRECISIONS[precision]
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=dtype)


class ModelStep:
    """Computes ``model.loss(inputs)`` under autocast, compiled and in DDP as set.

    The compiled function and the DDP wrapper are built at the first call
    for a model and kept for the next; they are not pickled (neither a
    compiled function nor a process group can be) and are rebuilt at the
    next call after unpickling.

    Parameters
    ----------
    compile : bool
        Run the loss through ``torch.compile``. If compilation fails (no
        C++ compiler, an unsupported operation), a warning says why and the
        steps go on without it.
    """

    def __init__(self, compile: bool):
        self.compile = compile
        self._model: InfoMaxModel | None = None
        self._compiled = None
        self._parallel: nn.Module | None = None

    def __getstate__(self) -> dict:
        return {"compile": self.compile}

    def __setstate__(self, state: dict) -> None:
        self.__init__(**state)

    def __call__(
        self, model: InfoMaxModel, inputs: torch.Tensor, precision: str
    ) -> ModelLoss:
        if model is not self._model:
            self._model = model
            self._compiled = torch.compile(model.loss) if self.compile else None
            self._parallel = data_parallel(_LossModule(model, self._loss))
        with autocast(precision, inputs.device):
            if self._parallel is not None:
                return self._parallel(inputs)
            return self._loss(model, inputs)

    def _loss(self, model: InfoMaxModel, inputs: torch.Tensor) -> ModelLoss:
        if self._compiled is None:
            return model.loss(inputs)
        try:
            return self._compiled(inputs)
        except Exception as error:  # the eager loss re-raises errors of the model
            self._compiled = None
            reason = str(error).strip().splitlines()[0] if str(error) else ""
            warnings.warn(
                f"torch.compile failed ({type(error).__name__}: {reason}); "
                "training goes on without compilation.",
                UserWarning,
                stacklevel=3,
            )
            return model.loss(inputs)
