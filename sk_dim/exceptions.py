"""Warnings of sk_dim."""

from __future__ import annotations

__all__ = ["InconsistentVersionWarning"]


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
