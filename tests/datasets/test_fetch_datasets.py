"""fetch_mnist and fetch_cifar10 against archives served on the loopback address.

The archives are small fakes in the real formats (gzipped IDX files, the
tar.gz of CIFAR-10's pickled batches), served by a local HTTP server that
can corrupt or cut short what it sends; the mirrors and checksums of the
loaders are pointed at them.
"""

import gzip
import hashlib
import http.server
import io
import os
import pickle
import struct
import sys
import tarfile
import threading

import numpy as np
import pytest
from sklearn.utils._param_validation import InvalidParameterError

from sk_dim.datasets import (
    _cifar10,
    _download,
    _mnist,
    fetch_cifar10,
    fetch_coloured_mnist,
    fetch_mnist,
    get_data_home,
)
from sk_dim.datasets._download import RemoteFile

pytest.importorskip("pooch")


def idx_gz(array: np.ndarray) -> bytes:
    """A gzipped IDX file of uint8 ``array``."""
    header = bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes())


def cifar_archive(batches: dict, label_names: list) -> bytes:
    """A tar.gz of pickled batches, laid out as CIFAR-10's Python archive."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        members = {**batches, "batches.meta": {b"label_names": label_names}}
        for name, content in members.items():
            data = pickle.dumps(content)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Server(http.server.ThreadingHTTPServer):
    """Serves ``files`` by path; counts requests; can corrupt or cut them."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.files: dict[str, bytes] = {}
        self.requests: list[str] = []
        self.corrupt: set[str] = set()
        self.cut_short: set[str] = set()  # the next request of these is cut short

    def url(self, folder: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/{folder}/"


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        server = self.server
        server.requests.append(self.path)
        data = server.files.get(self.path)
        if data is None:
            self.send_error(404)
            return
        if self.path in server.corrupt:
            data = data[:-1] + bytes([data[-1] ^ 1])
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.path in server.cut_short:
            server.cut_short.discard(self.path)
            self.wfile.write(data[: len(data) // 2])
            self.close_connection = True
            return
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    server = Server()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def fake_mnist(server, monkeypatch):
    """Fake MNIST files served at two mirrors; the loader's checksums are theirs."""
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (6, 28, 28)),
        "train-labels-idx1-ubyte.gz": rng.integers(0, 10, 6),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (4, 28, 28)),
        "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, 4),
    }
    files = {name: idx_gz(array) for name, array in arrays.items()}
    for folder in ("a", "b"):
        for name, data in files.items():
            server.files[f"/{folder}/{name}"] = data
    names = list(files)
    monkeypatch.setattr(
        _mnist,
        "FILES",
        {
            "train": tuple(RemoteFile(n, sha256(files[n])) for n in names[:2]),
            "test": tuple(RemoteFile(n, sha256(files[n])) for n in names[2:]),
        },
    )
    monkeypatch.setattr(_mnist, "MIRRORS", [server.url("a"), server.url("b")])
    return {name: array.astype(np.uint8) for name, array in arrays.items()}


def test_fetch_mnist_downloads_once_and_returns_the_documented_layout(
    fake_mnist, server, tmp_path
):
    digits = fetch_mnist(subset="all", data_home=tmp_path)
    assert len(server.requests) == 4
    expected = np.concatenate(
        [
            fake_mnist["train-images-idx3-ubyte.gz"],
            fake_mnist["t10k-images-idx3-ubyte.gz"],
        ]
    )
    assert digits.images.dtype == np.uint8 and digits.images.shape == (10, 28, 28)
    np.testing.assert_array_equal(digits.images, expected)
    np.testing.assert_array_equal(digits.data, expected.reshape(10, 784))
    assert digits.target.dtype == np.uint8 and digits.target.shape == (10,)
    assert sorted(p.name for p in (tmp_path / "mnist").iterdir()) == sorted(fake_mnist)
    # the cache is read from then on
    images, target = fetch_mnist(subset="test", data_home=tmp_path, return_X_y=True)
    assert len(server.requests) == 4
    np.testing.assert_array_equal(images, fake_mnist["t10k-images-idx3-ubyte.gz"])
    np.testing.assert_array_equal(target, fake_mnist["t10k-labels-idx1-ubyte.gz"])


def test_a_file_failing_its_checksum_is_fetched_from_the_next_mirror(
    fake_mnist, server, tmp_path
):
    server.corrupt.add("/a/train-images-idx3-ubyte.gz")
    images, _ = fetch_mnist(data_home=tmp_path, return_X_y=True)
    np.testing.assert_array_equal(images, fake_mnist["train-images-idx3-ubyte.gz"])
    assert "/b/train-images-idx3-ubyte.gz" in server.requests


def test_a_checksum_failure_on_every_mirror_raises_and_keeps_nothing(
    fake_mnist, server, tmp_path
):
    server.corrupt |= {"/a/train-images-idx3-ubyte.gz", "/b/train-images-idx3-ubyte.gz"}
    with pytest.raises(OSError, match="could not download train-images.*hash"):
        fetch_mnist(data_home=tmp_path)
    assert not (tmp_path / "mnist" / "train-images-idx3-ubyte.gz").exists()
    assert [p.name for p in (tmp_path / "mnist").iterdir()] == []  # no partial file


def test_a_download_cut_short_leaves_nothing_and_the_next_call_recovers(
    fake_mnist, server, monkeypatch, tmp_path
):
    monkeypatch.setattr(_mnist, "MIRRORS", [server.url("a")])
    server.cut_short.add("/a/train-labels-idx1-ubyte.gz")
    with pytest.raises(OSError, match="could not download train-labels"):
        fetch_mnist(data_home=tmp_path)
    assert sorted(p.name for p in (tmp_path / "mnist").iterdir()) == [
        "train-images-idx3-ubyte.gz"
    ]
    _, target = fetch_mnist(data_home=tmp_path, return_X_y=True)
    np.testing.assert_array_equal(target, fake_mnist["train-labels-idx1-ubyte.gz"])


def test_a_truncated_file_in_the_cache_is_downloaded_again(
    fake_mnist, server, tmp_path
):
    folder = tmp_path / "mnist"
    folder.mkdir()
    served = server.files["/a/train-images-idx3-ubyte.gz"]
    (folder / "train-images-idx3-ubyte.gz").write_bytes(served[: len(served) // 3])
    images, _ = fetch_mnist(data_home=tmp_path, return_X_y=True)
    np.testing.assert_array_equal(images, fake_mnist["train-images-idx3-ubyte.gz"])


def test_offline_machines_are_told_where_to_place_the_files(
    fake_mnist, server, monkeypatch, tmp_path
):
    # nothing listens on the server's port once it is closed
    url = server.url("a")
    server.shutdown()
    server.server_close()
    monkeypatch.setattr(_mnist, "MIRRORS", [url])
    folder = tmp_path / "mnist"
    with pytest.raises(OSError, match="place the files by hand") as error:
        fetch_mnist(data_home=tmp_path)
    assert str(folder) in str(error.value)
    assert f"{url}train-images-idx3-ubyte.gz" in str(error.value)
    assert "download_if_missing=False" in str(error.value)


def test_files_in_place_are_read_without_pooch(fake_mnist, tmp_path, monkeypatch):
    fetch_mnist(data_home=tmp_path)  # downloads them
    monkeypatch.setitem(sys.modules, "pooch", None)  # as if not installed
    images, _ = fetch_mnist(data_home=tmp_path, return_X_y=True)
    assert images.shape == (6, 28, 28)


def test_an_unwritable_data_home_is_named_once(
    fake_mnist, server, tmp_path, monkeypatch
):
    folder = tmp_path / "mnist"
    folder.mkdir()
    folder.chmod(0o500)
    if os.access(folder, os.W_OK):  # root writes anywhere: the check is injected
        monkeypatch.setattr(_download.os, "access", lambda path, mode: False)
    try:
        with pytest.raises(PermissionError, match="cannot be written") as error:
            fetch_mnist(data_home=tmp_path)
    finally:
        folder.chmod(0o700)
    message = str(error.value)
    assert message.count(str(folder)) == 1 and "copy them into" not in message
    assert server.requests == []


def test_download_if_missing_false_never_downloads(fake_mnist, server, tmp_path):
    with pytest.raises(OSError, match="missing and download_if_missing=False"):
        fetch_mnist(data_home=tmp_path, download_if_missing=False)
    assert server.requests == []
    fetch_mnist(data_home=tmp_path)
    served = len(server.requests)
    images, _ = fetch_mnist(
        data_home=tmp_path, download_if_missing=False, return_X_y=True
    )
    assert len(server.requests) == served and images.shape == (6, 28, 28)
    # a file altered by hand is named, with both checksums
    (tmp_path / "mnist" / "train-labels-idx1-ubyte.gz").write_bytes(b"not mnist")
    with pytest.raises(OSError, match="train-labels-idx1-ubyte.gz has SHA-256"):
        fetch_mnist(data_home=tmp_path, download_if_missing=False)


def test_the_data_home_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SK_DIM_DATA", str(tmp_path / "from_env"))
    assert get_data_home() == tmp_path / "from_env"
    assert (tmp_path / "from_env").is_dir()
    assert get_data_home(tmp_path / "given") == tmp_path / "given"


def test_coloured_mnist_colours_each_digit_and_its_background(fake_mnist, tmp_path):
    images, target = fetch_coloured_mnist(data_home=tmp_path, return_X_y=True)
    assert images.shape == (6, 28, 28, 3) and images.dtype == np.uint8
    np.testing.assert_array_equal(target, fake_mnist["train-labels-idx1-ubyte.gz"])
    grey = fake_mnist["train-images-idx3-ubyte.gz"]
    for image, ink in zip(images, grey, strict=True):
        background = image[ink == 0]
        assert (background == background[0]).all()  # one colour where there is no ink
    again = fetch_coloured_mnist(data_home=tmp_path, random_state=0).images
    other = fetch_coloured_mnist(data_home=tmp_path, random_state=1).images
    np.testing.assert_array_equal(images, again)
    assert not np.array_equal(images, other)


@pytest.fixture
def fake_cifar(server, monkeypatch):
    rng = np.random.default_rng(0)
    batches = {
        name: {
            b"data": rng.integers(0, 256, (3, 3072), dtype=np.uint8),
            b"labels": list(rng.integers(0, 10, 3)),
        }
        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    }
    names = [b"airplane", b"automobile", b"bird", b"cat", b"deer"]
    names += [b"dog", b"frog", b"horse", b"ship", b"truck"]
    archive = cifar_archive(batches, names)
    server.files["/kriz/cifar-10-python.tar.gz"] = archive
    monkeypatch.setattr(_cifar10, "MIRRORS", [server.url("kriz")])
    monkeypatch.setattr(
        _cifar10, "ARCHIVE", RemoteFile("cifar-10-python.tar.gz", sha256(archive))
    )
    return batches


def test_fetch_cifar10_reads_the_batches_channels_last(fake_cifar, server, tmp_path):
    cifar = fetch_cifar10(data_home=tmp_path)
    assert cifar.images.shape == (15, 32, 32, 3) and cifar.images.dtype == np.uint8
    first = fake_cifar["data_batch_1"][b"data"][0]
    # the pickles hold the red plane, then the green, then the blue
    np.testing.assert_array_equal(
        cifar.images[0, :, :, 0], first[:1024].reshape(32, 32)
    )
    np.testing.assert_array_equal(
        cifar.images[0, :, :, 2], first[2048:].reshape(32, 32)
    )
    assert cifar.target.dtype == np.uint8
    assert list(cifar.target[:3]) == fake_cifar["data_batch_1"][b"labels"]
    assert cifar.target_names[0] == "airplane" and len(cifar.target_names) == 10
    images, target = fetch_cifar10(subset="all", data_home=tmp_path, return_X_y=True)
    assert images.shape == (18, 32, 32, 3)
    assert list(target[-3:]) == fake_cifar["test_batch"][b"labels"]
    assert len(server.requests) == 1  # downloaded once


def test_fetch_parameters_are_validated(tmp_path):
    with pytest.raises(InvalidParameterError, match="subset"):
        fetch_mnist(subset="validation", data_home=tmp_path)
    with pytest.raises(InvalidParameterError, match="download_if_missing"):
        fetch_cifar10(download_if_missing="no", data_home=tmp_path)
