"""Saving a fitted estimator as JSON parameters and weights, and loading it."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import torch

from ._data import InputLayout
from ._version import __version__
from .exceptions import InconsistentVersionWarning

#: Version of the layout of a saved model's folder.
FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
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
    for stale in WEIGHT_FILES:
        if folder / stale != path:
            (folder / stale).unlink(missing_ok=True)
    return path


def load_weights(folder: Path) -> dict[str, torch.Tensor]:
    """Read the tensors written by :func:`save_weights`, on the CPU."""
    safetensors_file, torch_file = (folder / name for name in WEIGHT_FILES)
    if safetensors_file.exists():
        library = _safetensors()
        if library is None:
            raise ImportError(
                f"{safetensors_file} needs the safetensors package: "
                "pip install safetensors."
            )
        return library.load_file(str(safetensors_file))
    if torch_file.exists():
        return torch.load(torch_file, map_location="cpu", weights_only=True)
    raise FileNotFoundError(
        f"No weights file ({' or '.join(WEIGHT_FILES)}) in {folder}."
    )


def write_config(folder: Path, config: dict) -> None:
    (folder / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")


def read_config(folder: Path, class_name: str, version: str) -> dict:
    """The saved configuration, checked for its class, format and version."""
    path = folder / CONFIG_FILE
    if not path.exists():
        raise FileNotFoundError(
            f"{folder} holds no saved model: {CONFIG_FILE} is missing."
        )
    config = json.loads(path.read_text())
    if config.get("format") != FORMAT_VERSION:
        raise ValueError(
            f"{path} has format {config.get('format')!r}; this version of sk_dim "
            f"reads format {FORMAT_VERSION}."
        )
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


def split_weights(
    tensors: dict[str, torch.Tensor],
) -> dict[str, dict[str, torch.Tensor]]:
    """Group flat ``"network.key"`` tensors into one state dict per network."""
    grouped: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        network, _, name = key.partition(".")
        grouped.setdefault(network, {})[name] = value
    return grouped


def save_model(model, folder: Path) -> Path:
    """Write the fitted estimator ``model`` to ``folder`` (see its ``save``)."""
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
            "loss_curve": model.loss_curve_,
            "validation_scores": model.validation_scores_,
            "best_validation_score": model.best_validation_score_,
            **{name: getattr(model, name) for name in model._saved_attributes},
        },
    }
    tensors = {
        f"{network_name}.{key}": value
        for network_name, network in model.net_.fitted_networks().items()
        for key, value in network.state_dict().items()
    }
    folder.mkdir(parents=True, exist_ok=True)
    save_weights(tensors, folder)
    write_config(folder, config)
    return folder


def _list_or_none(values) -> list | None:
    return None if values is None else [_plain(value) for value in values]


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def load_model(cls, folder: Path, device: torch.device):
    """Rebuild an estimator of class ``cls`` from ``folder``, on ``device``.

    The networks are built by the estimator's ``_build_net`` from the saved
    input scaling (read by its ``_saved_scaling`` from ``module_``).
    """
    config = read_config(folder, cls.__name__, __version__)
    params = dict(config["params"])
    if params.get("image_shape") is not None:
        params["image_shape"] = tuple(params["image_shape"])
    model = cls(**params)
    fitted = config["fitted"]
    image_shape = fitted["image_shape"]
    model._layout = InputLayout(
        tuple(fitted["sample_shape"]),
        None if image_shape is None else tuple(image_shape),
        fitted["channels_last"],
    )
    # saves of earlier versions hold no input shape: it was the sample shape
    model.input_shape_ = tuple(fitted.get("input_shape", fitted["sample_shape"]))
    model.device_ = torch.device(fitted["device"])
    model.n_features_in_ = fitted["n_features_in"]
    if fitted["feature_names_in"] is not None:
        model.feature_names_in_ = np.asarray(fitted["feature_names_in"], dtype=object)
    model.n_iter_ = fitted["n_iter"]
    model.loss_curve_ = fitted["loss_curve"]
    model.validation_scores_ = fitted["validation_scores"]
    model.best_validation_score_ = fitted["best_validation_score"]
    for name in model._saved_attributes:
        setattr(model, name, fitted[name])
    weights = split_weights(load_weights(folder))
    scaling = model._saved_scaling(weights["module_"])
    net = model._build_net(scaling, fitted["seed"], device).initialize()
    for network_name, state in weights.items():
        getattr(net, network_name).load_state_dict(state)
    model.net_ = net
    model.precision_ = net.precision
    return model
