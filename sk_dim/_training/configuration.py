"""Arguments and callbacks of a training run, common to the models."""

from __future__ import annotations

import copy

import torch
from skorch.callbacks import LRScheduler

from .callbacks import CosineSchedule, HeldOutScore, ProgressBar, StoppingRule
from .devices import adam_kernel, resolve_precision
from .distributed import rank_and_world


def engine_arguments(
    params: dict,
    seed: int,
    device: torch.device,
    betas: tuple[float, float],
    auto_precision: str = "bf16",
) -> dict:
    """Arguments of a :class:`~sk_dim._training.engine.TrainingNet`, common to models.

    Adam with ``betas`` on ``device``, the batch size, epochs, time budget,
    learning rate, seed, compilation and precision of ``params`` (the
    precision that "auto" stands for on a CUDA device is ``auto_precision``);
    the callbacks are set by each fit.
    """
    return {
        "seed": seed,
        "compile_step": params["compile"],
        "precision": resolve_precision(params["precision"], device, auto_precision),
        "max_time": params["max_time"],
        "optimizer": torch.optim.Adam,
        "optimizer__betas": betas,
        **{f"optimizer__{name}": value for name, value in adam_kernel(device).items()},
        "lr": params["lr"],
        "batch_size": params["batch_size"],
        "max_epochs": params["max_epochs"],
        "callbacks": [],
        "device": device,
        "verbose": 0,
    }


def training_callbacks(
    params: dict,
    n_steps: int,
    valid_data: torch.Tensor | None,
    incremental: bool,
    name: str,
) -> list:
    """Callbacks of one call of ``fit`` (or of ``partial_fit``, ``incremental``).

    The cosine schedule and the stopping rule belong to ``fit``: one call of
    ``partial_fit`` runs one epoch at the constant ``lr``. The user's
    callbacks are deep copies, so that the ones passed are never changed.
    ``name`` labels the progress bar.
    """
    callbacks = []
    if not incremental and params["lr_schedule"] == "cosine":
        callbacks.append(("lr_schedule", CosineSchedule(n_steps)))
    if valid_data is not None:
        callbacks.append(
            ("valid_score", HeldOutScore(valid_data, params["batch_size"]))
        )
    if params["verbose"] and rank_and_world()[0] == 0:  # one bar under torchrun
        callbacks.append(
            ("progress", ProgressBar(n_steps, name, params["verbose"] >= 2))
        )
    callbacks += copy_callbacks(list(params["callbacks"] or []))
    if not incremental:
        # last, so that every other callback sees the end of the last epoch
        stopping = StoppingRule(
            monitor="train_loss" if valid_data is None else "valid_score",
            lower_is_better=valid_data is None,
            tol=params["tol"],
            n_iter_no_change=params["n_iter_no_change"],
            restore_best=valid_data is not None,
        )
        callbacks.append(("stopping", stopping))
    return callbacks


def copy_callbacks(callbacks: list) -> list:
    """Deep copies of the user's callbacks, sharing what cannot be copied.

    A fit changes the state of its callbacks; on copies, the callbacks
    passed stay as they were, to be reused by the next fit. A callback
    holding something that cannot be copied, such as the ``SummaryWriter``
    of skorch's ``TensorBoard`` (an open file and a lock), is rebuilt from
    its parameters, sharing those that cannot be copied: the copies write
    to the same writer. References between the callbacks (the checkpoint
    of ``LoadInitState``) lead to the copies.
    """
    memo: dict = {}
    return [_copy_or_share(item, memo, rebuild=True) for item in callbacks]


def _copy_or_share(value, memo: dict, rebuild: bool = False):
    """A deep copy of ``value``; else, with ``rebuild``, ``value`` rebuilt from
    its copied or shared parameters; else ``value`` itself."""
    if isinstance(value, tuple) and rebuild:  # a (name, callback) pair
        return tuple(_copy_or_share(part, memo, rebuild) for part in value)
    trial = dict(memo)  # a failed copy leaves no half-built object in the memo
    try:
        copied = copy.deepcopy(value, trial)
    except Exception:  # any object can refuse to be copied
        if not (rebuild and hasattr(value, "get_params")):
            return value
        params = value.get_params(deep=False)
        copied = type(value)(
            **{name: _copy_or_share(part, memo) for name, part in params.items()}
        )
        memo[id(value)] = copied
        return copied
    memo.update(trial)
    return copied


def check_callbacks(
    callbacks: list, held_out: bool, partial: bool, lr_schedule: str
) -> None:
    """Refuse user callbacks that would fail or fight the fit, before training.

    A callback watching a ``valid_`` key needs held-out data; an
    ``LRScheduler`` and the cosine schedule of ``fit`` would both set the
    learning rate.
    """
    for index, item in enumerate(callbacks):
        name, callback = item if isinstance(item, tuple) else (None, item)
        label = f"callbacks[{index}] ({name or type(callback).__name__})"
        monitor = getattr(callback, "monitor", None)
        if not held_out and isinstance(monitor, str) and monitor.startswith("valid_"):
            why = (
                "partial_fit holds out no data"
                if partial
                else "set early_stopping=True to hold out validation_fraction of X"
            )
            raise ValueError(
                f"{label} watches {monitor!r}, which is recorded only on "
                f"held-out data: {why}, or have it watch the training loss "
                "(monitor='train_loss'; for a Checkpoint 'train_loss_best', or "
                "None to save every epoch)."
            )
        if (
            isinstance(callback, LRScheduler)
            and lr_schedule == "cosine"
            and not partial
        ):
            raise ValueError(
                f"{label} sets the learning rate, which the cosine schedule "
                "sets as well (lr_schedule='cosine', or 'auto' for this "
                "input); pass lr_schedule='constant' to leave it to the "
                "callback."
            )
