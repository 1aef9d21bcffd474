"""Files of public data sets: downloaded once, checked, kept in the data home."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sklearn.utils._param_validation import StrOptions

from .._files import file_digest

#: The parameters that every fetch_* function takes, with their constraints.
FETCH_PARAMETERS = {
    "subset": [StrOptions({"train", "test", "all"})],
    "data_home": [str, os.PathLike, None],
    "download_if_missing": ["boolean"],
    "return_X_y": ["boolean"],
}

#: The environment variable naming the data home.
DATA_HOME_VARIABLE = "SK_DIM_DATA"


def get_data_home(data_home: str | os.PathLike | None = None) -> Path:
    """The folder where sk_dim keeps the data sets it downloads.

    As scikit-learn's ``get_data_home``: ``data_home`` if given, else the
    folder named by the environment variable ``SK_DIM_DATA``, else
    ``~/sk_dim_data``; ``~`` is expanded and the folder created if missing.
    Each data set has a subfolder of its own (``mnist``, ``cifar10``).

    Parameters
    ----------
    data_home : str, path-like or None, default=None
        The folder to use.

    Returns
    -------
    pathlib.Path
        The data home.

    Examples
    --------
    >>> from sk_dim.datasets import get_data_home
    >>> get_data_home("/tmp/sk_dim_data").name
    'sk_dim_data'
    """
    if data_home is None:
        data_home = os.environ.get(DATA_HOME_VARIABLE, Path("~") / "sk_dim_data")
    folder = Path(data_home).expanduser()
    _create(folder)
    return folder


def _create(folder: Path, dataset: str = "") -> None:
    """Create ``folder``, or say that the data home cannot be written."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except PermissionError:
        raise PermissionError(_unwritable(folder, dataset)) from None


def _unwritable(folder: Path, dataset: str = "") -> str:
    return f"{dataset}: " * bool(dataset) + (
        f"The data home {folder} cannot be written: pass data_home= a writable "
        f"folder, or name one in the {DATA_HOME_VARIABLE} environment variable."
    )


@dataclass(frozen=True)
class RemoteFile:
    """A file of a data set, by name, with the SHA-256 of its official copy."""

    name: str
    sha256: str


def fetch_files(
    dataset: str,
    files: Sequence[RemoteFile],
    mirrors: Sequence[str],
    data_home: str | os.PathLike | None,
    download_if_missing: bool,
) -> list[Path]:
    """The paths of ``files`` in the data home, downloaded where missing.

    Each missing file is downloaded from the first of ``mirrors`` (URL
    prefixes) that serves it with the right SHA-256, through pooch: into a
    temporary file beside its final place, checked, then renamed, so that an
    interrupted download leaves nothing behind. A file already there with
    another checksum (a copy cut short by another tool, a wrong file placed
    by hand) is downloaded again. Without ``download_if_missing``, or when
    every mirror fails, an ``OSError`` says which files to place where.
    """
    folder = get_data_home(data_home) / dataset
    paths = []
    for file in files:
        path = folder / file.name
        if not download_if_missing:
            _check_placed(dataset, file, path, files, mirrors)
        else:
            _download(dataset, file, path, files, mirrors)
        paths.append(path)
    return paths


def _check_placed(dataset, file, path, files, mirrors) -> None:
    """Refuse a missing or altered file when downloading is not allowed."""
    if not path.exists():
        raise OSError(
            f"{dataset}: {path} is missing and download_if_missing=False. "
            + _placement_advice(path.parent, files, mirrors)
        )
    digest = file_digest(path)
    if digest != file.sha256:
        raise OSError(
            f"{dataset}: {path} has SHA-256 {digest}, not that of the official "
            f"file, {file.sha256}. Delete it to download it again, or "
            + _placement_advice(path.parent, files, mirrors, lowercase=True)
        )


def _download(dataset, file, path, files, mirrors) -> None:
    """Download ``file`` from the first mirror that serves it correctly.

    A file already in place with the right checksum is not downloaded again
    (and needs no pooch).
    """
    if path.exists() and file_digest(path) == file.sha256:
        return
    _create(path.parent, dataset)
    if not os.access(path.parent, os.W_OK):
        raise PermissionError(_unwritable(path.parent, dataset))
    try:
        import pooch
    except ImportError as error:
        raise ImportError(
            f"Downloading {dataset} needs pooch: pip install 'sk_dim[datasets]'."
        ) from error
    failures = []
    for mirror in mirrors:
        try:
            pooch.retrieve(
                mirror + file.name,
                known_hash=f"sha256:{file.sha256}",
                fname=file.name,
                path=path.parent,
                progressbar=False,
            )
            return
        except (OSError, ValueError) as error:  # no connection, HTTP error, checksum
            reason = (
                "no connection"
                if type(error).__name__ == "ConnectionError"
                else str(error)
            )
            failures.append(f"{mirror}{file.name}: {reason}")
    tried = "; ".join(failures)
    raise OSError(
        f"{dataset}: could not download {file.name} (tried {tried}). "
        + _placement_advice(path.parent, files, mirrors)
        + " With download_if_missing=False, the fetch then reads them without "
        "trying the network."
    )


def _placement_advice(folder, files, mirrors, lowercase=False) -> str:
    """How to place the files of a data set by hand."""
    urls = ", ".join(mirrors[0] + file.name for file in files)
    advice = (
        f"On a machine that is offline, place the files by hand: download "
        f"{urls} elsewhere and copy them into {folder} (or into the folder "
        f"named by data_home or by the {DATA_HOME_VARIABLE} environment "
        "variable); their SHA-256 checksums are checked when they are read."
    )
    return advice[0].lower() + advice[1:] if lowercase else advice
