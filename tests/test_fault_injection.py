"""Failures injected in the middle of fit, partial_fit and save.

Each leaves the model, or the save, that the user had before the call: the
same outputs, weights, optimiser state and fitted attributes, and a save that
loads to the same model.
"""

import copy
import errno
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from sk_dim import (
    DeepInfoMaxTransformer,
    MutualInformationMachine,
    TwoViewInfoMax,
    _persistence,
)
from sk_dim.exceptions import CorruptSaveError, TrainingDivergedError
from sk_dim.nn.views import SplitColumns


class AtStep(Callback):
    """Acts once, at training step ``step`` of a call (counted from 1)."""

    def __init__(self, step):
        self.step = step

    def on_train_begin(self, net, **kwargs):
        self.steps_ = 0

    def reached(self, training: bool) -> bool:
        """Count a training step; whether it is the chosen one."""
        self.steps_ += training
        return training and self.steps_ == self.step


class PoisonWeightsAt(AtStep):
    """Sets the encoder's weights to ``value`` before training step ``step``."""

    def __init__(self, step, value=float("nan")):
        super().__init__(step)
        self.value = value

    def on_batch_begin(self, net, training=False, **kwargs):
        if self.reached(training):
            with torch.no_grad():
                for parameter in net.module_.parameters():
                    parameter.fill_(self.value)


class RaiseAt(AtStep):
    """Raises RuntimeError at the end of training step ``step``."""

    def on_batch_end(self, net, training=False, **kwargs):
        if self.reached(training):
            raise RuntimeError("injected failure")


def snapshot(model):
    """Everything a failed call must leave unchanged, copied."""
    net = model.net_
    state = copy.deepcopy(net.module_.state_dict())
    optimizers = {
        name: copy.deepcopy(value.state_dict())
        for name, value in vars(net).items()
        if isinstance(value, torch.optim.Optimizer)
    }
    attributes = {
        name: copy.deepcopy(value)
        for name, value in vars(model).items()
        if name.endswith("_") and name != "net_"
    }
    return state, optimizers, attributes, len(net.history)


def assert_unchanged(model, before, X):
    state, optimizers, attributes, history = snapshot(model)
    torch.testing.assert_close(state, before[0], rtol=0, atol=0)
    torch.testing.assert_close(optimizers, before[1], rtol=0, atol=0)
    assert attributes.keys() == before[2].keys()
    for name, value in before[2].items():
        assert repr(attributes[name]) == repr(value), name
    assert history == before[3]
    assert np.isfinite(model.transform(X)).all()


ESTIMATORS = {
    "DeepInfoMaxTransformer": lambda **extra: DeepInfoMaxTransformer(
        n_components=4, critic_width=16, batch_size=32, random_state=0, **extra
    ),
    "MutualInformationMachine": lambda **extra: MutualInformationMachine(
        n_components=3, hidden_layer_sizes=(16,), batch_size=32, random_state=0, **extra
    ),
    "TwoViewInfoMax": lambda **extra: TwoViewInfoMax(
        n_components=4,
        views=SplitColumns(32),
        hidden_layer_sizes=(16,),
        critic_width=16,
        batch_size=32,
        random_state=0,
        **extra,
    ),
}


@pytest.fixture(params=sorted(ESTIMATORS))
def make(request):
    return ESTIMATORS[request.param]


@pytest.fixture
def rows(digits):
    X, _ = digits
    return X[:256]


def test_a_non_finite_loss_stops_fit_and_leaves_it_unfitted(make, rows):
    model = make(max_epochs=3, callbacks=[PoisonWeightsAt(step=5)])
    with pytest.raises(TrainingDivergedError, match="at step 5 in epoch 1"):
        model.fit(rows)
    assert not hasattr(model, "net_") and not hasattr(model, "n_iter_")


def test_a_finite_explosion_stops_the_fit_as_divergence(make, rows):
    # at lr=1e6, TwoViewInfoMax's loss reached 3e33 with finite values
    model = make(lr=1e6, max_epochs=5)
    with pytest.raises(TrainingDivergedError, match=r"lr=1e\+06"):
        model.fit(rows)
    assert not hasattr(model, "net_")


def test_a_diverging_refit_keeps_the_previous_fit(make, rows):
    model = make(max_epochs=1).fit(rows)
    before = snapshot(model)
    model.set_params(callbacks=[PoisonWeightsAt(step=2, value=float("inf"))])
    with pytest.raises(TrainingDivergedError, match="Likely causes: a learning rate"):
        model.fit(rows)
    assert_unchanged(model, before, rows)


def test_a_diverging_partial_fit_reports_the_rate_it_ran_with(make, rows):
    model = make(max_epochs=1).fit(rows)
    model.set_params(lr=1e6, callbacks=[PoisonWeightsAt(step=2)])
    with pytest.raises(TrainingDivergedError, match=r"\(lr=1e\+06\)"):
        model.partial_fit(rows)


@pytest.mark.parametrize(
    ("callback", "error"),
    [
        (PoisonWeightsAt(step=3), TrainingDivergedError),
        (RaiseAt(step=3), RuntimeError),
    ],
    ids=["non-finite loss", "callback raises"],
)
def test_a_failed_partial_fit_leaves_weights_optimiser_and_attributes(
    make, rows, callback, error
):
    model = make(max_epochs=1).fit(rows)
    model.partial_fit(rows)  # the optimiser holds state
    before = snapshot(model)
    model.set_params(callbacks=[callback])
    with pytest.raises(error):
        model.partial_fit(rows)
    assert_unchanged(model, before, rows)
    model.set_params(callbacks=None).partial_fit(rows)  # and trains on from there
    assert model.n_iter_ == before[2]["n_iter_"] + 1


def test_a_bad_chunk_of_streamed_data_leaves_partial_fit_unchanged(rows, tmp_path):
    model = ESTIMATORS["DeepInfoMaxTransformer"](max_epochs=1, chunk_size=64)
    model.fit(rows)
    path = tmp_path / "rows.dat"
    stream = np.memmap(path, dtype=np.float64, mode="w+", shape=rows.shape)
    stream[:] = rows
    stream[200, 3] = np.nan  # in the fourth chunk, after three chunks of steps
    stream.flush()
    before = snapshot(model)
    with pytest.raises(ValueError, match="NaN"):
        model.partial_fit(np.memmap(path, dtype=np.float64, mode="r", shape=rows.shape))
    assert_unchanged(model, before, rows)


@pytest.mark.parametrize("failing", ["save_weights", "write_config", "rename"])
def test_a_failed_save_leaves_the_earlier_save(rows, tmp_path, monkeypatch, failing):
    model = ESTIMATORS["DeepInfoMaxTransformer"](max_epochs=1).fit(rows)
    folder = model.save(tmp_path / "model")
    saved = {path.name: path.read_bytes() for path in folder.iterdir()}
    model.partial_fit(rows)  # a different model to save over it

    def fail(*args, **kwargs):
        raise OSError("injected failure")

    if failing == "rename":  # the new folder cannot take the old one's place
        real_rename = Path.rename

        def rename(self, target):
            if Path(target) == folder and ".saving-" in self.name:
                fail()
            return real_rename(self, target)

        monkeypatch.setattr(Path, "rename", rename)
    else:
        monkeypatch.setattr(_persistence, failing, fail)
    with pytest.raises(OSError, match="injected failure"):
        model.save(folder)
    monkeypatch.undo()
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == saved
    assert [path.name for path in tmp_path.iterdir()] == ["model"]  # no leftovers
    loaded = DeepInfoMaxTransformer.load(folder)
    assert loaded.n_iter_ == 1


def test_new_weights_beside_an_old_config_are_refused(rows, tmp_path):
    model = ESTIMATORS["DeepInfoMaxTransformer"](max_epochs=1).fit(rows)
    old = model.save(tmp_path / "old")
    new = model.partial_fit(rows).save(tmp_path / "new")
    weights = "weights.safetensors"
    if not (new / weights).exists():
        weights = "weights.pt"
    (old / weights).write_bytes((new / weights).read_bytes())
    with pytest.raises(CorruptSaveError, match="SHA-256 differs"):
        DeepInfoMaxTransformer.load(old)


def test_save_refuses_a_folder_holding_other_files(rows, tmp_path):
    model = ESTIMATORS["DeepInfoMaxTransformer"](max_epochs=1).fit(rows)
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match=r"holds other files .*notes\.txt"):
        model.save(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "keep me"


def test_a_saved_config_that_names_other_networks_is_refused(rows, tmp_path):
    model = ESTIMATORS["DeepInfoMaxTransformer"](max_epochs=1).fit(rows)
    folder = model.save(tmp_path / "model")
    config = json.loads((folder / "config.json").read_text())
    config["params"]["n_components"] = 10**9  # would allocate terabytes
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(CorruptSaveError, match="tensors of another shape"):
        DeepInfoMaxTransformer.load(folder)


@pytest.mark.parametrize("step", ["weights", "config", "between", "cleanup"])
def test_a_save_killed_at_any_step_leaves_a_model_that_loads(rows, tmp_path, step):
    old = ESTIMATORS["DeepInfoMaxTransformer"](max_epochs=1).fit(rows)
    folder = old.save(tmp_path / "model")
    new = copy.deepcopy(old).partial_fit(rows)
    pickled = tmp_path / "new.pkl"
    pickled.write_bytes(pickle.dumps(new))
    script = Path(__file__).with_name("_killed_save.py")
    killed = subprocess.run(
        [sys.executable, str(script), str(pickled), str(folder), step],
        capture_output=True,
        timeout=300,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()[-2000:]
    # the old save, or the new one where it was complete before the kill
    loaded = DeepInfoMaxTransformer.load(folder).transform(rows)
    expected = new if step in ("between", "cleanup") else old
    np.testing.assert_array_equal(loaded, expected.transform(rows))
    # the next save finishes the swap and removes what the killed one left
    old.save(folder)
    pickled.unlink()
    assert [path.name for path in tmp_path.iterdir()] == ["model"]
    np.testing.assert_array_equal(
        DeepInfoMaxTransformer.load(folder).transform(rows), old.transform(rows)
    )


@pytest.mark.parametrize("failing", ["save_weights", "write_config"])
def test_a_full_disk_is_named_and_the_earlier_save_is_kept(
    rows, tmp_path, monkeypatch, failing
):
    model = ESTIMATORS["DeepInfoMaxTransformer"](max_epochs=1).fit(rows)
    folder = model.save(tmp_path / "model")
    saved = {path.name: path.read_bytes() for path in folder.iterdir()}

    def torch_out_of_space(*args, **kwargs):  # what torch.save says on ENOSPC
        raise RuntimeError(
            "[enforce fail at inline_container.cc:603] . PytorchStreamWriter "
            "failed writing file data/0: file write failed"
        )

    def out_of_space(*args, **kwargs):  # what a plain write says
        raise OSError(errno.ENOSPC, "No space left on device")

    if failing == "save_weights":
        monkeypatch.setattr(_persistence, failing, torch_out_of_space)
        full = shutil.disk_usage(tmp_path)._replace(free=0)
        monkeypatch.setattr(_persistence.shutil, "disk_usage", lambda path: full)
    else:
        monkeypatch.setattr(_persistence, failing, out_of_space)
    with pytest.raises(OSError, match="The disk holding .* is full") as error:
        model.partial_fit(rows).save(folder)
    assert error.value.errno == errno.ENOSPC
    monkeypatch.undo()
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == saved
    assert [path.name for path in tmp_path.iterdir()] == ["model"]


def test_a_save_into_a_read_only_folder_fails_and_keeps_the_earlier_save(
    rows, tmp_path, monkeypatch
):
    model = ESTIMATORS["DeepInfoMaxTransformer"](max_epochs=1).fit(rows)
    folder = model.save(tmp_path / "model")
    expected = model.transform(rows)
    tmp_path.chmod(0o500)
    try:
        if os.access(tmp_path, os.W_OK):  # root writes anywhere: refuse it here
            real_mkdir = Path.mkdir

            def read_only(self, *args, **kwargs):
                if self.parent == tmp_path:
                    raise PermissionError(13, "Permission denied", str(self))
                return real_mkdir(self, *args, **kwargs)

            monkeypatch.setattr(Path, "mkdir", read_only)
        with pytest.raises(PermissionError):
            model.partial_fit(rows).save(folder)
    finally:
        tmp_path.chmod(0o700)
    monkeypatch.undo()
    loaded = DeepInfoMaxTransformer.load(folder)
    np.testing.assert_array_equal(loaded.transform(rows), expected)
