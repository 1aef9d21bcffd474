"""Pickle, joblib and save/load round trips, and version checks."""

import json
import pickle
import sys

import joblib
import numpy as np
import pytest
import torch

from sk_dim import DeepInfoMaxTransformer, __version__, _persistence
from sk_dim.exceptions import CorruptSaveError, InconsistentVersionWarning
from sk_dim.nn.mi_estimators import DV


@pytest.fixture(scope="module")
def fitted(digits):
    X, _ = digits
    model = DeepInfoMaxTransformer(
        n_components=8, critic_width=32, batch_size=32, max_epochs=2, random_state=0
    )
    return model.fit(X)


@pytest.mark.parametrize("dump", ["pickle", "joblib"])
def test_pickle_and_joblib_round_trips(digits, fitted, tmp_path, dump):
    X, _ = digits
    path = tmp_path / "model"
    if dump == "pickle":
        path.write_bytes(pickle.dumps(fitted))
        restored = pickle.loads(path.read_bytes())
    else:
        joblib.dump(fitted, path)
        restored = joblib.load(path)
    np.testing.assert_array_equal(restored.transform(X), fitted.transform(X))
    assert restored.score(X) == pytest.approx(fitted.score(X))


def test_a_pickle_of_another_version_warns(fitted):
    state = fitted.__getstate__()
    assert state["_sk_dim_version"] == __version__
    state["_sk_dim_version"] = "0.0.1"
    restored = DeepInfoMaxTransformer.__new__(DeepInfoMaxTransformer)
    with pytest.warns(InconsistentVersionWarning, match="saved with sk_dim 0.0.1"):
        restored.__setstate__(state)


@pytest.mark.parametrize("safetensors", [True, False])
def test_save_and_load_give_the_same_model(
    digits, fitted, tmp_path, monkeypatch, safetensors
):
    if safetensors:
        pytest.importorskip("safetensors")
    else:
        monkeypatch.setitem(sys.modules, "safetensors", None)  # not installed
    X, _ = digits
    folder = fitted.save(tmp_path / "model")
    weights = "weights.safetensors" if safetensors else "weights.pt"
    assert sorted(path.name for path in folder.iterdir()) == ["config.json", weights]
    loaded = DeepInfoMaxTransformer.load(folder, device="cpu")
    np.testing.assert_array_equal(loaded.transform(X), fitted.transform(X))
    assert loaded.score(X) == pytest.approx(fitted.score(X))
    assert loaded.get_params() == fitted.get_params()
    assert loaded.n_iter_ == 2 and loaded.loss_curve_ == fitted.loss_curve_
    loaded.partial_fit(X)
    assert loaded.n_iter_ == 3


def test_save_keeps_image_layout_and_feature_names(small_images, tiny, tmp_path):
    pd = pytest.importorskip("pandas")
    images = np.moveaxis(small_images, 1, -1)  # channels last
    model = tiny(gamma=0.5, batch_size=20).fit(images)
    loaded = DeepInfoMaxTransformer.load(model.save(tmp_path / "images"))
    np.testing.assert_allclose(loaded.transform(images), model.transform(images))
    frame = pd.DataFrame(
        np.random.default_rng(0).normal(size=(40, 3)), columns=["a", "b", "c"]
    )
    rows = tiny(batch_size=8).fit(frame)
    loaded = DeepInfoMaxTransformer.load(rows.save(tmp_path / "rows"))
    assert list(loaded.feature_names_in_) == ["a", "b", "c"]
    np.testing.assert_array_equal(loaded.transform(frame), rows.transform(frame))


def test_the_saved_config_is_plain_json(fitted, tmp_path):
    config = json.loads((fitted.save(tmp_path / "m") / "config.json").read_text())
    assert config["class"] == "DeepInfoMaxTransformer"
    assert config["version"] == __version__
    assert config["params"]["n_components"] == 8
    assert config["fitted"]["n_features_in"] == 64


def test_loading_another_version_warns_and_bad_folders_are_refused(fitted, tmp_path):
    folder = fitted.save(tmp_path / "model")
    config_file = folder / "config.json"
    config = json.loads(config_file.read_text())
    config_file.write_text(json.dumps({**config, "version": "9.9"}))
    with pytest.warns(InconsistentVersionWarning, match="saved with sk_dim 9.9"):
        DeepInfoMaxTransformer.load(folder)
    config_file.write_text(json.dumps({**config, "format": 99}))
    with pytest.raises(ValueError, match="format 99"):
        DeepInfoMaxTransformer.load(folder)
    with pytest.raises(FileNotFoundError, match="no saved model"):
        DeepInfoMaxTransformer.load(tmp_path / "missing")


def test_save_refuses_parameters_that_are_not_json(digits, tiny, tmp_path):
    X, _ = digits
    model = tiny(mi_estimator=DV(moving_average=0.1)).fit(X)
    with pytest.raises(TypeError, match="mi_estimator=DV.* pickle or joblib"):
        model.save(tmp_path / "model")
    assert not (tmp_path / "model").exists()


def test_a_gpu_saved_model_loads_on_the_cpu(fitted, digits, tmp_path):
    X, _ = digits
    folder = fitted.save(tmp_path / "model")
    config = json.loads((folder / "config.json").read_text())
    config["fitted"]["device"] = "cuda:0"
    (folder / "config.json").write_text(json.dumps(config))
    loaded = DeepInfoMaxTransformer.load(folder, device="cpu")
    assert loaded.device_ == torch.device("cuda:0")
    np.testing.assert_array_equal(loaded.transform(X), fitted.transform(X))


def _rewrite_config(folder, change):
    path = folder / "config.json"
    config = json.loads(path.read_text())
    change(config)
    path.write_text(json.dumps(config))


def test_load_names_the_file_and_the_fault_of_a_bad_config(fitted, tmp_path):
    folder = fitted.save(tmp_path / "model")
    original = (folder / "config.json").read_text()
    cases = [
        (lambda c: c["params"].update(n_components=0), r"'n_components' parameter"),
        (lambda c: c["params"].update(colour="red"), "unexpected keyword.*colour"),
        (lambda c: c["fitted"].pop("seed"), "the entry 'seed' is missing"),
        (lambda c: c.pop("params"), r"the entries \['params'\] are missing"),
        (lambda c: c.pop("weights"), "the entry 'weights', the checksum, is missing"),
        (lambda c: c["fitted"].update(n_iter=-1), "n_iter must be a non-negative"),
        (lambda c: c["fitted"].update(loss_curve=["a"]), "loss_curve a list of num"),
        (lambda c: c["fitted"].update(n_iter=7), "loss_curve holds 2 epochs, but"),
        (lambda c: c["fitted"].update(n_features_in=63), "n_features_in is 63, but"),
        (lambda c: c["fitted"].update(batch_size=0), "batch_size must be a positive"),
    ]
    for change, message in cases:
        (folder / "config.json").write_text(original)
        _rewrite_config(folder, change)
        with pytest.raises(CorruptSaveError, match=message) as caught:
            DeepInfoMaxTransformer.load(folder)
        assert caught.value.path == folder / "config.json"
    (folder / "config.json").write_text("{not json")
    with pytest.raises(CorruptSaveError, match="config.json: not valid JSON"):
        DeepInfoMaxTransformer.load(folder)


def _save_with_torch(model, folder, monkeypatch):
    with monkeypatch.context() as patch:
        patch.setitem(sys.modules, "safetensors", None)  # not installed
        return model.save(folder)


def test_load_refuses_weights_that_do_not_fit(fitted, tmp_path, monkeypatch):
    folder = _save_with_torch(fitted, tmp_path / "model", monkeypatch)
    weights = torch.load(folder / "weights.pt", weights_only=True)
    last = list(weights)[-1]
    del weights[last]
    torch.save(weights, folder / "weights.pt")
    digest = _persistence.file_digest(folder / "weights.pt")
    _rewrite_config(folder, lambda c: c["weights"].update(sha256=digest))
    with pytest.raises(CorruptSaveError, match=f"missing tensors: {last}"):
        DeepInfoMaxTransformer.load(folder)


def test_load_refuses_a_weights_file_of_other_objects(fitted, tmp_path, monkeypatch):
    folder = _save_with_torch(fitted, tmp_path / "model", monkeypatch)
    (folder / "weights.pt").write_bytes(pickle.dumps({"a": object}))
    digest = _persistence.file_digest(folder / "weights.pt")
    _rewrite_config(folder, lambda c: c["weights"].update(sha256=digest))
    with pytest.raises(CorruptSaveError, match="not a file of tensors") as caught:
        DeepInfoMaxTransformer.load(folder)
    assert "weights_only=False" not in str(caught.value)


def test_a_save_of_an_earlier_format_is_refused_with_its_version(
    digits, tiny, tmp_path
):
    X, _ = digits
    folder = tiny().fit(X).save(tmp_path / "model")
    _rewrite_config(folder, lambda config: config.update(format=2, version="0.0.9"))
    with pytest.raises(ValueError, match=r"format 2; .* reads format 3.*'0\.0\.9'"):
        DeepInfoMaxTransformer.load(folder)
