"""What an estimator gains from persistence: save, load and versioned pickles."""

from __future__ import annotations

import warnings
from pathlib import Path

from sklearn.utils.validation import check_is_fitted

from .._training.devices import resolve_device
from .._version import __version__
from ..exceptions import InconsistentVersionWarning
from . import load_model, save_model


class SavedEstimator:
    """A mixin of :class:`~sk_dim._base.NetEstimator`: saving and pickling.

    ``save`` refuses a model whose parameters changed since it was fitted
    (``_check_fitted_configuration``); a pickle records the sk_dim version
    and warns when another version unpickles it.
    """

    def save(self, path: str | Path) -> Path:
        """Save the fitted model to the folder ``path``.

        The folder receives ``config.json``, with the constructor parameters,
        the fitted attributes and the sk_dim version, and the weights of the
        networks, in ``weights.safetensors`` when the safetensors package is
        installed, else in ``weights.pt``. Unlike a pickle, loading runs no
        code stored in the files. Parameters must be JSON values: a model
        with a callable, class or module parameter is saved with pickle or
        joblib instead.

        Parameters
        ----------
        path : str or pathlib.Path
            A folder, created if needed; the files of an earlier save in it
            are replaced.

        Returns
        -------
        path : pathlib.Path
            The folder.
        """
        check_is_fitted(self)
        self._check_fitted_configuration(
            "save writes the fitted model with its parameters",
            "fit the model again with the new value",
        )
        return save_model(self, Path(path))

    @classmethod
    def load(cls, path: str | Path, device="auto"):
        """Load a model written by :meth:`save`.

        The networks are rebuilt from the saved parameters and given the
        saved weights; nothing is trained and no pickled code is run. A model
        saved by another version of sk_dim loads with an
        :class:`~sk_dim.exceptions.InconsistentVersionWarning`.

        Parameters
        ----------
        path : str or pathlib.Path
            The folder given to :meth:`save`.
        device : str or torch.device, default="auto"
            Where the model runs: "auto" picks CUDA when available.

        Returns
        -------
        model : object
            The fitted estimator.
        """
        return load_model(cls, Path(path), resolve_device(device))

    def __getstate__(self):
        state = super().__getstate__()
        state["_sk_dim_version"] = __version__
        return state

    def __setstate__(self, state):
        version = state.pop("_sk_dim_version", None)
        if version != __version__:
            warnings.warn(
                InconsistentVersionWarning(type(self).__name__, version, __version__),
                stacklevel=2,
            )
        super().__setstate__(state)
