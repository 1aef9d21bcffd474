"""Mini-batches of a data tensor or of streamed data, and where the data lives."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np
import torch

from .runtime import free_memory

#: Largest share of the free memory of a GPU that the training data may take
#: there; the rest is left to the networks, activations and optimizer state.
DEVICE_DATA_SHARE = 0.25


def inference_batch_size(device: torch.device | str) -> int:
    """Rows per forward pass of ``transform`` on ``device``.

    1024 on CUDA, where larger batches keep the GPU busy. 256 on the CPU:
    there, tensors above glibc's 32 MB mmap threshold are mapped afresh at
    every allocation, and the page faults of a batch of 1024 images made
    inference about 20% slower than batches of 256.
    """
    return 1024 if torch.device(device).type == "cuda" else 256


def to_host(tensors: Iterable[torch.Tensor], n_rows: int) -> np.ndarray:
    """``tensors``, ``n_rows`` rows in all, written one after the other to a
    numpy array on the host.

    Tensors on the CPU are written as they come. Tensors on a CUDA device
    are copied into pinned host memory without waiting, and the device is
    waited for once at the end, so that it never idles while a batch
    travels.
    """
    output, pending, start, cuda_device = None, [], 0, None
    for tensor in tensors:
        if output is None:
            dtype = torch.empty(0, dtype=tensor.dtype).numpy().dtype
            output = np.empty((n_rows, *tensor.shape[1:]), dtype=dtype)
        if start + len(tensor) > n_rows:
            raise ValueError(
                f"The data yielded more than the {n_rows} rows it announced; "
                "pass a DataLoader whose sampler draws as many rows as its "
                "length says, or an array."
            )
        if tensor.device.type == "cuda":
            host = torch.empty(tensor.shape, dtype=tensor.dtype, pin_memory=True)
            host.copy_(tensor, non_blocking=True)
            pending.append((start, host))
            cuda_device = tensor.device
        else:
            output[start : start + len(tensor)] = tensor.numpy()
        start += len(tensor)
    if start != n_rows:  # never memory that no batch wrote
        raise ValueError(
            f"The data yielded {start} rows, not the {n_rows} it announced; "
            "pass a DataLoader whose sampler draws as many rows as its length "
            "says, or an array."
        )
    if cuda_device is not None:
        torch.cuda.synchronize(cuda_device)
        for first, host in pending:
            output[first : first + len(host)] = host.numpy()
    return output


def fits_on_device(
    data_bytes: int, free_bytes: int, share: float = DEVICE_DATA_SHARE
) -> bool:
    """Whether data of ``data_bytes`` may be copied to a device with ``free_bytes``."""
    return data_bytes <= share * free_bytes


def place_on_device(data, device: torch.device | str):
    """The training data, copied whole to a CUDA device when it fits there.

    On a GPU, data that takes at most :data:`DEVICE_DATA_SHARE` of its free
    memory is copied once, so that each step only indexes device memory.
    Larger data stays on the host and :class:`TensorBatches` sends each batch
    through pinned memory. On other devices, and for streamed data, the data
    is returned unchanged.

    Parameters
    ----------
    data : torch.Tensor, StreamedData or LoaderData
        The training samples, on the host.
    device : torch.device or str
        The training device.

    Returns
    -------
    torch.Tensor, StreamedData or LoaderData
        ``data`` on ``device`` or on the host.
    """
    device = torch.device(device)
    if device.type != "cuda" or not isinstance(data, torch.Tensor):
        return data
    free_bytes = free_memory(device)
    if fits_on_device(data.nbytes, free_bytes):
        return data.to(device)
    return data


def send(batch: torch.Tensor, device: torch.device) -> torch.Tensor:
    """``batch`` on ``device``, through pinned memory from the host to a GPU."""
    if device.type == "cuda" and batch.device.type == "cpu":
        return batch.pin_memory().to(device, non_blocking=True)
    return batch.to(device)


class TensorBatches:
    """Mini-batches sliced from one tensor, without per-row collation.

    Batches of host data bound for a CUDA device are copied through pinned
    memory without blocking the host; data already on the device is only
    indexed.

    Parameters
    ----------
    data : torch.Tensor
        The samples along the first axis.
    batch_size : int
        Rows per batch.
    shuffle : bool
        Draw a new permutation each pass; the last incomplete batch is then
        dropped so that every step sees ``batch_size`` samples.
    generator : torch.Generator, optional
        Source of the permutations (a CPU generator).
    device : torch.device or str, default="cpu"
        Where batches are sent.
    """

    def __init__(
        self,
        data: torch.Tensor,
        batch_size: int,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
        device: torch.device | str = "cpu",
    ):
        self.data = data
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator
        self.device = torch.device(device)

    def __len__(self) -> int:
        if self.shuffle:
            return len(self.data) // self.batch_size
        return -(-len(self.data) // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, None]]:
        if self.shuffle:
            order = torch.randperm(len(self.data), generator=self.generator)
            order = order.to(self.data.device)
            for step in range(len(self)):
                rows = order[step * self.batch_size : (step + 1) * self.batch_size]
                yield send(self.data.index_select(0, rows), self.device), None
        else:
            for start in range(0, len(self.data), self.batch_size):
                batch = self.data[start : start + self.batch_size]
                yield send(batch, self.device), None


class StreamedBatches(TensorBatches):
    """Mini-batches of streamed data, read and converted chunk by chunk.

    Each chunk is read in a background thread while the batches of the one
    before are in use (see :func:`prefetched`).

    Shuffled, the chunks come in a random order with their rows permuted
    (see :meth:`~sk_dim._input.streaming.StreamedData.chunks`); the batches are
    consecutive rows across chunk boundaries, the last incomplete one
    dropped as in :class:`TensorBatches`.
    """

    def __iter__(self) -> Iterator[tuple[torch.Tensor, None]]:
        # the next chunk is read while the batches of this one are used
        chunks = prefetched(self.data.chunks(self.shuffle, self.generator))
        for batch in rebatch(chunks, self.batch_size, drop_last=self.shuffle):
            yield send(batch, self.device), None


def make_batches(
    data,
    batch_size: int,
    shuffle: bool = False,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
) -> TensorBatches:
    """:class:`TensorBatches` of a tensor, :class:`StreamedBatches` of streamed data.

    Streamed data is any object with a ``chunks(shuffle, generator)``
    method yielding tensors, as the streamed sources of
    :mod:`sk_dim._input.streaming` have.
    """
    batches = StreamedBatches if hasattr(data, "chunks") else TensorBatches
    return batches(data, batch_size, shuffle, generator, device)


T = TypeVar("T")


def prefetched(items: Iterator[T]) -> Iterator[T]:
    """``items``, each produced in a background thread while the previous one is used.

    Reading and validating the next chunk of streamed data then overlaps the
    training steps on the current one, which release the GIL in torch. An
    error of the thread is raised where its item would have come.
    """
    end = object()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sk_dim-read") as pool:
        pending = pool.submit(next, items, end)
        while (item := pending.result()) is not end:
            pending = pool.submit(next, items, end)
            yield item


def rebatch(
    chunks: Iterator[torch.Tensor], batch_size: int, drop_last: bool
) -> Iterator[torch.Tensor]:
    """Consecutive batches of ``batch_size`` rows across chunk boundaries.

    The batches are those of the concatenated chunks, whatever their sizes;
    the last, shorter batch is dropped with ``drop_last``.
    """
    carry: torch.Tensor | None = None
    for chunk in chunks:
        if carry is not None:
            chunk = torch.cat([carry, chunk])
        n_full = len(chunk) // batch_size * batch_size
        for start in range(0, n_full, batch_size):
            yield chunk[start : start + batch_size]
        carry = chunk[n_full:] if n_full < len(chunk) else None
    if carry is not None and not drop_last:
        yield carry
