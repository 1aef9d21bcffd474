"""A bare single-view DIM(L) training loop, the baseline of the linear probe.

The original Deep InfoMax on one view: the local JSD objective between Y and
the local feature map of the same image, the encode-and-dot critic, Adam
(lr 1e-3, betas 0.5 and 0.999) at a constant learning rate, batch 64, no
augmentation and no prior, written as a plain PyTorch loop over the
encoder and objective of sk_dim, trained for a wall-clock budget.
"""

from __future__ import annotations

import time

import torch
from torch import nn

from sk_dim.nn.encoders import ConvEncoder
from sk_dim.nn.mi_estimators import JSD
from sk_dim.nn.objectives import DeepInfoMaxObjective


def to_images(X) -> torch.Tensor:
    """uint8 (N, H, W, C) or (N, H, W) images as float (N, C, H, W) in [-1, 1]."""
    images = torch.from_numpy(X).float() / 127.5 - 1
    return images.permute(0, 3, 1, 2) if images.ndim == 4 else images[:, None]


def bare_dim_fit(X, seconds: float, seed: int, batch_size: int = 64) -> nn.Module:
    """Train a ConvEncoder on uint8 images X for ``seconds``; returns it in eval mode.

    The returned encoder has the taps of :class:`~sk_dim.nn.encoders.ConvEncoder`
    (``features``) and takes images as :func:`to_images` gives them.
    """
    images = to_images(X)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        encoder = ConvEncoder(images.shape[1], tuple(images.shape[2:]), 64)
        objective = DeepInfoMaxObjective(
            JSD(),
            "encode_and_dot",
            encoder.local_channels,
            encoder.local_size,
            n_components=64,
            alpha=0.0,
            beta=1.0,
            embedding_dim=64,
            critic_width=512,
        )
        optimizer = torch.optim.Adam(
            [*encoder.parameters(), *objective.parameters()],
            lr=1e-3,
            betas=(0.5, 0.999),
        )
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            order = torch.randperm(len(images))
            for first in range(0, len(order) - batch_size + 1, batch_size):
                batch = images[order[first : first + batch_size]]
                local_map, global_vector = encoder(batch)
                loss, _ = objective(local_map, global_vector)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                if time.perf_counter() - start >= seconds:
                    break
    return encoder.eval()
