"""Data-parallel training: 2 processes with gloo under torchrun against one process."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch.distributed

from tests.training._ddp_fits import fit_all

pytestmark = pytest.mark.skipif(
    not torch.distributed.is_available(), reason="torch.distributed is not built"
)
SCRIPT = Path(__file__).with_name("_ddp_fits.py")
EXACT = ["dim_infonce", "dim_jsd", "dim_images", "two_view"]
WITH_BATCHNORM = ["dim_default", "mim"]


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2"]
    command += ["--standalone", str(SCRIPT), str(out)]
    root = SCRIPT.parents[2]
    finished = subprocess.run(
        command, cwd=root, capture_output=True, text=True, timeout=600
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def one_process():
    return fit_all()


def load(out, name, rank):
    with np.load(out / f"{name}_{rank}.npz") as saved:
        return dict(saved)


@pytest.mark.parametrize("name", EXACT + WITH_BATCHNORM)
def test_every_process_ends_with_the_same_model(two_processes, name):
    first, second = load(two_processes, name, 0), load(two_processes, name, 1)
    np.testing.assert_array_equal(first["loss"], second["loss"])
    np.testing.assert_array_equal(first["codes"], second["codes"])


@pytest.mark.parametrize("name", EXACT)
def test_two_processes_train_as_one_with_the_same_global_batch(
    two_processes, one_process, name
):
    # negatives gathered across processes: the bound of the global batch
    parallel = load(two_processes, name, 0)
    np.testing.assert_allclose(parallel["loss"], one_process[name]["loss"], atol=1e-5)
    np.testing.assert_allclose(parallel["codes"], one_process[name]["codes"], atol=1e-4)


@pytest.mark.parametrize("name", WITH_BATCHNORM)
def test_batchnorm_of_each_share_stays_close_to_one_process(
    two_processes, one_process, name
):
    parallel = load(two_processes, name, 0)
    np.testing.assert_allclose(parallel["loss"], one_process[name]["loss"], rtol=0.05)


def test_the_batch_must_split_evenly_between_processes(two_processes):
    message = (two_processes / "batch_error_0.txt").read_text()
    assert "batch_size=63 must be a multiple of the 2 processes" in message


def test_early_stopping_stops_every_process_at_the_same_epoch(two_processes):
    epochs = [(two_processes / f"epochs_{rank}.txt").read_text() for rank in (0, 1)]
    assert epochs == ["3", "3"]  # process 0's score, no gain after the first epoch


def test_each_process_under_torchrun_trains_on_its_own_gpu(monkeypatch):
    from sk_dim._training.distributed import local_device

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert local_device(torch.device("cuda")) == torch.device("cuda", 1)
    with pytest.warns(UserWarning, match="each process trains on its own GPU"):
        assert local_device(torch.device("cuda:0")) == torch.device("cuda", 1)
    assert local_device(torch.device("cpu")) == torch.device("cpu")
