"""Divergence: losses, codes or weights that left the range a fit recovers from.

A loss or a code that is not finite has diverged; so has one that grew more
than :data:`GROWTH_LIMIT` times its size at the first step of the call
(float32 holds such numbers, but no fit comes back from them: a learning
rate far too high takes the loss to 1e30 while it stays finite).
"""

from __future__ import annotations

import math

import torch
from torch import nn

#: How many times its size at the first step a loss or a code may grow.
GROWTH_LIMIT = 1e6


class DivergenceCheck:
    """Checks the losses and code sizes of the steps of one call of fit.

    The first step checked sets the reference sizes (1 at least, so that a
    loss near 0 at the start gives no false alarm).
    """

    def __init__(self) -> None:
        self.first_loss: float | None = None
        self.first_code_size: float | None = None

    def problem(
        self, losses: list[float], code_sizes: list[float], last_step: int
    ) -> str | None:
        """What diverged in the block of steps ending at ``last_step``, or None.

        Parameters
        ----------
        losses : list of float
            The step losses of the block.
        code_sizes : list of float
            The largest absolute code of each step.
        last_step : int
            The number of the block's last step in its epoch (from 1).
        """
        if self.first_loss is None and losses:
            self.first_loss = max(abs(losses[0]), 1.0)
            self.first_code_size = max(code_sizes[0], 1.0)
        steps = range(last_step - len(losses) + 1, last_step + 1)
        for step, loss, size in zip(steps, losses, code_sizes, strict=True):
            if not math.isfinite(loss):
                return f"the loss became {loss} at step {step}"
            if not math.isfinite(size):
                return f"the codes became non-finite ({size}) at step {step}"
            if abs(loss) > GROWTH_LIMIT * self.first_loss:
                return self._grown("loss", loss, self.first_loss, step)
            if size > GROWTH_LIMIT * self.first_code_size:
                return self._grown("largest code", size, self.first_code_size, step)
        return None

    @staticmethod
    def _grown(what: str, value: float, first: float, step: int) -> str:
        return (
            f"the {what} reached {value:.3g} at step {step}, more than "
            f"{GROWTH_LIMIT:.0e} times its size at the first step ({first:.3g})"
        )


def has_non_finite_weights(model: nn.Module) -> bool:
    """Whether a parameter or a floating-point buffer of ``model`` is not finite."""
    tensors = [
        tensor.detach()
        for tensor in (*model.parameters(), *model.buffers())
        if tensor.is_floating_point()
    ]
    finite = torch.stack([tensor.isfinite().all() for tensor in tensors])
    return not bool(finite.all())
