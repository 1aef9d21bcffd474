"""CIFAR-10, from the archive of its Python batches."""

from __future__ import annotations

import pickle
import tarfile

import numpy as np
from sklearn.utils import Bunch
from sklearn.utils._param_validation import validate_params

from ._download import FETCH_PARAMETERS, RemoteFile, fetch_files

#: Where the archive is served: the page of Krizhevsky's tech report.
MIRRORS = ["https://www.cs.toronto.edu/~kriz/"]

#: The archive (163 MB), with the SHA-256 of the official copy.
ARCHIVE = RemoteFile(
    "cifar-10-python.tar.gz",
    "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
)

#: The batches of each subset, inside the archive's folder.
BATCHES = {
    "train": [f"data_batch_{index}" for index in range(1, 6)],
    "test": ["test_batch"],
}

DESCR = """CIFAR-10 (Krizhevsky, 2009).

60,000 colour images of 32 x 32 pixels in 10 classes, 50,000 for training
and 10,000 for testing. Source: https://www.cs.toronto.edu/~kriz/cifar.html
"""


@validate_params(FETCH_PARAMETERS, prefer_skip_nested_validation=True)
def fetch_cifar10(
    *,
    subset="train",
    data_home=None,
    download_if_missing=True,
    return_X_y=False,
):
    """Load CIFAR-10, downloading it on first use.

    The official archive of Python batches (163 MB) is downloaded into
    ``<data_home>/cifar10``, checked against its SHA-256, and read from
    there by later calls. On a machine without internet access, copy the
    archive there by hand: the error of a failed download names it.

    Parameters
    ----------
    subset : {"train", "test", "all"}, default="train"
        The 50,000 training images, the 10,000 test images, or both, in
        that order. Keep the test images for a final check: tune on a part
        of the training images held out.
    data_home : str, path-like or None, default=None
        The data home (see :func:`get_data_home`).
    download_if_missing : bool, default=True
        Download the archive if missing; if False, a missing archive raises
        ``OSError``.
    return_X_y : bool, default=False
        Return ``(images, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``images``: uint8 array of shape (n_samples, 32, 32, 3), RGB,
        channels last; ``target``: uint8 labels 0 to 9; ``target_names``:
        the class names ("airplane" to "truck"); ``DESCR``.
    (images, target) : tuple
        With ``return_X_y``.

    Examples
    --------
    >>> from sk_dim.datasets import fetch_cifar10
    >>> cifar = fetch_cifar10()  # doctest: +SKIP
    >>> cifar.images.shape, cifar.target_names[0]  # doctest: +SKIP
    ((50000, 32, 32, 3), 'airplane')
    """
    (archive,) = fetch_files(
        "cifar10", [ARCHIVE], MIRRORS, data_home, download_if_missing
    )
    names = BATCHES["train"] + BATCHES["test"] if subset == "all" else BATCHES[subset]
    with tarfile.open(archive, "r:gz") as tar:
        # the archive's checksum was verified: its pickles are the official ones
        batches = [_read(tar, name) for name in names]
        label_names = _read(tar, "batches.meta")[b"label_names"]
    pixels = np.concatenate([batch[b"data"] for batch in batches])
    images = pixels.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy()
    target = np.concatenate([batch[b"labels"] for batch in batches]).astype(np.uint8)
    if return_X_y:
        return images, target
    return Bunch(
        images=images,
        target=target,
        target_names=np.array([name.decode() for name in label_names]),
        DESCR=DESCR,
    )


def _read(tar: tarfile.TarFile, name: str) -> dict:
    """The unpickled batch ``name`` of the archive."""
    file = tar.extractfile(f"cifar-10-batches-py/{name}")
    if file is None:
        raise ValueError(f"{tar.name} has no batch {name}.")
    return pickle.load(file, encoding="bytes")
