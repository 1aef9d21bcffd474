import pickle

import numpy as np
import pytest
import torch

from sk_dim._training.batches import TensorBatches, fits_on_device, place_on_device


def test_shuffled_batches_are_full_and_distinct():
    data = torch.arange(10)
    generator = torch.Generator().manual_seed(0)
    batches = [b for b, _ in TensorBatches(data, 3, shuffle=True, generator=generator)]
    assert len(batches) == 3
    assert all(len(batch) == 3 for batch in batches)
    seen = torch.cat(batches)
    assert len(set(seen.tolist())) == 9


def test_ordered_batches_cover_everything_in_order():
    data = torch.arange(10)
    batches = [b for b, _ in TensorBatches(data, 4)]
    assert [len(b) for b in batches] == [4, 4, 2]
    assert torch.equal(torch.cat(batches), data)


def test_every_step_loss_reaches_the_history(digits, tiny):
    X, _ = digits
    dim = tiny(max_epochs=2).fit(X)  # 56 steps per epoch: one block of 50, one of 6
    for epoch in dim.net_.history:
        losses = [batch["train_loss"] for batch in epoch["batches"]]
        assert len(losses) == len(X) // 32 == epoch["train_batch_count"]
        assert all(isinstance(loss, float) for loss in losses)
        assert epoch["train_loss"] == pytest.approx(sum(losses) / len(losses))


def test_data_goes_to_the_device_only_when_it_fits():
    assert fits_on_device(data_bytes=1_000, free_bytes=4_000)
    assert not fits_on_device(data_bytes=1_001, free_bytes=4_000)
    data = torch.zeros(4, 3)
    assert place_on_device(data, "cpu") is data


def test_compiled_steps_train_like_eager_ones(digits, tiny):
    X, _ = digits
    eager = tiny().fit(X)
    compiled = tiny(compile=True).fit(X)
    assert compiled.net_.step_._compiled is not None
    np.testing.assert_allclose(compiled.loss_curve_, eager.loss_curve_, rtol=1e-2)
    again = tiny(compile=True).fit(X)
    np.testing.assert_array_equal(again.transform(X), compiled.transform(X))
    restored = pickle.loads(pickle.dumps(compiled))
    np.testing.assert_array_equal(restored.transform(X), compiled.transform(X))
    restored.partial_fit(X)  # compiled again at the first step
    assert restored.net_.step_._compiled is not None


def test_a_failing_compiler_falls_back_to_eager_steps(digits, tiny, monkeypatch):
    def broken_compile(function):
        def compiled(*args):
            raise RuntimeError("Compiler: cc not found\nmore details")

        return compiled

    monkeypatch.setattr(torch, "compile", broken_compile)
    X, _ = digits
    with pytest.warns(UserWarning, match="torch.compile failed .RuntimeError: Compi"):
        fallback = tiny(compile=True).fit(X)
    assert fallback.net_.step_._compiled is None
    np.testing.assert_array_equal(fallback.transform(X), tiny().fit(X).transform(X))


def test_errors_of_the_model_surface_with_compilation(digits, tiny):
    def wrong_shape(images):
        return images[:, :, :4]

    X, _ = digits
    dim = tiny(compile=True, image_shape=(8, 8), augmentation=wrong_shape)
    with (
        pytest.warns(UserWarning, match="torch.compile failed"),
        pytest.raises(ValueError, match="augmentation must return a tensor"),
    ):
        dim.fit(X)


def test_losses_or_codes_grown_a_million_times_have_diverged():
    from sk_dim._training.divergence import DivergenceCheck

    check = DivergenceCheck()
    assert check.problem([2.0, 3.0], [0.5, 1.0], last_step=2) is None
    grown = check.problem([5.0, 3e6], [1.0, 1.0], last_step=4)
    assert grown.startswith("the loss reached 3e+06 at step 4, more than 1e+06")
    assert "(2)" in grown  # the size of the first step's loss
    codes = check.problem([1.0], [2e6], last_step=5)
    assert codes.startswith("the largest code reached 2e+06 at step 5")
    assert check.problem([1e5], [1e5], last_step=6) is None
    assert check.problem([float("nan")], [1.0], last_step=7).endswith("step 7")
