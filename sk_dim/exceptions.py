"""Warnings and errors of sk_dim."""

from __future__ import annotations

from pathlib import Path

__all__ = ["CorruptSaveError", "InconsistentVersionWarning", "TrainingDivergedError"]


class CorruptSaveError(ValueError):
    """The files of a saved model are incomplete, altered or not written by ``save``.

    ``load`` raises it, naming the file and what is wrong with it, instead
    of loading a model that differs from the one saved.

    Parameters
    ----------
    path : pathlib.Path
        The file at fault.
    problem : str
        What is wrong with it.

    Examples
    --------
    >>> from pathlib import Path
    >>> from sk_dim.exceptions import CorruptSaveError
    >>> str(CorruptSaveError(Path("model/config.json"), "not valid JSON."))
    'model/config.json: not valid JSON.'
    """

    def __init__(self, path: Path, problem: str):
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}")

    def __reduce__(self):
        return type(self), (self.path, self.problem)


class TrainingDivergedError(FloatingPointError, ValueError):
    """Training produced a non-finite loss or non-finite weights.

    ``fit`` and ``partial_fit`` raise it instead of returning a model of NaN;
    the estimator is left as it was before the call. It is a
    ``FloatingPointError`` and, like scikit-learn's errors for non-finite
    weights, a ``ValueError``.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_dim import DeepInfoMaxTransformer
    >>> from sk_dim.exceptions import TrainingDivergedError
    >>> X = np.random.default_rng(0).normal(size=(64, 8))
    >>> try:
    ...     DeepInfoMaxTransformer(4, lr=1e6, batch_size=32, random_state=0).fit(X)
    ... except TrainingDivergedError as error:
    ...     print(type(error).__name__)
    TrainingDivergedError
    """


class InconsistentVersionWarning(UserWarning):
    """A model saved or pickled by another version of sk_dim is being loaded.

    Parameters
    ----------
    estimator_name : str
        Class of the model.
    original_version : str or None
        Version of sk_dim that saved it (None for a pickle that does not say).
    current_version : str
        Version of sk_dim that loads it.

    Examples
    --------
    >>> import warnings
    >>> from sk_dim.exceptions import InconsistentVersionWarning
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warnings.warn(InconsistentVersionWarning("MyModel", "0.0.1", "0.1.0"))
    >>> caught[0].message.original_version
    '0.0.1'

    ``warnings.simplefilter("error", InconsistentVersionWarning)`` turns it
    into an error, to refuse models saved by other versions.
    """

    def __init__(
        self, estimator_name: str, original_version: str | None, current_version: str
    ):
        self.estimator_name = estimator_name
        self.original_version = original_version
        self.current_version = current_version

    def __str__(self) -> str:
        return (
            f"{self.estimator_name} was saved with sk_dim "
            f"{self.original_version or 'of an unknown version'} and is loaded "
            f"with sk_dim {self.current_version}; it may fail to run or give other "
            f"results. Refit it, or load it with sk_dim {self.original_version}."
        )
