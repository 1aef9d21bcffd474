"""Mutual-information estimators and critics on correlated Gaussians.

The benchmark of Poole et al. (2019): ``x`` and ``y`` are ``--dim`` pairs of
standard normals with a common correlation, set so that the true mutual
information climbs a staircase from 0 to 10 nats. At each level a critic is
trained for ``--steps`` steps on fresh batches to maximise the estimator; the
estimate of the last half of those steps is reported (mean and standard
deviation) with the time per step. Every estimator is run with every critic
it can use ("second_order" reads embeddings, so not the concat critic).

Usage::

    python benchmarks/mi_estimators.py [--steps 400] [--dim 20] [--batch-size 128]

Prints a table, writes ``benchmarks/results/mi_estimators.json`` and, with
matplotlib installed, ``benchmarks/results/mi_estimators.png``.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import torch
from _results import RESULTS, environment, write_result

from sk_dim.datasets import make_correlated_gaussians
from sk_dim.nn.critics import CRITICS, make_critic
from sk_dim.nn.mi_estimators import MI_ESTIMATORS, get_estimator
from sk_dim.nn.objectives import estimate_mi

LEVELS = (0.0, 2.0, 4.0, 6.0, 8.0, 10.0)


def run(estimator_name: str, critic_name: str, args) -> dict:
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    estimator = get_estimator(estimator_name)
    critic = make_critic(
        critic_name, args.dim, args.dim, embedding_dim=32, hidden_features=256
    )
    parameters = list(critic.parameters())  # the dot critic has none
    optimizer = torch.optim.Adam(parameters, lr=args.lr) if parameters else None
    levels = []
    start = time.perf_counter()
    for true_mi in LEVELS:
        values = []
        for _ in range(args.steps):
            x, y = map(
                torch.from_numpy,
                make_correlated_gaussians(args.batch_size, args.dim, true_mi, rng),
            )
            value = estimate_mi(estimator, critic, y[:, None], x)  # (B, 1, d), (B, d)
            if optimizer is not None:
                optimizer.zero_grad(set_to_none=True)
                (-value).backward()
                optimizer.step()
            values.append(value.detach())
        tail = torch.stack(values[args.steps // 2 :]).double().numpy()
        levels.append(
            {"true_mi": true_mi, "mean": float(tail.mean()), "std": float(tail.std())}
        )
    seconds = time.perf_counter() - start
    return {
        "estimator": estimator_name,
        "critic": critic_name,
        "levels": levels,
        "ms_per_step": 1000 * seconds / (len(LEVELS) * args.steps),
    }


def combinations():
    for estimator in MI_ESTIMATORS:
        for critic in CRITICS:
            if estimator == "second_order" and critic == "concat":
                continue
            yield estimator, critic


def plot(rows: list[dict], args, path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    names = list(MI_ESTIMATORS)
    figure, axes = plt.subplots(
        1, len(names), figsize=(3.2 * len(names), 3.4), sharey=True
    )
    for axis, name in zip(axes, names, strict=True):
        axis.plot(LEVELS, LEVELS, color="black", lw=1, label="true MI")
        if name == "infonce":
            axis.axhline(math.log(args.batch_size), color="grey", ls=":", lw=1)
        for row in rows:
            if row["estimator"] != name:
                continue
            mean = np.array([level["mean"] for level in row["levels"]])
            std = np.array([level["std"] for level in row["levels"]])
            axis.plot(LEVELS, mean, marker="o", ms=3, label=row["critic"])
            axis.fill_between(LEVELS, mean - std, mean + std, alpha=0.2)
        axis.set_title(name)
        axis.set_xlabel("true MI (nats)")
    axes[0].set_ylabel("estimate (nats; jsd: its own scale)")
    axes[0].set_ylim(-1, 12)
    axes[0].legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400, help="steps per level")
    parser.add_argument("--dim", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS / "mi_estimators.json")
    args = parser.parse_args()

    header = " ".join(f"{f'I={level:g}':>11}" for level in LEVELS)
    print(f"{'estimator':<13}{'critic':<15}{header} {'ms/step':>8}")
    rows = []
    for estimator_name, critic_name in combinations():
        row = run(estimator_name, critic_name, args)
        rows.append(row)
        cells = " ".join(
            f"{level['mean']:5.2f}±{level['std']:<4.2f}" for level in row["levels"]
        )
        print(f"{estimator_name:<13}{critic_name:<15}{cells} {row['ms_per_step']:8.2f}")

    result = {
        "benchmark": "mi_estimators",
        "levels": LEVELS,
        "settings": vars(args) | {"out": str(args.out)},
        "rows": rows,
        "environment": environment(),
    }
    write_result(result, args.out)
    figure = args.out.with_suffix(".png")
    if plot(rows, args, figure):
        print(f"wrote {figure}")
    else:
        print("matplotlib is not installed: no plot")


if __name__ == "__main__":
    main()
