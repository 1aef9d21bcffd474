import pytest
import torch

from sk_dim._engine import TensorBatches


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
