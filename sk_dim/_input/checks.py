"""Checks of parameters and inputs, and descriptions of values for messages."""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral

import numpy as np
from sklearn.utils import check_array


def check_hidden_layer_sizes(sizes, allow_empty: bool) -> tuple[int, ...]:
    """The ``hidden_layer_sizes`` parameter as a tuple of positive ints, or raise."""
    sizes = tuple(sizes)
    valid = all(
        isinstance(size, Integral) and not isinstance(size, bool) and size > 0
        for size in sizes
    )
    if not valid or not (sizes or allow_empty):
        kind = "sequence" if allow_empty else "non-empty sequence"
        raise ValueError(
            f"hidden_layer_sizes must be a {kind} of positive ints, got {sizes!r}."
        )
    return tuple(int(size) for size in sizes)


def check_float32_range(X: np.ndarray, name: str = "X") -> None:
    """Refuse values that are finite in ``X``'s dtype but overflow float32.

    sk_dim computes in float32, where such values become inf. Arrays of
    float32 or narrower types, and integer arrays, always fit.
    """
    if X.dtype.kind != "f" or X.dtype.itemsize <= 4 or X.size == 0:
        return
    largest = max(abs(float(X.max())), abs(float(X.min())))
    limit = float(np.finfo(np.float32).max)
    if largest > limit:
        raise ValueError(
            f"{name} holds values beyond the float32 range: its largest magnitude "
            f"is {largest:.3g}, above {limit:.3g}, and sk_dim computes in "
            f"float32, where it would become inf. Rescale {name} (for example "
            "with sklearn.preprocessing.StandardScaler) before passing it."
        )


@dataclass(frozen=True)
class SampleCheck:
    """What every later input of a fitted model must be, checked without it.

    Parameters
    ----------
    owner : str
        The estimator's name, for messages.
    sample_shape : tuple of int
        The shape of the samples the model was fitted on.
    unit_interval : str or None, default=None
        When set, values must lie in [0, 1] (uint8 images are scaled to
        it): the parameter that needs them, as in "likelihood='bernoulli'".
    alternative : str, default=""
        The parameter value that takes other values, for the message.
    """

    owner: str
    sample_shape: tuple[int, ...]
    unit_interval: str | None = None
    alternative: str = ""

    def shape_error(self, sample_shape: tuple[int, ...]) -> ValueError:
        """The error for samples of another shape than the fitted ones."""
        return ValueError(
            f"X has samples of shape {sample_shape}, but {self.owner} was "
            f"fitted on samples of shape {self.sample_shape}."
        )

    def check_values(self, X: np.ndarray) -> None:
        """Refuse values beyond float32, or outside [0, 1] when it is needed."""
        check_float32_range(X)
        if self.unit_interval is None or X.dtype == np.uint8 or X.size == 0:
            return
        low, high = float(X.min()), float(X.max())
        if low < 0 or high > 1:
            raise ValueError(
                f"{self.unit_interval} needs X in [0, 1] (or uint8 images), got "
                f"values from {low:g} to {high:g}; scale X or use "
                f"{self.alternative}."
            )

    def __call__(self, X) -> np.ndarray:
        """A chunk of out-of-core data, checked as scikit-learn checks arrays."""
        X = check_array(
            X, allow_nd=True, dtype="numeric", ensure_min_samples=1, input_name="X"
        )
        if tuple(X.shape[1:]) != self.sample_shape:
            raise self.shape_error(tuple(X.shape[1:]))
        self.check_values(X)
        return X
