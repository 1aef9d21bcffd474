"""MNIST, and coloured MNIST made from it."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch
from sklearn.utils._param_validation import validate_params

from ._download import FETCH_PARAMETERS, RemoteFile, fetch_files

#: Where the files are served: LeCun's page, then Google's and PyTorch's copies.
MIRRORS = [
    "https://yann.lecun.com/exdb/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
]

#: The four files, with the SHA-256 of the official copies.
FILES = {
    "train": (
        RemoteFile(
            "train-images-idx3-ubyte.gz",
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        ),
        RemoteFile(
            "train-labels-idx1-ubyte.gz",
            "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        ),
    ),
    "test": (
        RemoteFile(
            "t10k-images-idx3-ubyte.gz",
            "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        ),
        RemoteFile(
            "t10k-labels-idx1-ubyte.gz",
            "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        ),
    ),
}

DESCR = """MNIST handwritten digits (LeCun, Cortes and Burges; CC BY-SA 3.0).

70,000 grayscale images of 28 x 28 pixels, 60,000 for training and 10,000
for testing, labelled 0 to 9. Source: http://yann.lecun.com/exdb/mnist/
"""


def read_idx(path: Path) -> np.ndarray:
    """The uint8 array of a gzipped IDX file (the format of MNIST's files)."""
    with gzip.open(path, "rb") as file:
        data = file.read()
    if len(data) < 4 or data[:3] != b"\x00\x00\x08":
        raise ValueError(f"{path} is not an IDX file of unsigned bytes.")
    n_dims = data[3]
    shape = struct.unpack(f">{n_dims}I", data[4 : 4 + 4 * n_dims])
    values = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * n_dims)
    if values.size != np.prod(shape):
        raise ValueError(
            f"{path} holds {values.size} values, not the {np.prod(shape)} of "
            f"its header's shape {shape}: the file is cut short."
        )
    return values.reshape(shape)


@validate_params(FETCH_PARAMETERS, prefer_skip_nested_validation=True)
def fetch_mnist(
    *,
    subset="train",
    data_home=None,
    download_if_missing=True,
    return_X_y=False,
):
    """Load the MNIST digits, downloading them on first use.

    The four official files (11 MB) are downloaded from LeCun's page, or
    from Google's or PyTorch's copies when it fails, into
    ``<data_home>/mnist``, each checked against its SHA-256; later calls
    read them from there. On a machine without internet access, copy the
    files there by hand: the error of a failed download names them.

    Parameters
    ----------
    subset : {"train", "test", "all"}, default="train"
        The 60,000 training images, the 10,000 test images, or both, in
        that order.
    data_home : str, path-like or None, default=None
        The data home (see :func:`get_data_home`).
    download_if_missing : bool, default=True
        Download missing files; if False, a missing file raises ``OSError``.
    return_X_y : bool, default=False
        Return ``(images, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``images``: uint8 array of shape (n_samples, 28, 28), white digits
        on black (0 to 255); ``data``: the same pixels as (n_samples, 784),
        a view; ``target``: uint8 labels 0 to 9; ``target_names``; ``DESCR``.
    (images, target) : tuple
        With ``return_X_y``.

    Examples
    --------
    >>> from sk_dim.datasets import fetch_mnist
    >>> digits = fetch_mnist(subset="test")  # doctest: +SKIP
    >>> digits.images.shape  # doctest: +SKIP
    (10000, 28, 28)
    """
    images, target = _load(subset, data_home, download_if_missing)
    if return_X_y:
        return images, target
    return Bunch(
        images=images,
        data=images.reshape(len(images), -1),
        target=target,
        target_names=np.arange(10),
        DESCR=DESCR,
    )


@validate_params(
    {**FETCH_PARAMETERS, "random_state": ["random_state"]},
    prefer_skip_nested_validation=True,
)
def fetch_coloured_mnist(
    *,
    subset="train",
    random_state=0,
    data_home=None,
    download_if_missing=True,
    return_X_y=False,
):
    """Load MNIST with each digit in a random colour on a random background.

    A colour version of the digits, for representations that must learn to
    ignore colour: :func:`colour_digits` applied to :func:`fetch_mnist`.

    Parameters
    ----------
    subset : {"train", "test", "all"}, default="train"
        As in :func:`fetch_mnist`.
    random_state : int, numpy Generator or None, default=0
        Seed of the colours (``numpy.random.default_rng``).
    data_home : str, path-like or None, default=None
        The data home (see :func:`get_data_home`).
    download_if_missing : bool, default=True
        Download missing files of MNIST.
    return_X_y : bool, default=False
        Return ``(images, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``images``: uint8 array of shape (n_samples, 28, 28, 3), channels
        last; ``target``; ``target_names``; ``DESCR``.
    (images, target) : tuple
        With ``return_X_y``.

    Examples
    --------
    >>> from sk_dim.datasets import fetch_coloured_mnist
    >>> images, y = fetch_coloured_mnist(return_X_y=True)  # doctest: +SKIP
    >>> images.shape  # doctest: +SKIP
    (60000, 28, 28, 3)
    """
    grey, target = _load(subset, data_home, download_if_missing)
    images = colour_digits(grey, random_state=random_state)
    if return_X_y:
        return images, target
    return Bunch(
        images=images,
        target=target,
        target_names=np.arange(10),
        DESCR=DESCR + "\nEach digit coloured at random on a random background.\n",
    )


def _load(subset: str, data_home, download_if_missing: bool):
    """Images and labels of ``subset``, from the files in the data home."""
    subsets = ["train", "test"] if subset == "all" else [subset]
    images, labels = [], []
    for name in subsets:
        image_file, label_file = fetch_files(
            "mnist", FILES[name], MIRRORS, data_home, download_if_missing
        )
        images.append(read_idx(image_file))
        labels.append(read_idx(label_file))
    return np.concatenate(images), np.concatenate(labels)


@validate_params(
    {"images": ["array-like"], "random_state": ["random_state"]},
    prefer_skip_nested_validation=True,
)
def colour_digits(images, *, random_state=0) -> np.ndarray:
    """Draw each grayscale digit in a random colour on a random background.

    Each image's digit colour and background colour are drawn uniformly from
    [0, 255]^3, independently of anything else, and mixed by the digit's
    ink (its grey level over 255).

    Parameters
    ----------
    images : array-like of shape (n_samples, height, width)
        Grayscale images in [0, 255], white ink on black.
    random_state : int, numpy Generator or None, default=0
        Seed of the colours (``numpy.random.default_rng``).

    Returns
    -------
    numpy.ndarray of shape (n_samples, height, width, 3)
        uint8 colour images, channels last.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_dim.datasets import colour_digits
    >>> colour_digits(np.zeros((2, 28, 28), dtype=np.uint8)).shape
    (2, 28, 28, 3)
    """
    grey = np.asarray(images)
    if grey.ndim != 3:
        raise ValueError(
            f"images must be grayscale images of shape (n_samples, height, "
            f"width), got an array of shape {grey.shape}."
        )
    rng = np.random.default_rng(random_state)
    foreground = rng.uniform(0, 255, size=(len(grey), 1, 1, 3))
    background = rng.uniform(0, 255, size=(len(grey), 1, 1, 3))
    ink = grey[..., None].astype(np.float32) / 255
    return np.round(ink * foreground + (1 - ink) * background).astype(np.uint8)
