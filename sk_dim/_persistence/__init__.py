"""Saving a fitted estimator as JSON parameters and weights, and loading it.

A save is a folder of two files (:mod:`~sk_dim._persistence.files`): the
configuration (``config.json``: the class, the constructor parameters, the
fitted attributes, the version and the weights' checksum) and the model's
tensors (safetensors, or torch's format without it). It is written beside
the target and takes its place by renaming
(:mod:`~sk_dim._persistence.folders`), so that a failed save leaves an
earlier one intact. Loading rebuilds the model from the parameters, checks
the weights against a copy built on the meta device, and runs no pickled
code.
"""

from __future__ import annotations

import copy
import errno
import shutil
from pathlib import Path

import numpy as np
import torch

from .._files import file_digest
from .._input.layout import InputLayout
from .._version import __version__
from ..exceptions import CorruptSaveError
from .files import (
    CONFIG_FILE,
    FORMAT_VERSION,
    MODEL_PREFIX,
    json_params,
    read_config,
    read_weights,
    save_weights,
    weights_file,
    write_config,
)
from .folders import (
    check_save_target,
    finish_interrupted_save,
    flush_to_disk,
    remove_leftovers,
    replace_folder,
    sibling,
)


def save_model(model, folder: Path) -> Path:
    """Write the fitted estimator ``model`` to ``folder`` (see its ``save``).

    The files are written to a new folder beside ``folder``, which then
    takes its place by renaming: a save that fails at any point leaves an
    earlier save in ``folder`` as it was.
    """
    name = type(model).__name__
    params = json_params(model.get_params(deep=False), name)
    layout = model._layout
    feature_names = getattr(model, "feature_names_in_", None)
    config = {
        "format": FORMAT_VERSION,
        "class": name,
        "version": __version__,
        "params": params,
        "fitted": {
            "sample_shape": list(layout.sample_shape),
            "image_shape": _list_or_none(layout.image_shape),
            "channels_last": layout.channels_last,
            "input_shape": list(model.input_shape_),
            "seed": model.net_.seed,
            "device": str(model.device_),
            "n_features_in": model.n_features_in_,
            "feature_names_in": _list_or_none(feature_names),
            "n_iter": model.n_iter_,
            "batch_size": model.batch_size_,
            "loss_curve": model.loss_curve_,
            "validation_scores": model.validation_scores_,
            "best_validation_score": model.best_validation_score_,
            **{name: getattr(model, name) for name in model._saved_attributes},
        },
    }
    tensors = {
        f"{MODEL_PREFIX}{key}": value
        for key, value in model.net_.module_.state_dict().items()
    }
    folder = finish_interrupted_save(folder)  # a swap that a killed save left
    check_save_target(folder)
    remove_leftovers(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = sibling(folder, "saving")
    try:
        staging.mkdir()
        try:
            path = save_weights(tensors, staging)
            config["weights"] = {"file": path.name, "sha256": file_digest(path)}
            write_config(staging, config)
        except (OSError, RuntimeError) as error:
            needed = sum(value.nbytes for value in tensors.values())
            if disk_is_full(error, staging, needed):
                raise OSError(
                    errno.ENOSPC,
                    f"The disk holding {folder.parent} is full: the model's "
                    f"weights need about {max(1, round(needed / 2**20))} MB. Free some "
                    f"space, or save elsewhere; any earlier save in {folder} "
                    "is intact",
                    str(staging),
                ) from error
            raise
        for written in (path, staging / CONFIG_FILE, staging):
            flush_to_disk(written)
        replace_folder(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # gone once renamed
    return folder


def disk_is_full(error: Exception, folder: Path, needed: int) -> bool:
    """Whether a write of ``needed`` bytes to ``folder`` failed for want of space.

    torch reports a full disk as a ``RuntimeError`` of its own: the free
    space, less than the weights need, tells it apart.
    """
    if getattr(error, "errno", None) == errno.ENOSPC:
        return True
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return False
    return free < needed


def _list_or_none(values) -> list | None:
    return None if values is None else [_plain(value) for value in values]


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def load_model(cls, folder: Path, device: torch.device):
    """Rebuild an estimator of class ``cls`` from ``folder``, on ``device``.

    The parameters are validated as the constructor's; the model is built
    by the estimator's ``_build_model`` from the saved input scaling (read
    by its ``_saved_scaling``), first without memory on the meta device, to
    check that the saved weights fit it exactly.
    """
    folder = finish_interrupted_save(folder)  # a swap that a killed save left
    config = read_config(folder, cls.__name__, __version__)
    try:
        model, seed = _model_from_config(cls, config)
    except (KeyError, TypeError, ValueError) as error:
        reason = (
            f"the entry {error} is missing" if isinstance(error, KeyError) else error
        )
        raise CorruptSaveError(folder / CONFIG_FILE, str(reason)) from None
    if not isinstance(config.get("weights"), dict):
        raise CorruptSaveError(
            folder / CONFIG_FILE, "the entry 'weights', the checksum, is missing."
        )
    path = weights_file(folder, config["weights"])
    tensors = read_weights(path)
    state = {
        key.removeprefix(MODEL_PREFIX): value
        for key, value in tensors.items()
        if key.startswith(MODEL_PREFIX)
    }
    try:
        scaling = model._saved_scaling(state)
    except KeyError:
        raise CorruptSaveError(path, "the input scaling is missing.") from None
    _check_weights(tensors, _weight_shapes(model, scaling), path)
    net = model._build_net(scaling, seed, device).initialize()
    net.module_.load_state_dict(state)
    model.net_ = net
    model.precision_ = net.precision
    model._fitted_params = model._model_params()
    return model


def _model_from_config(cls, config: dict) -> tuple:
    """The estimator of the saved parameters, with its saved fitted attributes,
    and the seed of its net."""
    params = dict(config["params"])
    if params.get("image_shape") is not None:
        params["image_shape"] = tuple(params["image_shape"])
    model = cls(**params)
    model._validate_params()
    fitted = config["fitted"]
    image_shape = fitted["image_shape"]
    model._layout = InputLayout(
        tuple(fitted["sample_shape"]),
        None if image_shape is None else tuple(image_shape),
        fitted["channels_last"],
    )
    _check_fitted_values(fitted)
    model.input_shape_ = tuple(fitted["input_shape"])
    model.device_ = torch.device(fitted["device"])
    model.n_features_in_ = fitted["n_features_in"]
    if fitted["feature_names_in"] is not None:
        model.feature_names_in_ = np.asarray(fitted["feature_names_in"], dtype=object)
    model.n_iter_ = fitted["n_iter"]
    model.batch_size_ = fitted["batch_size"]
    model.loss_curve_ = fitted["loss_curve"]
    model.validation_scores_ = fitted["validation_scores"]
    model.best_validation_score_ = fitted["best_validation_score"]
    for name in model._saved_attributes:
        setattr(model, name, fitted[name])
    return model, int(fitted["seed"])


def _check_fitted_values(fitted: dict) -> None:
    """Refuse fitted values of the wrong kind, or that contradict each other."""

    def counts(value) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0

    def numbers(values) -> bool:
        return isinstance(values, list) and all(
            isinstance(value, int | float) and not isinstance(value, bool)
            for value in values
        )

    shapes = (fitted["sample_shape"], fitted["input_shape"])
    if not all(isinstance(shape, list) and all(map(counts, shape)) for shape in shapes):
        raise ValueError("the sample and input shapes must be lists of sizes")
    if not counts(fitted["n_iter"]) or not numbers(fitted["loss_curve"]):
        raise ValueError(
            "n_iter must be a non-negative integer and loss_curve a list of numbers"
        )
    if len(fitted["loss_curve"]) != fitted["n_iter"]:
        raise ValueError(
            f"loss_curve holds {len(fitted['loss_curve'])} epochs, but n_iter is "
            f"{fitted['n_iter']}"
        )
    if fitted["validation_scores"] is not None and not numbers(
        fitted["validation_scores"]
    ):
        raise ValueError("validation_scores must be None or a list of numbers")
    if not counts(fitted["batch_size"]) or fitted["batch_size"] < 1:
        raise ValueError("batch_size must be a positive integer")
    n_features = fitted["n_features_in"]
    if not counts(n_features) or n_features != fitted["input_shape"][0]:
        raise ValueError(
            f"n_features_in is {n_features!r}, but the samples have shape "
            f"{tuple(fitted['input_shape'])}"
        )


def _weight_shapes(model, scaling) -> dict[str, torch.Size]:
    """Shape of every tensor of the estimator's model, built on the meta device."""
    with torch.device("meta"):
        # a copy of the scaling, which building on meta would move
        built = model._build_model(copy.deepcopy(scaling))
    return {
        f"{MODEL_PREFIX}{key}": value.shape for key, value in built.state_dict().items()
    }


def _check_weights(
    tensors: dict[str, torch.Tensor], expected: dict[str, torch.Size], path: Path
) -> None:
    """Refuse weights that do not fit the networks of the saved parameters."""
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    wrong = sorted(
        f"{key} {tuple(tensors[key].shape)} instead of {tuple(expected[key])}"
        for key in set(tensors) & set(expected)
        if tensors[key].shape != expected[key]
    )
    problems = [
        f"{label}: {', '.join(keys[:3])}{' ...' * (len(keys) > 3)}"
        for label, keys in (
            ("missing tensors", missing),
            ("unexpected tensors", unexpected),
            ("tensors of another shape", wrong),
        )
        if keys
    ]
    if problems:
        raise CorruptSaveError(
            path,
            "the weights do not fit the networks of the saved parameters ("
            + "; ".join(problems)
            + ").",
        )
