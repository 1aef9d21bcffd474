"""Out-of-core input: memmaps, array-likes with slicing, torch Datasets, DataLoaders."""

import threading

import numpy as np
import pytest
import torch
from sklearn.utils._param_validation import InvalidParameterError
from torch.utils.data import (
    DataLoader,
    IterableDataset,
    SubsetRandomSampler,
    TensorDataset,
)

from sk_dim import DeepInfoMaxTransformer, MutualInformationMachine, TwoViewInfoMax
from sk_dim._input.streaming import ArrayStore, StreamedData, is_out_of_core
from sk_dim._training.batches import StreamedBatches
from sk_dim.nn.views import SplitColumns

SMALL = {
    DeepInfoMaxTransformer: {"n_components": 4, "critic_width": 16},
    MutualInformationMachine: {"n_components": 3, "hidden_layer_sizes": (16,)},
    TwoViewInfoMax: {
        "n_components": 3,
        "hidden_layer_sizes": (16,),
        "views": SplitColumns(),
    },
}


def make(estimator, **params):
    return estimator(
        **{**SMALL[estimator], "max_epochs": 2, "random_state": 0, **params}
    )


@pytest.fixture
def rows():
    return np.random.default_rng(0).normal(size=(600, 12)).astype(np.float32)


def as_memmap(array, folder):
    path = folder / "data.dat"
    written = np.memmap(path, dtype=array.dtype, mode="w+", shape=array.shape)
    written[:] = array
    written.flush()
    return np.memmap(path, dtype=array.dtype, mode="r", shape=array.shape)


class RecordingArray:
    """An array-like with shape and slicing that records the rows of each read."""

    def __init__(self, array):
        self.array = array
        self.shape = array.shape
        self.dtype = array.dtype
        self.reads = []

    def __getitem__(self, rows):
        assert isinstance(rows, slice), "only slices are read"
        values = self.array[rows]
        self.reads.append(len(values))
        return values


@pytest.mark.parametrize("estimator", list(SMALL))
@pytest.mark.parametrize("early_stopping", [False, True])
def test_a_memmap_in_one_chunk_fits_as_the_array_does(
    estimator, early_stopping, rows, tmp_path
):
    memmap = as_memmap(rows, tmp_path)
    in_memory = make(estimator, early_stopping=early_stopping).fit(rows)
    streamed = make(estimator, early_stopping=early_stopping).fit(memmap)
    assert streamed.loss_curve_ == in_memory.loss_curve_
    np.testing.assert_array_equal(streamed.transform(memmap), in_memory.transform(rows))
    assert streamed.score(memmap) == pytest.approx(in_memory.score(rows))


@pytest.mark.parametrize("estimator", list(SMALL))
def test_data_larger_than_the_chunk_is_read_a_chunk_at_a_time(
    estimator, rows, tmp_path
):
    recorded = RecordingArray(as_memmap(rows, tmp_path))  # 600 rows, chunks of 64
    model = make(estimator, chunk_size=64, early_stopping=True).fit(recorded)
    assert max(recorded.reads) <= 64
    assert sum(recorded.reads) >= 2 * len(rows)  # the sample and two epochs
    assert len(model.loss_curve_) == 2
    assert np.isfinite(model.loss_curve_).all()
    recorded.reads.clear()
    codes = model.transform(recorded)
    assert max(recorded.reads) <= 64
    # the batches of streamed data are those of the array, whatever the chunks
    np.testing.assert_array_equal(codes, model.transform(rows))
    assert model.score(recorded) == pytest.approx(model.score(rows))


def test_streamed_training_uses_every_row_once_per_epoch():
    values = torch.arange(1000).reshape(-1, 1)
    data = StreamedData(ArrayStore(values.numpy()), chunk_rows=96)
    data = data.with_converter(torch.from_numpy)
    batches = StreamedBatches(
        data, 64, shuffle=True, generator=torch.Generator().manual_seed(0)
    )
    seen = torch.cat([batch for batch, _ in batches]).flatten()
    assert len(batches) == len(seen) // 64 == 15
    assert len(set(seen.tolist())) == len(seen) == 960  # no row twice
    assert not torch.equal(seen, torch.sort(seen).values)  # shuffled


def test_the_next_chunk_is_read_in_the_background_while_this_one_trains():
    reads, second_read = [], threading.Event()

    class LoggingStore(ArrayStore):
        def take(self, rows, chunk_rows):
            reads.append(threading.current_thread().name)
            if len(reads) == 2:
                second_read.set()
            return super().take(rows, chunk_rows)

    data = StreamedData(LoggingStore(np.zeros((256, 2), np.float32)), chunk_rows=64)
    batches = iter(StreamedBatches(data.with_converter(torch.from_numpy), 32))
    next(batches)  # a batch of the first chunk, in use
    assert second_read.wait(timeout=30)  # meanwhile the second chunk is read
    assert len(list(batches)) == 7
    assert len(reads) == 4
    assert all(name.startswith("sk_dim-read") for name in reads)


def test_scaling_is_learnt_from_a_sample_of_the_chunk_size(rows):
    shifted = rows + 5.0
    model = make(DeepInfoMaxTransformer, chunk_size=300).fit(RecordingArray(shifted))
    offset = model.net_.module_.encoder.standardize.offset.numpy()
    assert offset == pytest.approx(shifted.mean(axis=0), abs=0.15)
    assert not np.allclose(offset, shifted.mean(axis=0), atol=1e-6)  # a sample


def hdf5_dataset(rows, folder):
    h5py = pytest.importorskip("h5py")
    with h5py.File(folder / "data.h5", "w") as file:
        file["x"] = rows
    return h5py.File(folder / "data.h5", "r")["x"]


def zarr_array(rows, folder):
    zarr = pytest.importorskip("zarr")
    array = zarr.open_array(  # zarr 2 and 3 alike
        store=str(folder / "data.zarr"), mode="w", shape=rows.shape, dtype=rows.dtype
    )
    array[:] = rows
    return array


def dask_array(rows, folder):
    dask_array_module = pytest.importorskip("dask.array")
    return dask_array_module.from_array(rows, chunks=100)


@pytest.mark.parametrize("store", [hdf5_dataset, zarr_array, dask_array])
def test_hdf5_zarr_and_dask_arrays(store, rows, tmp_path):
    array = store(rows, tmp_path)
    model = make(DeepInfoMaxTransformer, chunk_size=128).fit(array)
    np.testing.assert_array_equal(model.transform(array), model.transform(rows))


def test_torch_dataset_of_pairs_and_dataloader(rows):
    labels = torch.zeros(len(rows))
    dataset = TensorDataset(torch.from_numpy(rows), labels)
    model = make(DeepInfoMaxTransformer, chunk_size=128).fit(dataset)
    np.testing.assert_array_equal(model.transform(dataset), model.transform(rows))
    loader = DataLoader(dataset, batch_size=50, shuffle=True)
    from_loader = make(DeepInfoMaxTransformer, chunk_size=128).fit(loader)
    assert len(from_loader.loss_curve_) == 2
    with pytest.warns(UserWarning, match="shuffles its rows"):
        assert from_loader.transform(loader).shape == (len(rows), 4)


def test_transform_of_a_dataloader_gives_exactly_the_rows_it_yields(rows):
    model = make(DeepInfoMaxTransformer).fit(rows)
    dataset = TensorDataset(torch.from_numpy(rows))
    twice = [row for row in range(len(rows)) for _ in range(2)]
    cases = [
        (DataLoader(dataset, batch_size=50, sampler=range(0, 600, 2)), rows[::2]),
        (DataLoader(dataset, batch_size=64, drop_last=True), rows[:576]),
        (DataLoader(dataset, batch_size=50, sampler=twice), np.repeat(rows, 2, 0)),
    ]
    for loader, expected in cases:
        codes = model.transform(loader)
        np.testing.assert_array_equal(codes, model.transform(expected))
    random_half = SubsetRandomSampler(range(300))
    shuffled = DataLoader(dataset, batch_size=50, sampler=random_half)
    with pytest.warns(UserWarning, match="cannot be matched to the rows"):
        assert model.transform(shuffled).shape == (300, 4)


def test_fit_on_a_dataloader_schedules_the_batches_it_draws(rows):
    half = DataLoader(
        TensorDataset(torch.from_numpy(rows)), batch_size=50, sampler=range(0, 600, 2)
    )
    model = make(DeepInfoMaxTransformer, batch_size=32, lr_schedule="cosine")
    model.fit(half)  # 300 rows: 9 steps an epoch, not the dataset's 18
    assert [epoch["train_batch_count"] for epoch in model.net_.history] == [9, 9]
    assert model.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(0, abs=1e-12)


def test_dataloader_limits_are_explained(rows):
    loader = DataLoader(TensorDataset(torch.from_numpy(rows)), batch_size=50)
    with pytest.raises(ValueError, match="DataLoader cannot be indexed"):
        make(DeepInfoMaxTransformer, early_stopping=True).fit(loader)

    class Stream(IterableDataset):
        def __iter__(self):
            return iter(torch.from_numpy(rows))

    with pytest.raises(TypeError, match="without a length"):
        make(DeepInfoMaxTransformer).fit(DataLoader(Stream(), batch_size=50))


def test_bad_rows_outside_the_sample_are_refused_and_nothing_is_lost(rows, tmp_path):
    model = make(DeepInfoMaxTransformer).fit(rows)
    state = {name: value for name, value in vars(model).items()}
    bad = rows.copy()
    bad[-1, 3] = np.nan
    recorded = RecordingArray(bad)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        model.set_params(chunk_size=100).fit(recorded)
    assert vars(model).keys() == state.keys()
    assert model.net_ is state["net_"] and model.loss_curve_ == state["loss_curve_"]
    with pytest.raises(ValueError, match="Input X contains NaN"):
        model.transform(recorded)
    with pytest.raises(ValueError, match="X has 11 features, but"):
        model.transform(as_memmap(rows[:, :11].copy(), tmp_path))


def test_bernoulli_range_is_checked_in_every_chunk(tmp_path):
    binary = (np.random.default_rng(0).random((400, 10)) > 0.5).astype(np.float32)
    binary[-1, 0] = 3.0
    memmap = as_memmap(binary, tmp_path)
    model = make(MutualInformationMachine, likelihood="bernoulli", chunk_size=100)
    with pytest.raises(ValueError, match="needs X in \\[0, 1\\]"):
        model.fit(memmap)


def test_partial_fit_on_chunks_of_a_memmap(rows, tmp_path):
    memmap = as_memmap(rows, tmp_path)
    model = make(DeepInfoMaxTransformer)
    for start in range(0, len(memmap), 200):
        model.partial_fit(memmap[start : start + 200])
    assert model.n_iter_ == 3
    assert model.transform(memmap).shape == (len(rows), 4)


def test_two_views_out_of_core_need_a_views_function(rows, tmp_path):
    memmap = as_memmap(rows, tmp_path)
    model = make(TwoViewInfoMax, views=None)
    with pytest.raises(ValueError, match="through a views function"):
        model.fit(memmap, rows)


def test_which_inputs_are_read_in_chunks(rows, tmp_path):
    assert is_out_of_core(as_memmap(rows, tmp_path))
    assert is_out_of_core(RecordingArray(rows))
    assert is_out_of_core(TensorDataset(torch.from_numpy(rows)))
    assert not is_out_of_core(rows)
    assert not is_out_of_core(torch.from_numpy(rows))
    assert not is_out_of_core(rows.tolist())


def test_chunk_size_is_validated(rows):
    with pytest.raises(InvalidParameterError, match="chunk_size"):
        make(DeepInfoMaxTransformer, chunk_size=0).fit(rows)
