"""Fits of each estimator, run alone by the tests and in 2 processes by torchrun.

``python -m torch.distributed.run --nproc_per_node 2 --standalone
tests/training/_ddp_fits.py OUT`` writes, for each process, the loss curve and the
codes of each fit to ``OUT/{name}_{rank}.npz``.
"""

import os
import sys
import warnings

import numpy as np
import torch
from skorch.callbacks import Callback
from torch import nn

from sk_dim import DeepInfoMaxTransformer, MutualInformationMachine, TwoViewInfoMax
from sk_dim.nn.views import SplitColumns


class RankDependentScore(Callback):
    """Process 1's held-out score improves every epoch, process 0's never does."""

    def on_epoch_end(self, net, **kwargs):
        rank = int(os.environ["RANK"])
        net.history.record("valid_score", float(rank * len(net.history)))


class LinearEncoder(nn.Module):
    """An encoder without BatchNorm: fits in 2 processes equal the fit in one."""

    def __init__(self):
        super().__init__()
        self.local = nn.Linear(12, 16)
        self.head = nn.Linear(16, 4)

    def forward(self, rows):
        hidden = torch.relu(self.local(rows))
        return hidden[:, :, None, None], self.head(hidden)


class ConvEncoder(nn.Module):
    """A convolutional encoder without BatchNorm, for 8x8 images."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU())
        self.head = nn.Linear(8 * 8 * 8, 4)

    def forward(self, images):
        local_map = self.conv(images)  # (B, 8, 8, 8): 64 locations
        return local_map, self.head(local_map.flatten(1))


def images() -> np.ndarray:
    rows = data()[:, :8]
    return (rows[:, :, None] * rows[:, None, :]).reshape(-1, 1, 8, 8)


def data() -> np.ndarray:
    rows = np.random.default_rng(0).normal(size=(512, 12)).astype(np.float32)
    rows[:, 6:] += rows[:, :6]  # two related halves
    return rows


def models() -> dict:
    torch.manual_seed(0)  # the weights of the encoder modules
    # gloo on the CPU, also on a machine with GPUs
    common = {"batch_size": 64, "max_epochs": 3, "random_state": 0, "device": "cpu"}
    linear = {"encoder": LinearEncoder(), "critic": "bilinear", "gamma": 0.0}
    convolutional = {"encoder": ConvEncoder(), "augmentation": None, "gamma": 0.0}
    return {
        "dim_images": DeepInfoMaxTransformer(
            4, critic_width=16, **convolutional, **common
        ),
        "dim_infonce": DeepInfoMaxTransformer(
            4, mi_estimator="infonce", **linear, **common
        ),
        "dim_jsd": DeepInfoMaxTransformer(4, mi_estimator="jsd", **linear, **common),
        "two_view": TwoViewInfoMax(
            3,
            views=SplitColumns(),
            hidden_layer_sizes=(16,),
            critic="bilinear",
            **common,
        ),
        # BatchNorm normalises each process's share of the batch
        "dim_default": DeepInfoMaxTransformer(4, critic_width=32, **common),
        "mim": MutualInformationMachine(3, hidden_layer_sizes=(16,), **common),
    }


def fit_all() -> dict[str, dict[str, np.ndarray]]:
    torch.set_num_threads(1)
    X = data()
    results = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, model in models().items():
            inputs = images() if name == "dim_images" else X
            model.fit(inputs)
            results[name] = {
                "loss": np.array(model.loss_curve_),
                "codes": model.transform(inputs),
            }
    return results


def main(out: str) -> None:
    rank = int(os.environ["RANK"])
    for name, result in fit_all().items():
        np.savez(os.path.join(out, f"{name}_{rank}.npz"), **result)
    # the processes disagree on the score: process 0 decides for both
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stopped = DeepInfoMaxTransformer(
            4,
            batch_size=64,
            max_epochs=6,
            early_stopping=True,
            n_iter_no_change=2,
            callbacks=[RankDependentScore()],
            random_state=0,
            device="cpu",
        ).fit(data())
    with open(os.path.join(out, f"epochs_{rank}.txt"), "w") as file:
        file.write(str(stopped.n_iter_))
    try:
        DeepInfoMaxTransformer(4, batch_size=63, max_epochs=1, device="cpu").fit(data())
    except ValueError as error:
        with open(os.path.join(out, f"batch_error_{rank}.txt"), "w") as file:
            file.write(str(error))


if __name__ == "__main__":
    main(sys.argv[1])
