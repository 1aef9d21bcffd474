"""The entry of the input code: validated data as the model's tensors."""

from __future__ import annotations

from functools import partial

import numpy as np
import torch

from .checks import SampleCheck
from .layout import InputLayout, as_tensor
from .streaming import LoaderData, StreamedData


def _checked_tensor(
    chunk: np.ndarray, check: SampleCheck, layout: InputLayout
) -> torch.Tensor:
    return as_tensor(check(chunk), layout)


def model_input(
    X: np.ndarray | StreamedData | LoaderData, layout: InputLayout, check: SampleCheck
) -> torch.Tensor | StreamedData | LoaderData:
    """X in the model's layout: an array at once, out-of-core data chunk by chunk.

    Each chunk of out-of-core data is checked by ``check`` as it is read;
    an array is taken as already validated.
    """
    if isinstance(X, np.ndarray):
        return as_tensor(X, layout)
    return X.with_converter(partial(_checked_tensor, check=check, layout=layout))
