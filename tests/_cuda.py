"""The mark of the tests that need a CUDA device (``pytest -m cuda`` selects them)."""

import pytest
import torch


def needs_cuda(test):
    """Mark ``test`` as a CUDA test, skipped where no CUDA device is present."""
    skip = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
    return pytest.mark.cuda(skip(test))
