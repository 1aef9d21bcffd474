"""TwoViewInfoMax: codes of two views of the data that share the most information."""

from __future__ import annotations

from numbers import Integral
from typing import ClassVar

import numpy as np
import torch
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted
from torch import nn

from ._base import NetEstimator
from ._builders import build_two_view_model
from ._input.checks import check_float32_range, check_hidden_layer_sizes
from ._input.layout import InputLayout
from ._input.scaling import fit_standardize
from ._input.streaming import is_out_of_core
from ._parameters import (
    TRAINING_CONSTRAINTS,
    document_training_parameters,
    store_parameters,
)
from .nn.critics import CRITICS
from .nn.mi_estimators import MI_ESTIMATORS
from .nn.models.two_view import TwoViewModel, split_views
from .nn.scaling import Standardize
from .nn.views import SplitColumns

__all__ = ["TwoViewInfoMax"]


@document_training_parameters(
    notes={"batch_size": "The other samples of a batch are the negatives."},
    betas="0.9, 0.999",
    watched="bound",
    seeded="the initialisation and batch order",
)
class TwoViewInfoMax(ClassNamePrefixFeaturesOutMixin, TransformerMixin, NetEstimator):
    """Maximise a bound on the mutual information between codes of two views.

    Each sample comes as two views, x_a and x_b: two arrays given to
    ``fit(X, y)``, view b as y (as in
    :class:`sklearn.cross_decomposition.CCA`), or one array and a ``views``
    function that splits (or augments) each row into two. One MLP per view
    encodes it to ``n_components`` values, and the encoders are
    trained to maximise a lower bound on I(g_a(x_a); g_b(x_b)) made of a
    critic and an estimator, any of :mod:`sk_dim.nn.critics` and
    :mod:`sk_dim.nn.mi_estimators`. ``transform`` returns the codes of view a.
    This is the setting of Tschannen et al. (2020), whose MNIST experiment
    takes the top and bottom halves of each image as the two views.

    Parameters
    ----------
    n_components : int, default=100
        Size of the codes of each view.
    views : callable or None, default=None
        None: ``fit(X, y)`` takes view a as X and view b as y. A callable
        maps a float tensor batch (B, F) of X to two tensors (B, F_a) and
        (B, F_b), for example :class:`~sk_dim.nn.views.SplitColumns`; it runs on
        every training batch (a random function draws new views each step)
        and on the input of ``transform``, which encodes the first view. It
        must be picklable. With it, the ``y`` of ``fit`` is ignored, so that
        a pipeline can pass labels to its last step.
    mi_estimator : {"infonce", "nwj", "jsd", "dv", "second_order"}, class or \
            callable, default="infonce"
        Estimator of the bound, as in
        :class:`~sk_dim.DeepInfoMaxTransformer`.
    critic : {"bilinear", "separable", "concat", "dot", "encode_and_dot"}, \
            class or torch.nn.Module, default="bilinear"
        Critic scoring every (code a, code b) pair of a batch: "bilinear"
        ``a^T W b``, "separable" inner product of two MLP embeddings,
        "concat" an MLP on the concatenated pair, "dot" the inner product.
    hidden_layer_sizes : tuple of int, default=(300, 300)
        Hidden widths of each view's encoder (Linear and ReLU layers); the
        paper's encoders are (300, 300) with 100 outputs.
    critic_width : int, default=200
        Hidden width of the "separable" and "concat" critics.
    <training parameters>

    Attributes
    ----------
    n_view_features_ : list of int
        Features of view a and of view b.
    net_ : skorch.NeuralNet
        The fitted net; ``net_.module_`` is the
        :class:`~sk_dim.nn.models.TwoViewModel`, holding both encoders and
        the critic.
    device_ : torch.device
        Device the model was last trained on (by ``fit``, or ``partial_fit``
        where the net then was) or moved to by ``to``. ``transform`` runs
        where the net is: a model fitted on a GPU and unpickled or loaded on
        a machine without one runs, and trains on, the CPU.
    precision_ : str
        Precision of the training steps, "32", "bf16" or "16-mixed" (what
        ``precision="auto"`` resolved to on ``device_``).
    n_features_in_ : int
        Number of features of X.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X is a DataFrame with string
        column names.
    batch_size_ : int
        Samples per training step in the last call of ``fit`` or
        ``partial_fit``: ``batch_size``, or fewer when the data held fewer.
    n_iter_ : int
        Number of epochs run.
    loss_curve_ : list of float
        Mean training loss (the negative bound) of each epoch.
    validation_scores_ : list of float or None
        Held-out bound after each epoch with ``early_stopping``.
    best_validation_score_ : float or None
        Highest held-out bound with ``early_stopping``.

    See Also
    --------
    sklearn.cross_decomposition.CCA : Linear codes of two views of highest
        correlation.
    DeepInfoMaxTransformer : Mutual information between an image's code and
        its local features.

    References
    ----------
    Michael Tschannen, Josip Djolonga, Paul K. Rubenstein, Sylvain Gelly and
    Mario Lucic. "On Mutual Information Maximization for Representation
    Learning". ICLR 2020. arXiv:1907.13625.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sk_dim import TwoViewInfoMax
    >>> from sk_dim.nn.views import SplitColumns
    >>> X, _ = load_digits(return_X_y=True)  # 8 x 8 images as rows of 64
    >>> model = TwoViewInfoMax(16, views=SplitColumns(), max_epochs=2)
    >>> model.fit_transform(X).shape  # codes of the top halves
    (1797, 16)
    >>> two_arrays = TwoViewInfoMax(16, max_epochs=2, random_state=0)
    >>> codes_a, codes_b = two_arrays.fit(X[:, :32], X[:, 32:]).transform(
    ...     X[:, :32], X[:, 32:]
    ... )
    >>> codes_b.shape
    (1797, 16)
    """

    _parameter_constraints: ClassVar[dict] = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "views": [None, callable],
        "mi_estimator": [StrOptions(set(MI_ESTIMATORS)), callable],
        "critic": [
            StrOptions(set(CRITICS) - {"concat_and_convolve"}),
            type,
            nn.Module,
        ],
        "hidden_layer_sizes": [tuple, list],
        "critic_width": [Interval(Integral, 1, None, closed="left")],
        **TRAINING_CONSTRAINTS,
    }
    _saved_attributes = ("n_view_features_",)

    def __init__(
        self,
        n_components=100,
        *,
        views=None,
        mi_estimator="infonce",
        critic="bilinear",
        hidden_layer_sizes=(300, 300),
        critic_width=200,
        lr=1e-3,
        lr_schedule="cosine",
        batch_size=128,
        max_epochs=10,
        max_time=None,
        tol=1e-2,
        n_iter_no_change=3,
        early_stopping=False,
        validation_fraction=0.1,
        chunk_size=None,
        callbacks=None,
        warm_start=False,
        device="auto",
        compile=False,
        precision="auto",
        random_state=None,
        verbose=0,
    ):
        store_parameters(self, locals())

    def fit(self, X, y=None):
        """Fit the encoders of both views.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            View a, or the rows that ``views`` splits.
        y : array-like of shape (n_samples, n_features_b) or None
            View b, required without ``views`` and ignored with it.

        Returns
        -------
        self : TwoViewInfoMax
            The fitted estimator.
        """
        return super().fit(X, y)

    def partial_fit(self, X, y=None):
        """Train for one epoch on a chunk of data (see ``fit`` for X and y).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            View a, or the rows that ``views`` splits.
        y : array-like of shape (n_samples, n_features_b) or None
            View b, required without ``views`` and ignored with it.

        Returns
        -------
        self : TwoViewInfoMax
            The estimator, trained one more epoch.
        """
        return super().partial_fit(X, y)

    def _training_data(self, X, y, reset: bool):
        """X, or X and the second view y side by side without ``views``."""
        self._check_in_memory_views(X, y)
        X = self._validate_input(X, reset)
        if X.ndim != 2:
            raise ValueError(
                f"{type(self).__name__} takes rows of features: X must be 2-D, "
                f"got {X.ndim} dimensions {X.shape}; flatten images to rows."
            )
        if self.views is not None:
            return X
        second = self._check_second_view(X, y, reset)
        return np.hstack([X.astype(np.float32), second])

    def _check_in_memory_views(self, X, y) -> None:
        """Refuse out-of-core views given as two arrays, which are joined in memory."""
        if self.views is None and (is_out_of_core(X) or is_out_of_core(y)):
            raise ValueError(
                f"{type(self).__name__} reads out-of-core data through a views "
                "function: store both views side by side in one array and pass "
                "views=SplitColumns(n_features_a)."
            )

    def _check_second_view(self, X: np.ndarray, y, reset: bool) -> np.ndarray:
        if y is None:
            raise ValueError(
                "y, the second view, is required when views=None: call "
                "fit(X, y) with view a as X and view b as y, or pass a views "
                "function such as views=SplitColumns()."
            )
        y = check_array(y, dtype="numeric", input_name="y", ensure_2d=False)
        check_float32_range(y, "y")
        if y.ndim != 2:
            raise ValueError(
                f"y, the second view, must be 2-D with one row per sample, got "
                f"shape {y.shape}. In a pipeline whose fit receives labels, "
                "pass views=... so that they are ignored."
            )
        if len(y) != len(X):
            raise ValueError(
                f"X and y must hold the same samples, got {len(X)} and {len(y)} rows."
            )
        expected = y.shape[1] if reset else self.n_view_features_[1]
        if y.shape[1] != expected:
            raise ValueError(
                f"y has {y.shape[1]} features, but {type(self).__name__} was "
                f"fitted on a second view of {expected}."
            )
        return y.astype(np.float32)

    def _split(self):
        """The view function of the parameters: ``views``, or X beside y."""
        if self.views is not None:
            return self.views
        return SplitColumns(self.n_features_in_)

    def _check_training_data(self, X: np.ndarray) -> InputLayout:
        check_hidden_layer_sizes(self.hidden_layer_sizes, allow_empty=True)
        return InputLayout((X.shape[1],), None)

    def _set_up(self, layout: InputLayout) -> None:
        super()._set_up(layout)
        self.input_shape_ = (self.n_features_in_,)

    def _fit_scaling(self, X: np.ndarray) -> tuple[Standardize, Standardize]:
        """Per-feature standardisation of each view, from the training data.

        Also records the views' sizes in ``n_view_features_``.
        """
        views = split_views(
            self._split(), torch.from_numpy(np.asarray(X, dtype=np.float32))
        )
        self.n_view_features_ = [view.shape[1] for view in views]
        layout = InputLayout((0,), None)  # rows
        return tuple(fit_standardize(view.numpy(), layout) for view in views)

    @staticmethod
    def _saved_scaling(weights: dict[str, torch.Tensor]):
        return tuple(
            Standardize(weights[f"scalings.{i}.offset"], weights[f"scalings.{i}.scale"])
            for i in range(2)
        )

    def _training_params(self) -> dict:
        params = super()._training_params()
        params["hidden_layer_sizes"] = check_hidden_layer_sizes(
            self.hidden_layer_sizes, allow_empty=True
        )
        return params

    def _build_model(self, scaling) -> TwoViewModel:
        return build_two_view_model(
            self._training_params(), self._split(), self.n_view_features_, scaling
        )

    def transform(self, X, y=None):
        """Codes of view a, and of view b when y is given.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            View a, or the rows that ``views`` splits.
        y : array-like of shape (n_samples, n_features_b) or None
            View b (without ``views`` only).

        Returns
        -------
        codes_a : ndarray of shape (n_samples, n_components), dtype float32
        codes_b : ndarray of shape (n_samples, n_components), dtype float32
            Returned with y only.
        """
        check_is_fitted(self)
        if y is not None and self.views is not None:
            raise ValueError(
                "y is given, but this model splits X with its views function; "
                "call transform(X)."
            )
        if self.views is not None:
            return self._encode(self._input_data(X), 0, split=True)
        self._check_in_memory_views(X, y)
        X = self._validate_input(X, reset=False)
        codes_a = self._encode(torch.from_numpy(np.asarray(X, np.float32)), 0)
        if y is None:
            return codes_a
        view_b = torch.from_numpy(self._check_second_view(X, y, reset=False))
        return codes_a, self._encode(view_b, 1)

    def _encode(self, data, index: int, split: bool = False) -> np.ndarray:
        """Codes of view ``index`` of ``data``: that view, or rows to split."""
        model = self.net_.module_.eval()
        return self._inference(
            data,
            lambda batch: model.encode(
                model.split(batch)[index] if split else batch, index
            ),
        )

    def score(self, X, y=None):
        """Held-out bound on I(code a; code b), averaged over full batches.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            View a, or the rows that ``views`` splits; at least 2 samples.
        y : array-like of shape (n_samples, n_features_b) or None
            View b, required without ``views``.

        Returns
        -------
        score : float
            The bound in nats; bounds of different ``mi_estimator`` values
            are not comparable.
        """
        check_is_fitted(self)
        return self._held_out_score(
            self._tensor_data(self._training_data(X, y, reset=False))
        )

    @property
    def _n_features_out(self) -> int:
        return self.n_components

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = False
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
