import numpy as np
import pytest
import torch

from sk_dim._engine import TensorBatches, WarmupCosine


def test_warmup_cosine_schedule():
    schedule = WarmupCosine(total_steps=100, warmup_fraction=0.1)
    factors = np.array([schedule(step) for step in range(101)])
    assert factors[0] == pytest.approx(0.1)
    assert factors[9] == pytest.approx(1.0)
    assert np.all(np.diff(factors[:10]) > 0)
    assert np.all(np.diff(factors[9:]) <= 0)
    assert factors[100] == pytest.approx(0.0)


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
