"""Data read in chunks: memmaps, HDF5 or zarr arrays, torch Datasets and DataLoaders.

Out-of-core data is never loaded whole. A :class:`StreamedData` reads at
most ``chunk_rows`` rows at a time from its store; training shuffles the
order of the chunks and the rows within each chunk, and every chunk is
validated and converted as it is read. The input scaling is learnt from a
random sample of ``chunk_rows`` rows, which is all the rows when the data
fits in one chunk; fits of such data are then the same as fits of the data
in memory.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator

import numpy as np
import torch
from scipy import sparse
from torch.utils.data import (
    BatchSampler,
    DataLoader,
    Dataset,
    RandomSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)

#: Bytes of one chunk when ``chunk_size=None``.
DEFAULT_CHUNK_BYTES = 256 * 2**20


def is_out_of_core(X) -> bool:
    """Whether X is read in chunks rather than loaded whole.

    True for numpy memmaps, torch Datasets and DataLoaders, and for arrays
    that are not numpy arrays but have ``shape``, ``dtype`` and slicing
    (HDF5 datasets of h5py, zarr arrays, dask arrays); False for numpy
    arrays, tensors, sparse matrices, data frames and lists.
    """
    if isinstance(X, np.memmap | Dataset | DataLoader):
        return True
    if isinstance(X, np.ndarray | torch.Tensor) or sparse.issparse(X):
        return False
    return all(hasattr(X, name) for name in ("shape", "dtype", "__getitem__"))


def _as_array(item) -> np.ndarray:
    """A sample or batch of a Dataset or DataLoader as an array (inputs of pairs)."""
    if isinstance(item, tuple | list):
        item = item[0]  # (inputs, target) pairs: the inputs
    if isinstance(item, torch.Tensor):
        return item.detach().cpu().numpy()
    return np.asarray(item)


class ArrayStore:
    """Rows of an array-like with ``shape`` and slicing (memmap, HDF5, zarr)."""

    def __init__(self, array):
        self.array = array
        self.n_rows = int(array.shape[0])
        self.sample_shape = tuple(int(size) for size in array.shape[1:])
        self.dtype = np.dtype(array.dtype)

    def take(self, rows: np.ndarray, chunk_rows: int) -> np.ndarray:
        """Rows ``rows`` (increasing), read by slices of at most ``chunk_rows``."""
        parts, start = [], 0
        while start < len(rows):
            first = rows[start]
            stop = start + int(np.searchsorted(rows[start:], first + chunk_rows))
            window = np.asarray(self.array[first : rows[stop - 1] + 1])
            parts.append(window[rows[start:stop] - first])
            start = stop
        if not parts:
            return np.empty((0, *self.sample_shape), self.dtype)
        return np.concatenate(parts) if len(parts) > 1 else parts[0]


class DatasetStore:
    """Samples of a map-style torch Dataset, stacked into arrays."""

    def __init__(self, dataset: Dataset):
        self.dataset = dataset
        self.n_rows = len(dataset)
        first = _as_array(dataset[0]) if self.n_rows else np.empty(0)
        self.sample_shape = first.shape
        self.dtype = first.dtype

    def take(self, rows: np.ndarray, chunk_rows: int) -> np.ndarray:
        """Samples ``rows``, one ``__getitem__`` each."""
        if len(rows) == 0:
            return np.empty((0, *self.sample_shape), self.dtype)
        return np.stack([_as_array(self.dataset[int(row)]) for row in rows])


class StreamedData:
    """Out-of-core rows of a store, or of a subset of them, read chunk by chunk.

    Parameters
    ----------
    store : ArrayStore or DatasetStore
        Where the rows are.
    chunk_rows : int, default=1024
        Most rows read at a time.
    rows : ndarray of int, optional
        The store's rows that make this data, increasing; all when None.
    sample : tuple of (ndarray, ndarray), optional
        Rows already read, and their positions in ``rows``.
    """

    def __init__(self, store, chunk_rows: int = 1024, rows=None, sample=None):
        self.store = store
        self.chunk_rows = chunk_rows
        self.rows = np.arange(store.n_rows) if rows is None else rows
        self._sampled = sample
        self.convert: Callable[[np.ndarray], torch.Tensor] | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.rows), *self.store.sample_shape)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def dtype(self) -> np.dtype:
        return self.store.dtype

    def __len__(self) -> int:
        return len(self.rows)

    def read(self, positions: np.ndarray) -> np.ndarray:
        """The rows at ``positions`` (increasing) of this data."""
        return self.store.take(self.rows[positions], self.chunk_rows)

    def sample(self, random_state: np.random.RandomState) -> np.ndarray:
        """Up to ``chunk_rows`` random rows (all, in order, when there are fewer).

        The input scaling is learnt from them; a subset keeps the rows of
        its parent's sample that it holds.
        """
        if self._sampled is None:
            n_rows = len(self)
            if n_rows <= self.chunk_rows:
                positions = np.arange(n_rows)
            else:
                positions = np.sort(
                    random_state.choice(n_rows, self.chunk_rows, replace=False)
                )
            self._sampled = self.read(positions), positions
        return self._sampled[0]

    def subset(self, positions: np.ndarray) -> StreamedData:
        """The data of the rows at ``positions`` (increasing)."""
        sample = None
        if self._sampled is not None:
            values, sampled = self._sampled
            kept = np.isin(sampled, positions)
            sample = values[kept], np.searchsorted(positions, sampled[kept])
        return StreamedData(self.store, self.chunk_rows, self.rows[positions], sample)

    def with_converter(
        self, convert: Callable[[np.ndarray], torch.Tensor]
    ) -> StreamedData:
        """The same rows, each chunk validated and made a tensor by ``convert``."""
        streamed = copy.copy(self)
        streamed.convert = convert
        return streamed

    def chunks(
        self, shuffle: bool, generator: torch.Generator | None = None
    ) -> Iterator[torch.Tensor]:
        """The rows as converted chunks; shuffled, the chunks and their rows.

        One chunk of data that fits in it is permuted as the in-memory
        batches are, with one ``randperm`` of ``generator``.
        """
        n_rows = len(self)
        starts = np.arange(0, n_rows, self.chunk_rows)
        if shuffle and len(starts) > 1:
            starts = starts[torch.randperm(len(starts), generator=generator).numpy()]
        for start in starts:
            positions = np.arange(start, min(start + self.chunk_rows, n_rows))
            chunk = self.convert(self.read(positions))
            if shuffle:
                chunk = chunk[torch.randperm(len(chunk), generator=generator)]
            yield chunk


class LoaderData:
    """Batches of a torch DataLoader, iterated as they come.

    The loader decides the order (``shuffle=True`` in it for training); its
    batches are regrouped into the estimator's ``batch_size``. A DataLoader
    cannot be indexed, so it has no subsets: ``early_stopping`` needs an
    array or a Dataset.

    Parameters
    ----------
    loader : torch.utils.data.DataLoader
        Over a dataset with a length.
    chunk_rows : int, default=1024
        Rows of the sample that the scaling is learnt from: the first ones.
    """

    def __init__(self, loader: DataLoader, chunk_rows: int = 1024):
        try:
            len(loader.dataset)
        except TypeError:
            raise TypeError(
                "X is a DataLoader over a dataset without a length (an "
                "IterableDataset); pass a map-style Dataset, an array or a memmap."
            ) from None
        self.n_rows = rows_per_pass(loader)
        self.loader = loader
        self.chunk_rows = chunk_rows
        self._sampled: np.ndarray | None = None
        self.convert: Callable[[np.ndarray], torch.Tensor] | None = None
        first = next(iter(loader), None)
        first = _as_array(first) if first is not None else np.empty((0,), np.float32)
        self.sample_shape = first.shape[1:]
        self.dtype = first.dtype

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.n_rows, *self.sample_shape)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __len__(self) -> int:
        return self.n_rows

    @property
    def shuffles(self) -> bool:
        """Whether the loader draws its rows in a random order."""
        batch_sampler = self.loader.batch_sampler
        sampler = getattr(batch_sampler, "sampler", self.loader.sampler)
        random = (RandomSampler, SubsetRandomSampler, WeightedRandomSampler)
        return isinstance(sampler, random) or bool(getattr(sampler, "shuffle", False))

    def sample(self, random_state=None) -> np.ndarray:
        """The first ``chunk_rows`` rows the loader gives."""
        if self._sampled is None:
            parts, n_read = [], 0
            for batch in self.loader:
                parts.append(_as_array(batch))
                n_read += len(parts[-1])
                if n_read >= self.chunk_rows:
                    break
            self._sampled = np.concatenate(parts)[: self.chunk_rows]
        return self._sampled

    def subset(self, positions: np.ndarray):
        raise ValueError(
            "early_stopping holds out rows of X, but a DataLoader cannot be "
            "indexed; pass its Dataset (or an array or memmap) instead."
        )

    def with_converter(self, convert: Callable[[np.ndarray], torch.Tensor]):
        """The same loader, each batch validated and made a tensor by ``convert``."""
        streamed = copy.copy(self)
        streamed.convert = convert
        return streamed

    def chunks(self, shuffle: bool, generator=None) -> Iterator[torch.Tensor]:
        """The loader's batches, converted; the loader shuffles them or not."""
        for batch in self.loader:
            yield self.convert(_as_array(batch))


def rows_per_pass(loader: DataLoader) -> int:
    """The rows that one pass over ``loader`` yields, as its sampler draws them.

    Not ``len(loader.dataset)``: a sampler may draw a subset of the rows, or
    some rows more than once, and ``drop_last`` leaves out the last short
    batch.
    """
    batch_sampler = loader.batch_sampler
    if batch_sampler is None:  # batch_size=None: each item is one row
        return len(loader.sampler)
    if isinstance(batch_sampler, BatchSampler):
        drawn = len(batch_sampler.sampler)
        if batch_sampler.drop_last:
            return drawn - drawn % batch_sampler.batch_size
        return drawn
    return sum(len(batch) for batch in batch_sampler)  # a batch sampler of its own


def streamed(X, chunk_size: int | None) -> StreamedData | LoaderData:
    """Out-of-core X read in chunks of ``chunk_size`` rows (None: about 256 MB)."""
    if isinstance(X, DataLoader):
        data = LoaderData(X)
    else:
        store = DatasetStore(X) if isinstance(X, Dataset) else ArrayStore(X)
        data = StreamedData(store)
    if chunk_size is None:
        row_bytes = int(np.prod(data.shape[1:])) * data.dtype.itemsize
        chunk_size = max(1, DEFAULT_CHUNK_BYTES // max(1, row_bytes))
    data.chunk_rows = chunk_size
    return data
