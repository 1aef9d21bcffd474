"""What the estimators of sk_dim share: the fit loop, checks, devices, persistence."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator

import numpy as np
import torch
from sklearn.base import BaseEstimator, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._defaults import resolve_auto
from ._input.estimator_input import EstimatorInput
from ._input.layout import InputLayout
from ._input.scaling import fit_standardize
from ._parameters import TRAINING_CONSTRAINTS, ParameterValidation
from ._persistence.estimator import SavedEstimator
from ._training.batches import inference_batch_size, make_batches, to_host
from ._training.configuration import (
    check_callbacks,
    engine_arguments,
    training_callbacks,
)
from ._training.devices import check_precision, resolve_device
from ._training.distributed import local_device, start_process_group
from ._training.engine import TrainingNet
from ._training.runtime import compute_settings
from ._training.state import move_to, restore_training_state, training_state
from .nn.models import InfoMaxModel


@contextlib.contextmanager
def _unchanged_on_error(
    estimator, trained: TrainingNet | None = None
) -> Iterator[None]:
    """Give ``estimator`` its attributes back if the block raises.

    ``trained`` is a net that the block trains in place: its weights,
    optimiser states and history are restored too.
    """
    saved = dict(estimator.__dict__)
    state = None if trained is None else training_state(trained)
    try:
        yield
    except BaseException:
        estimator.__dict__.clear()
        estimator.__dict__.update(saved)
        if trained is not None:
            restore_training_state(trained, state)
        raise


def draw_seed(random_state) -> int:
    """A seed of torch's random state drawn from ``random_state``."""
    return check_random_state(random_state).randint(np.iinfo(np.int32).max)


@contextlib.contextmanager
def seeded_torch(seed: int, device: torch.device) -> Iterator[None]:
    """Seed torch's random state (and ``device``'s) inside the block only."""
    cuda_devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda_devices):
        torch.manual_seed(seed)
        yield


class NetEstimator(EstimatorInput, SavedEstimator, ParameterValidation, BaseEstimator):
    """An estimator whose ``fit`` trains a model in a :class:`TrainingNet`.

    A subclass takes the parameters of
    :data:`~sk_dim._parameters.TRAINING_CONSTRAINTS` and
    defines :meth:`_build_model`. It may refine
    :meth:`_check_training_data`, :meth:`_fit_scaling` and
    :meth:`_check_net_params`, and the training data of ``fit(X, y)`` in
    :meth:`_training_data` (with :meth:`_saved_scaling` for a scaling of
    its own); fitted attributes that ``save`` must
    keep besides the common ones are named in ``_saved_attributes``.
    """

    #: Fitted attributes, JSON values, that ``save`` writes and ``load`` restores.
    _saved_attributes: tuple[str, ...] = ()
    #: Parameters that only ``transform`` reads: changed after fit, they apply.
    _transform_params: tuple[str, ...] = ()
    #: Adam's betas of the model.
    _adam_betas: tuple[float, float] = (0.9, 0.999)
    #: The precision that "auto" stands for on a CUDA device.
    _cuda_auto_precision = "bf16"

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the model on X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), (n_samples, H, W), \
                (n_samples, C, H, W) or (n_samples, H, W, C)
            Training data: feature rows, or images. A numpy memmap, an array
            with ``shape`` and slicing (HDF5, zarr) or a torch Dataset or
            DataLoader is read ``chunk_size`` rows at a time.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        warm = self.warm_start and hasattr(self, "net_")
        with _unchanged_on_error(self, trained=self.net_ if warm else None):
            X = self._training_data(X, y, reset=not warm)
            rng = check_random_state(self.random_state)
            if warm:
                self._check_fitted_configuration(
                    "warm_start=True trains the fitted model on",
                    "set warm_start=False to fit a new model",
                )
                seed = self.net_.seed + self.n_iter_
                # where the net is: moved by to(), or loaded on another device
                self.device_ = torch.device(self.net_.device)
            else:
                layout = self._check_training_data(X)
                seed = draw_seed(rng)
            X, X_valid = self._hold_out(X, rng)
            if not warm:
                self._set_up(layout)
            self.batch_size_ = self._clip_batch_size(len(X))
            with self._training_context(seed):
                if not warm:
                    self.net_ = self._make_net(X, seed)
                self._train(X, X_valid, partial=False, continuing=warm)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Train for one epoch on X, a chunk of data that arrives in parts.

        The first call sets up the model as ``fit`` does, with the input
        scaling learnt from this first chunk. Each call runs one pass over
        its chunk at the constant learning rate ``lr``; the cosine schedule,
        the stopping rule and ``early_stopping`` apply to ``fit`` only. After
        ``fit``, ``partial_fit`` goes on training that model.

        Parameters
        ----------
        X : array-like
            A chunk of at least 2 samples, in the layout of the first chunk;
            ``batch_size`` is clipped to a smaller chunk, with a warning.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The estimator, trained one more epoch.
        """
        first_call = not hasattr(self, "net_")
        with _unchanged_on_error(self, trained=None if first_call else self.net_):
            X = self._training_data(X, y, reset=first_call)
            if first_call:
                self._set_up(self._check_training_data(X))
                seed = draw_seed(self.random_state)
            else:
                self._check_fitted_configuration(
                    "partial_fit trains the fitted model on",
                    "call fit to fit a new model",
                )
                seed = self.net_.seed + self.n_iter_
                # where the net is: moved by to(), or loaded on another device
                self.device_ = torch.device(self.net_.device)
            self.batch_size_ = self._clip_batch_size(len(X))
            with self._training_context(seed):
                if first_call:
                    self.net_ = self._make_net(X, seed).initialize()
                self._train(X, None, partial=True, continuing=True)
        return self

    def _check_training_data(self, X: np.ndarray) -> InputLayout:
        """The layout of the training data, after checks of the parameters."""
        raise NotImplementedError

    def _training_params(self) -> dict:
        """The parameters that build and train the model, "auto" resolved.

        "auto" values stand for those of :func:`~sk_dim._defaults.resolve_auto`
        for the training data's layout; ``batch_size`` is the one of the last
        call, clipped to its data.
        """
        params = {**self.get_params(deep=False), "batch_size": self.batch_size_}
        return resolve_auto(params, self._layout)

    def _fit_scaling(self, X: np.ndarray):
        """The input scaling learnt from the training data."""
        return fit_standardize(X, self._layout)

    @staticmethod
    def _saved_scaling(weights: dict[str, torch.Tensor]):
        """The input scaling held in the saved weights of the model."""
        raise NotImplementedError

    def _build_model(self, scaling) -> InfoMaxModel:
        """The model of the parameters, for data of ``self._layout``.

        ``scaling`` is the input scaling, as :meth:`_fit_scaling` gives it.
        """
        raise NotImplementedError

    def _build_net(self, scaling, seed: int, device: torch.device) -> TrainingNet:
        """The uninitialised net training the model of :meth:`_build_model`."""
        arguments = engine_arguments(
            self._training_params(),
            seed,
            device,
            betas=self._adam_betas,
            auto_precision=self._cuda_auto_precision,
        )
        return TrainingNet(self._build_model(scaling), **arguments)

    def _check_net_params(self) -> None:
        """Refuse parameters that only the built networks can check.

        Called before training and by methods that read such parameters.
        """

    def _set_up(self, layout: InputLayout) -> None:
        device = local_device(resolve_device(self.device))
        check_precision(self.precision, device)
        start_process_group(device)
        self.device_ = device
        self.input_shape_ = layout.sample_shape
        self._layout = layout

    def _make_net(self, X, seed: int) -> TrainingNet:
        """The net, with the scaling learnt from X (from the sample of streamed X)."""
        sample = X if isinstance(X, np.ndarray) else X.sample(None)
        net = self._build_net(self._fit_scaling(sample), seed, self.device_)
        self._fitted_params = self._model_params()
        self.precision_ = net.precision
        return net

    @contextlib.contextmanager
    def _training_context(self, seed: int) -> Iterator[None]:
        """Seeded torch random state, and the compute settings of the device."""
        with seeded_torch(seed, self.device_), compute_settings(self.device_):
            yield

    def _train(self, X, X_valid, *, partial: bool, continuing: bool) -> None:
        """Run the epochs of ``fit`` or the one of ``partial_fit``, then report.

        ``fit`` runs ``max_epochs`` with the schedule and the stopping rule;
        ``partial_fit`` one epoch at ``lr``. ``continuing`` trains the fitted
        net on, its optimiser state, history and loss curve kept.
        """
        self._check_net_params()
        net = self.net_
        epochs = 1 if partial else self.max_epochs
        valid = None if X_valid is None else self._tensor_data(X_valid)
        n_steps = epochs * (len(X) // self.batch_size_)
        params = self._training_params()
        check_callbacks(
            self.callbacks or [], valid is not None, partial, params["lr_schedule"]
        )
        net.batch_size = self.batch_size_
        net.check_memory(self.batch_size_)
        net.callbacks = training_callbacks(
            params, n_steps, valid, partial, type(self).__name__
        )
        history_before = len(net.history) if continuing else 0
        if continuing:
            net.initialize_callbacks()
            net.lr = self.lr  # the rate that messages report
            for group in net.optimizer_.param_groups:
                group["lr"] = self.lr  # where the cosine schedule of fit left it
            net.partial_fit(self._tensor_data(X), epochs=epochs)
        else:
            net.fit(self._tensor_data(X))
        new_epochs = [
            row for row in net.history[history_before:] if "train_loss" in row
        ]
        previous = getattr(self, "loss_curve_", []) if continuing else []
        self.loss_curve_ = previous + [float(row["train_loss"]) for row in new_epochs]
        self.n_iter_ = len(self.loss_curve_)
        scores = [
            float(row["valid_score"]) for row in new_epochs if "valid_score" in row
        ]
        if continuing:
            scores = (getattr(self, "validation_scores_", None) or []) + scores
        self.validation_scores_ = scores or None
        self.best_validation_score_ = max(scores) if scores else None
        self._report_end(epochs, len(new_epochs))

    def _model_params(self) -> dict:
        """The parameters that the networks are built from.

        All but the training parameters and those that only ``transform``
        reads (``_transform_params``).
        """
        return {
            name: value
            for name, value in self.get_params(deep=False).items()
            if name not in TRAINING_CONSTRAINTS and name not in self._transform_params
        }

    def _check_fitted_configuration(self, action: str, remedy: str) -> None:
        """Refuse ``action`` when a parameter of the fitted networks has changed.

        ``_fitted_params``, the record taken when the networks were built (or
        loaded), holds the parameters they were built from; ``fit`` with
        ``warm_start``, ``partial_fit`` and ``save`` read it, so that none of
        them trains or saves networks under parameters they were not built
        with.
        """
        for name, value in self._model_params().items():
            fitted = self._fitted_params[name]
            if value is not fitted and value != fitted:
                raise ValueError(
                    f"{action}, but {name} changed from {fitted!r} to {value!r} "
                    f"since the model was fitted; set {name} back, or {remedy}."
                )

    def _report_end(self, epochs: int, completed: int) -> None:
        """Warn about an interrupted fit or one that has not converged."""
        if self.net_.stopped_by_callback_:  # the stopping rule, or a user's
            return
        stopping = dict(self.net_.callbacks_).get("stopping")
        name = type(self).__name__
        if completed < epochs:
            warnings.warn(
                f"{name}: training interrupted by the user after {completed} of "
                f"{epochs} epochs; the model keeps the weights it reached.",
                UserWarning,
                stacklevel=5,
            )
        elif stopping is not None and stopping.best_epoch_ and not stopping.misses_:
            watched = "held-out score" if self.early_stopping else "training loss"
            warnings.warn(
                f"{name}: the {watched} still changed by more than "
                f"tol={self.tol} in the last of max_epochs={self.max_epochs} "
                "epochs; the fit has not converged. Increase max_epochs to "
                "train longer.",
                ConvergenceWarning,
                stacklevel=5,
            )

    def _inference(
        self, data, compute: Callable[[torch.Tensor], torch.Tensor]
    ) -> np.ndarray:
        """``compute`` of each batch of ``data``, rows of one float32 array.

        The batches go to the net's device; gradients are off and the
        device's compute settings on. A DataLoader that shuffles gives rows
        in an order that cannot be matched to its dataset: a warning says so.
        """
        if getattr(data, "shuffles", False):
            warnings.warn(
                f"{type(self).__name__} received a DataLoader that shuffles its "
                "rows: the results come in the order of this pass, which cannot "
                "be matched to the rows of its dataset. Pass a DataLoader with "
                "shuffle=False (and no random sampler), or its Dataset.",
                UserWarning,
                stacklevel=3,
            )
        device = torch.device(self.net_.device)
        batches = make_batches(data, inference_batch_size(device), device=device)
        with torch.inference_mode(), compute_settings(device):
            results = (compute(batch).float() for batch, _ in batches)
            return to_host(results, len(data))

    def _held_out_score(self, data) -> float:
        """The net's held-out score of ``data`` (see ``TrainingNet.held_out_score``)."""
        if len(data) < 2:
            raise ValueError(
                "score needs at least 2 samples to form negative pairs, got 1."
            )
        with compute_settings(torch.device(self.net_.device)):
            return self.net_.held_out_score(data, self.batch_size)

    def to(self, device):
        """Move the fitted model to ``device``; it then runs and trains there.

        The networks, the optimisers' states and ``device_`` move; a model
        trained with ``precision="16-mixed"`` trains in float32 off CUDA.

        Parameters
        ----------
        device : str or torch.device
            For example ``"cpu"`` to serve a model fitted on a GPU on the CPU,
            or ``"auto"``.

        Returns
        -------
        self : object
            The estimator, moved.
        """
        check_is_fitted(self)
        device = resolve_device(device)
        move_to(self.net_, device)
        self.device_ = device
        self.precision_ = self.net_.precision
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags
