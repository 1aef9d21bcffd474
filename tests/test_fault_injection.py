"""Failures injected in the middle of fit, partial_fit and save.

Each leaves the model, or the save, that the user had before the call: the
same outputs, weights, optimiser state and fitted attributes, and a save that
loads to the same model.
"""

import copy
import json
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
