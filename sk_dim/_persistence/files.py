"""The files of a saved model: the configuration as JSON, the weights as tensors."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import torch

from .._files import file_digest
from ..exceptions import CorruptSaveError, InconsistentVersionWarning

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
