"""Any user module as an encoder of sk_dim."""

from __future__ import annotations

import torch
from torch import nn

from .._checks import describe, dry_run

__all__ = ["ModuleEncoder"]


def _describe_output(output) -> str:
    if isinstance(output, tuple | list):
        return f"a {type(output).__name__} of " + ", ".join(map(describe, output))
    return describe(output)


class ModuleEncoder(nn.Module):
    """Adapt a user module to the encoder interface of sk_dim.

    The module receives the standardised inputs, images of shape
    (B, C, H, W) or rows of shape (B, F), and returns either a pair
    ``(local_map, global_vector)`` of shapes (B, C', H', W') and
    (B, n_components), or only the global vectors. Without a local map the
    input itself plays its part: the global term then scores Y against the
    whole input, and terms that need local features are refused. A module
    with its own ``features`` method and ``feature_sizes`` attribute (see
    :class:`ConvEncoder`) exposes its taps to ``transform`` as well.

    Parameters
    ----------
    module : torch.nn.Module
        The user's encoder.
    sample_shape : tuple of int
        Shape of one input sample, ``(C, H, W)`` or ``(F,)``.
    n_components : int
        Expected size of the global vector.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from sk_dim.nn.encoders import ModuleEncoder
    >>> encoder = ModuleEncoder(nn.Linear(10, 4), (10,), n_components=4)
    >>> encoder.has_local_map, encoder.feature_sizes
    (False, {'global': 4})
    """

    def __init__(
        self, module: nn.Module, sample_shape: tuple[int, ...], n_components: int
    ):
        super().__init__()
        self.module = module
        try:
            output = dry_run(module, "forward", sample_shape)
        except Exception as error:
            raise ValueError(
                f"The encoder module {type(module).__name__} failed on a batch of "
                f"shape {(2, *sample_shape)}: {type(error).__name__}: {error}"
            ) from error
        self.has_local_map = isinstance(output, tuple | list)
        if self.has_local_map:
            if len(output) != 2:
                raise ValueError(self._shape_error(output))
            local_map, global_vector = output
        else:
            local_map = self._input_map(torch.zeros(2, *sample_shape))
            global_vector = output
        for tensor, ndim in ((local_map, 4), (global_vector, 2)):
            if not isinstance(tensor, torch.Tensor) or tensor.ndim != ndim:
                raise ValueError(self._shape_error(output))
        if global_vector.shape[1] != n_components:
            raise ValueError(
                f"The encoder module returns global vectors of "
                f"{global_vector.shape[1]} values, but n_components="
                f"{n_components}; set n_components={global_vector.shape[1]}."
            )
        self.local_channels, *local_size = local_map.shape[1:]
        self.local_size = tuple(local_size)
        self.has_own_taps = hasattr(module, "features") and hasattr(
            module, "feature_sizes"
        )
        if self.has_own_taps:
            self.feature_sizes = dict(module.feature_sizes)
        elif self.has_local_map:
            self.feature_sizes = {"local": local_map[0].numel(), "global": n_components}
        else:
            self.feature_sizes = {"global": n_components}

    @staticmethod
    def _input_map(inputs: torch.Tensor) -> torch.Tensor:
        """The input as a map: images as they are, rows as (B, F, 1, 1)."""
        return inputs if inputs.ndim == 4 else inputs.flatten(1)[:, :, None, None]

    def _shape_error(self, output) -> str:
        return (
            f"The encoder module {type(self.module).__name__} must return "
            "(local_map, global_vector) of shapes (B, C, H, W) and "
            "(B, n_components), or global vectors of shape (B, n_components); "
            f"got {_describe_output(output)}."
        )

    def forward(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(local_map, global_vector)``; the input is the map without one."""
        output = self.module(inputs)
        if self.has_local_map:
            return tuple(output)
        return self._input_map(inputs), output

    def features(self, inputs: torch.Tensor) -> dict[str, torch.Tensor]:
        """The module's own taps, or ``"local"`` (with a map) and ``"global"``."""
        if self.has_own_taps:
            return self.module.features(inputs)
        local_map, global_vector = self(inputs)
        taps = {"global": global_vector}
        if self.has_local_map:
            taps["local"] = local_map
        return taps
