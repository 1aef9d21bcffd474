"""Saving a fitted estimator as JSON parameters and weights, and loading it."""

from __future__ import annotations

import copy
import json
import secrets
import shutil
import warnings
from pathlib import Path

import numpy as np
import torch

from ._files import file_digest
from ._input.layout import InputLayout
from ._version import __version__
from .exceptions import CorruptSaveError, InconsistentVersionWarning

#: Version of the layout of a saved model's folder: 3 saves the whole model
#: under one prefix, ``module_.``.
FORMAT_VERSION = 3
#: Formats that ``load`` reads.
READABLE_FORMATS = (3,)
CONFIG_FILE = "config.json"
#: The prefix of the model's tensors in the weights' file.
MODEL_PREFIX = "module_."
_CONFIG_KEYS = ("class", "version", "params", "fitted")
#: The weights' file: safetensors when the package is installed, else torch's.
WEIGHT_FILES = ("weights.safetensors", "weights.pt")


def json_params(params: dict, estimator_name: str) -> dict:
    """The constructor parameters as JSON values, or a TypeError naming the first
    that is not one (a callable, class or module instance)."""
    converted = {}
    for name, value in params.items():
        if isinstance(value, torch.device):
            value = str(value)
        elif isinstance(value, tuple):
            value = list(value)
        if not _is_json(value):
            raise TypeError(
                f"save stores parameters as JSON, but {estimator_name}'s "
                f"{name}={value!r} is not a string, number, bool, list or None; "
                "save the model with pickle or joblib instead."
            )
        converted[name] = value
    return converted


def _is_json(value) -> bool:
    if value is None or isinstance(value, (str, bool, int, float)):
        return not isinstance(value, np.generic)
    if isinstance(value, list):
        return all(_is_json(item) for item in value)
    return False


def _safetensors():
    try:
        import safetensors.torch
    except ImportError:
        return None
    return safetensors.torch


def save_weights(tensors: dict[str, torch.Tensor], folder: Path) -> Path:
    """Write ``tensors`` (moved to the CPU, contiguous) to ``folder``."""
    tensors = {key: value.detach().cpu().contiguous() for key, value in tensors.items()}
    library = _safetensors()
    if library is not None:
        path = folder / WEIGHT_FILES[0]
        library.save_file(tensors, str(path))
    else:
        path = folder / WEIGHT_FILES[1]
        torch.save(tensors, path)
    return path


def weights_file(folder: Path, record: dict) -> Path:
    """The weights' file of a save, checked against the config's ``record``.

    ``record`` is the config's ``"weights"`` entry, the file's name and
    SHA-256.
    """
    path = folder / str(record.get("file"))
    if path.name not in WEIGHT_FILES or not path.exists():
        raise FileNotFoundError(
            f"{folder / CONFIG_FILE} names the weights file {record.get('file')!r}, "
            f"which is not in {folder}."
        )
    if file_digest(path) != record.get("sha256"):
        raise CorruptSaveError(
            path,
            f"the file is not the one that {CONFIG_FILE} was saved with (its "
            "SHA-256 differs): the save was interrupted, or a file was replaced "
            "or altered. Save the model again.",
        )
    return path


def read_weights(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a file written by :func:`save_weights`, on the CPU."""
    if path.name == WEIGHT_FILES[0]:
        library = _safetensors()
        if library is None:
            raise ImportError(
                f"{path} needs the safetensors package: pip install safetensors."
            )
        try:
            return library.load_file(str(path))
        except Exception as error:
            raise CorruptSaveError(
                path, f"not a readable safetensors file ({error})."
            ) from None
    try:
        tensors = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        # not torch's own message: it suggests weights_only=False, which runs code
        raise CorruptSaveError(
            path, "not a file of tensors written by save; it is not loaded."
        ) from None
    if not isinstance(tensors, dict) or not all(
        isinstance(value, torch.Tensor) for value in tensors.values()
    ):
        raise CorruptSaveError(path, "it holds other objects than named tensors.")
    return tensors


def write_config(folder: Path, config: dict) -> None:
    (folder / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")


def read_config(folder: Path, class_name: str, version: str) -> dict:
    """The saved configuration, checked for its class, format and version."""
    path = folder / CONFIG_FILE
    if not path.exists():
        raise FileNotFoundError(
            f"{folder} holds no saved model: {CONFIG_FILE} is missing."
        )
    try:
        config = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CorruptSaveError(path, f"not valid JSON ({error}).") from None
    if not isinstance(config, dict):
        raise CorruptSaveError(path, "not a saved model's configuration.")
    if config.get("format") not in READABLE_FORMATS:
        raise ValueError(
            f"{path} has format {config.get('format')!r}; this version of sk_dim "
            f"reads format {', '.join(map(str, READABLE_FORMATS))}. Load it with "
            f"the version that saved it ({config.get('version')!r}) and refit, "
            "or fit the model again with this one."
        )
    missing = [key for key in _CONFIG_KEYS if key not in config]
    if missing:
        raise CorruptSaveError(path, f"the entries {missing} are missing.")
    if config["class"] != class_name:
        raise TypeError(
            f"{folder} holds a {config['class']}, not a {class_name}; load it "
            f"with {config['class']}.load."
        )
    if config["version"] != version:
        warnings.warn(
            InconsistentVersionWarning(class_name, config["version"], version),
            stacklevel=3,
        )
    return config


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
    _check_save_target(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = _sibling(folder, "saving")
    try:
        staging.mkdir()
        path = save_weights(tensors, staging)
        config["weights"] = {"file": path.name, "sha256": file_digest(path)}
        write_config(staging, config)
        _replace_folder(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # gone once renamed
    return folder


def _check_save_target(folder: Path) -> None:
    """Refuse a target that is a file, or a folder holding more than a save."""
    if not folder.exists():
        return
    if not folder.is_dir():
        raise ValueError(f"save writes a folder, but {folder} is a file.")
    others = sorted(
        path.name
        for path in folder.iterdir()
        if path.name not in (CONFIG_FILE, *WEIGHT_FILES)
    )
    if others:
        raise ValueError(
            f"save replaces the folder {folder} as a whole, but it holds other "
            f"files than a saved model ({', '.join(others[:5])}); save into a "
            "new or empty folder."
        )


def _sibling(folder: Path, purpose: str) -> Path:
    """A new hidden path beside ``folder``, for a save under way or replaced."""
    return folder.with_name(f".{folder.name}.{purpose}-{secrets.token_hex(4)}")


def _replace_folder(new: Path, folder: Path) -> None:
    """Put the folder ``new`` in the place of ``folder`` by renaming."""
    if not folder.exists():
        new.rename(folder)
        return
    replaced = _sibling(folder, "replaced")
    folder.rename(replaced)
    try:
        new.rename(folder)
    except BaseException:
        replaced.rename(folder)
        raise
    shutil.rmtree(replaced, ignore_errors=True)


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
    model._built_params = model._model_params()
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
