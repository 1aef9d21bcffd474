"""Arguments and callbacks of a training run, common to the models."""

from __future__ import annotations

import copy

import torch

from .callbacks import CosineSchedule, EarlyStopping, HeldOutScore, ProgressBar
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
    callbacks += copy.deepcopy(list(params["callbacks"] or []))
    if not incremental:
        # last, so that every other callback sees the end of the last epoch
        stopping = EarlyStopping(
            monitor="train_loss" if valid_data is None else "valid_score",
            lower_is_better=valid_data is None,
            tol=params["tol"],
            n_iter_no_change=params["n_iter_no_change"],
            restore_best=valid_data is not None,
        )
        callbacks.append(("stopping", stopping))
    return callbacks
