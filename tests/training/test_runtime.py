"""Settings of torch scoped to a fit or transform, and the memory format of images."""

import numpy as np
import pytest
import torch

from sk_dim._training import runtime
from sk_dim._training.runtime import (
    compute_settings,
    cpu_thread_limit,
    cudnn_autotuning,
)
from sk_dim.nn.encoders import ConvEncoder
from sk_dim.nn.scaling import InputEncoder, Standardize


@pytest.fixture
def one_cpu(monkeypatch):
    """A process allowed a single CPU, as under a cgroup quota."""
    monkeypatch.setattr(runtime, "cpu_count", lambda: 1)


def test_threads_are_limited_to_the_allowed_cpus_and_restored(one_cpu):
    previous = torch.get_num_threads()
    with cpu_thread_limit() as threads:
        assert threads == torch.get_num_threads() == 1
    assert torch.get_num_threads() == previous


def test_a_lower_thread_setting_of_the_user_is_kept(monkeypatch):
    monkeypatch.setattr(runtime, "cpu_count", lambda: 64)
    previous = torch.get_num_threads()
    with cpu_thread_limit() as threads:
        assert threads == torch.get_num_threads() == previous


def test_fit_and_transform_leave_the_thread_setting_as_they_found_it(
    digits, tiny, one_cpu
):
    X, _ = digits
    previous = torch.get_num_threads()
    dim = tiny().fit(X)
    dim.transform(X)
    assert torch.get_num_threads() == previous


@pytest.mark.parametrize("deterministic", [False, True])
def test_cudnn_autotuning_is_scoped_to_cuda_and_respects_determinism(
    deterministic, monkeypatch
):
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", False)
    monkeypatch.setattr(torch.backends.cudnn, "deterministic", deterministic)
    with cudnn_autotuning(torch.device("cpu")) as tuning:
        assert tuning is torch.backends.cudnn.benchmark is False
    with compute_settings(torch.device("cuda")):
        assert torch.backends.cudnn.benchmark is not deterministic
    assert torch.backends.cudnn.benchmark is False


def test_channels_last_encoder_computes_the_same_values():
    torch.manual_seed(0)
    images = torch.randint(0, 256, (6, 3, 32, 32), dtype=torch.uint8)
    scale = Standardize(torch.tensor(127.5), torch.tensor(127.5))
    standard = InputEncoder(scale, ConvEncoder(3, (32, 32), 16), flatten=False)
    standard.eval()
    converted = InputEncoder(
        scale, ConvEncoder(3, (32, 32), 16), flatten=False, channels_last=True
    )
    converted.load_state_dict(standard.state_dict())
    converted.eval()
    weight = converted.encoder.local_layers[0][0].weight
    assert weight.is_contiguous(memory_format=torch.channels_last)
    for expected, actual in zip(standard(images), converted(images), strict=True):
        np.testing.assert_allclose(actual.detach(), expected.detach(), atol=1e-5)
