"""The input of an estimator: validated arrays or streams, batches, held-out rows."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import validate_data

from ..nn.gather import rank_and_world
from .checks import SampleCheck
from .prepare import model_input
from .streaming import StreamedData, is_out_of_core, streamed


class EstimatorInput:
    """How an estimator of sk_dim validates and prepares what it is given.

    A mixin of :class:`~sk_dim._base.NetEstimator`: the estimator has
    ``chunk_size``, ``random_state``, ``batch_size``, ``early_stopping``
    and ``validation_fraction``, and after fit ``input_shape_`` and
    ``_layout``. A subclass may refine :meth:`_training_data`,
    :meth:`_choose_from_input` and :meth:`_sample_check`.
    """

    def _training_data(self, X, y, reset: bool):
        """The validated training data of ``fit(X, y)``; y is ignored here."""
        return self._validate_input(X, reset)

    def _validate_input(self, X, reset: bool):
        """X validated: an array, or out-of-core data whose chunks are checked as read.

        Of out-of-core X, a sample is checked now: on ``reset``, the random
        rows that the scaling is learnt from (see
        :meth:`~sk_dim._input.streaming.StreamedData.sample`), else the first row.
        """
        if not is_out_of_core(X):
            return self._check_array(X, reset)
        data = streamed(X, self.chunk_size)
        if reset:
            self._check_array(data.sample(check_random_state(self.random_state)), reset)
        elif isinstance(data, StreamedData):
            self._check_array(data.read(np.arange(min(len(data), 1))), reset)
        else:
            self._check_array(data.sample(), reset)
        return data

    def _check_array(self, X, reset: bool) -> np.ndarray:
        """An in-memory array, or the sample of out-of-core data, validated."""
        # rows for a model of images, images for a model of rows, or images
        # of another size (1-D X gets scikit-learn's advice to reshape it, and
        # rows of another width its message about the number of features)
        shape = tuple(getattr(X, "shape", ()))
        if not reset and len(shape) >= 2:
            fitted = tuple(self.input_shape_)
            other_layout = len(shape) != len(fitted) + 1
            if other_layout or (len(shape) >= 3 and shape[1:] != fitted):
                raise self._sample_check(fitted).shape_error(shape[1:])
        X = validate_data(
            self,
            X,
            reset=reset,
            allow_nd=True,
            dtype="numeric",
            ensure_min_samples=2 if reset else 1,
        )
        if reset:
            self._choose_from_input(X)
        check = self._sample_check(X.shape[1:] if reset else self.input_shape_)
        if tuple(X.shape[1:]) != check.sample_shape:
            raise check.shape_error(tuple(X.shape[1:]))
        check.check_values(X)
        return X

    def _choose_from_input(self, X: np.ndarray) -> None:
        """Set what the first validated input decides (nothing here)."""

    def _sample_check(self, sample_shape: tuple[int, ...]) -> SampleCheck:
        """What each sample must be: of ``sample_shape``, in float32's range."""
        return SampleCheck(type(self).__name__, tuple(sample_shape))

    def _tensor_data(self, X):
        """X as the model's tensors; out-of-core X checked chunk by chunk."""
        return model_input(X, self._layout, self._sample_check(self.input_shape_))

    def _input_data(self, X):
        """X validated for inference, as :meth:`_tensor_data` gives it."""
        return self._tensor_data(self._validate_input(X, reset=False))

    def _clip_batch_size(self, n_samples: int) -> int:
        """``batch_size``, clipped to ``n_samples`` with a warning (as MLPClassifier).

        Under torchrun, the batch stays a multiple of the number of processes.
        """
        _, world = rank_and_world()
        if self.batch_size % world:
            raise ValueError(
                f"batch_size={self.batch_size} must be a multiple of the "
                f"{world} processes of torchrun, each of which encodes an equal "
                "share of every batch."
            )
        if self.batch_size <= n_samples:
            return self.batch_size
        clipped = n_samples - n_samples % world
        held_out = " after holding out validation data" * self.early_stopping
        if clipped < 2:
            raise ValueError(
                f"Training needs batches of at least 2 samples, but there are "
                f"{n_samples} samples{held_out}; pass more samples."
            )
        warnings.warn(
            f"batch_size={self.batch_size} is larger than the {n_samples} "
            f"training samples{held_out}; it is clipped to {clipped}.",
            UserWarning,
            stacklevel=4,
        )
        return clipped

    def _hold_out(self, X, rng) -> tuple:
        """Split off the validation data of ``early_stopping``.

        Both parts keep the rows in their order in X, so that streamed data
        reads them in increasing order.
        """
        if not self.early_stopping:
            return X, None
        n_valid = int(np.ceil(self.validation_fraction * len(X)))
        if n_valid < 2 or n_valid >= len(X):
            raise ValueError(
                f"early_stopping needs at least 2 validation samples and 1 "
                f"training sample, but validation_fraction="
                f"{self.validation_fraction} of {len(X)} samples holds out "
                f"{n_valid}; pass more samples or change validation_fraction."
            )
        order = rng.permutation(len(X))
        train, valid = np.sort(order[n_valid:]), np.sort(order[:n_valid])
        if isinstance(X, np.ndarray):
            return X[train], X[valid]
        return X.subset(train), X.subset(valid)
