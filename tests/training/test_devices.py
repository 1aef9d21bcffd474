"""Moving fitted models between devices, and loading GPU pickles without a GPU."""

import io
import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from skorch.exceptions import DeviceWarning
from torch import nn

from sk_dim import DeepInfoMaxTransformer
from sk_dim._training.batches import TensorBatches, place_on_device
from sk_dim.nn.photo import PhotoAugmentation

from .._cuda import needs_cuda


class TensorFinder(pickle.Pickler):
    """A pickler that records every tensor and module it is asked to write."""

    def __init__(self, file):
        super().__init__(file)
        self.found = []

    def persistent_id(self, obj):
        if isinstance(obj, (torch.Tensor, nn.Module)):
            self.found.append(type(obj).__name__)
        return None


def test_every_tensor_is_pickled_through_the_device_aware_path(digits, tiny):
    """skorch maps the tensors of its own blob to the CPU when CUDA is missing;
    a tensor pickled anywhere else would fail to load on a CPU-only machine."""
    X, _ = digits
    dim = tiny(gamma=0.5, alpha=0.5).fit(X)
    finder = TensorFinder(io.BytesIO())
    finder.dump(dim)
    assert finder.found == []
    restored = pickle.loads(pickle.dumps(dim))
    assert restored.net_.module is restored.net_.module_


def test_a_gpu_model_loads_and_transforms_on_a_cpu_only_machine(digits, tiny):
    if torch.cuda.is_available():
        pytest.skip("simulates a machine without CUDA")
    X, _ = digits
    dim = tiny().fit(X)
    expected = dim.transform(X)
    dim.net_.device = "cuda"  # what a fit on a GPU records
    dim.device_ = torch.device("cuda")
    payload = pickle.dumps(dim)
    with pytest.warns(DeviceWarning) as record:
        restored = pickle.loads(payload)
    assert any("no CUDA devices" in str(w.message) for w in record)
    assert torch.device(restored.net_.device).type == "cpu"
    assert restored.device_ == torch.device("cuda")
    np.testing.assert_array_equal(restored.transform(X), expected)


def test_a_gpu_model_on_a_cpu_only_machine_trains_there(digits, tiny, tmp_path):
    """A model fitted on a GPU, unpickled or loaded without one, trains on the CPU."""
    if torch.cuda.is_available():
        pytest.skip("simulates a machine without CUDA")
    X, _ = digits
    dim = tiny(gamma=0.5).fit(X)
    dim.device_ = torch.device("cuda")  # what a fit on a GPU records
    dim.partial_fit(X)
    assert dim.device_ == torch.device("cpu") and dim.n_iter_ == 2
    folder = dim.save(tmp_path / "model")
    config = folder / "config.json"
    config.write_text(
        config.read_text().replace('"device": "cpu"', '"device": "cuda:0"')
    )
    loaded = DeepInfoMaxTransformer.load(folder, device="cpu")
    assert loaded.device_ == torch.device("cuda:0")
    loaded.partial_fit(X)
    assert loaded.device_ == torch.device("cpu") and loaded.n_iter_ == 3


def test_to_moves_the_optimiser_state_and_device(digits, tiny):
    X, _ = digits
    dim = tiny(gamma=0.5).fit(X)
    dim.device_ = torch.device("cuda")  # as if fitted on a GPU
    dim.to("cpu")
    assert dim.device_ == torch.device("cpu")
    for optimizer in (dim.net_.optimizer_, dim.net_.optimizer_adversary_):
        for state in optimizer.state.values():
            assert all(value.device.type == "cpu" for value in state.values())
    before = {
        k: v.clone() for k, v in dim.net_.optimizer_.state_dict()["state"][0].items()
    }
    dim.partial_fit(X)
    after = dim.net_.optimizer_.state_dict()["state"][0]
    assert after["step"] > before["step"]  # Adam went on from its state


def test_to_moves_the_networks(digits, tiny):
    X, _ = digits
    dim = tiny(gamma=0.5).fit(X)
    expected = dim.transform(X)
    assert dim.to("cpu") is dim
    assert dim.net_.device == torch.device("cpu")
    assert all(p.device.type == "cpu" for p in dim.net_.module_.parameters())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(dim.transform(X), expected)
    with pytest.raises(ValueError, match="device must be 'auto' or a torch device"):
        dim.to("gpu-please")
    with pytest.raises(NotFittedError):
        DeepInfoMaxTransformer().to("cpu")


@needs_cuda
def test_training_data_and_batches_reach_the_gpu():
    data = torch.arange(12.0).reshape(6, 2)
    placed = place_on_device(data, "cuda")
    assert placed.device.type == "cuda"
    for source in (data, placed):
        batches = [b for b, _ in TensorBatches(source, 4, device="cuda")]
        assert all(batch.device.type == "cuda" for batch in batches)
        assert torch.equal(torch.cat(batches).cpu(), data)


@needs_cuda
def test_a_gpu_fit_transforms_on_the_cpu_after_to(small_images, tiny):
    benchmark = torch.backends.cudnn.benchmark
    dim = tiny(device="cuda", batch_size=20).fit(small_images)
    assert torch.backends.cudnn.benchmark == benchmark
    on_gpu = dim.transform(small_images)
    on_cpu = dim.to("cpu").transform(small_images)
    np.testing.assert_allclose(on_cpu, on_gpu, atol=0.05 * np.abs(on_gpu).max())


@needs_cuda
@pytest.mark.parametrize("precision", ["auto", "32", "bf16", "16-mixed"])
def test_every_precision_trains_on_the_gpu(small_images, tiny, precision):
    dim = tiny(device="cuda", batch_size=20, precision=precision).fit(small_images)
    expected = "bf16" if torch.cuda.is_bf16_supported() else "32"
    assert dim.precision_ == (expected if precision == "auto" else precision)
    assert np.isfinite(dim.loss_curve_).all()
    codes = dim.transform(small_images)
    assert codes.dtype == np.float32 and np.isfinite(codes).all()
    # transform computes in float32 (cuDNN's TF32 convolutions): the CPU agrees
    np.testing.assert_allclose(
        dim.to("cpu").transform(small_images), codes, atol=1e-2 * np.abs(codes).max()
    )


@needs_cuda
def test_photo_views_are_drawn_on_the_gpu():
    images = torch.rand(64, 3, 32, 32, device="cuda") * 255
    torch.manual_seed(0)
    views = PhotoAugmentation()(images)
    assert views.device.type == "cuda" and views.shape == images.shape
    assert views.min() >= images.min() and views.max() <= images.max()


@needs_cuda
def test_max_time_ends_a_gpu_fit(small_images, tiny):
    dim = tiny(device="cuda", batch_size=20, max_epochs=10**6, max_time=2.0)
    dim.fit(small_images)
    assert 1 <= dim.n_iter_ < 10**6


def test_a_gpu_index_this_machine_lacks_loads_on_the_first_gpu(monkeypatch):
    from sk_dim._training.devices import present_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.warns(DeviceWarning, match="was on cuda:1, but this machine has 1"):
        assert present_device("cuda:1") == "cuda:0"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert present_device("cuda:0") == "cuda:0"
        assert present_device("cpu") == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert present_device("cuda:1") == "cuda:1"  # skorch maps it to the CPU


def test_outputs_reach_the_host_as_one_array():
    from sk_dim._training.batches import to_host

    parts = [torch.arange(6.0).reshape(3, 2), torch.arange(6.0, 8.0).reshape(1, 2)]
    np.testing.assert_array_equal(to_host(iter(parts), 4), np.arange(8.0).reshape(4, 2))


@needs_cuda
def test_outputs_from_the_gpu_are_copied_without_a_wait_per_batch():
    from sk_dim._training.batches import to_host

    parts = [torch.randn(1024, 16, device="cuda") for _ in range(4)]
    expected = torch.cat([part.cpu() for part in parts]).numpy()
    np.testing.assert_array_equal(to_host(iter(parts), 4096), expected)
