"""The critic study of Tschannen et al. (2020) on MNIST: top and bottom halves as views.

Each image's top 392 pixels and bottom 392 pixels are two views
(``TwoViewInfoMax(views=SplitColumns())``), encoded by MLPs of hidden
layers (300, 300) to 100 values and trained, without labels, to maximise
InfoNCE or NWJ with a bilinear, separable or concat-MLP critic (Adam at
1e-4, batches of 128, as in the paper; the same epochs and seed for all).
Reported for each pair: the bound on the training data over the epochs, the
bound on the test images, and the linear-probe accuracy (logistic
regression on standardised features) of the top-half code, beside the same
probe on the top-half pixels.

Usage::

    python benchmarks/critic_study.py [--epochs 20] [--estimators infonce nwj]
        [--critics bilinear separable concat] [--data MNIST.npz]
        [--tag NAME]

Prints a table and writes ``benchmarks/results/critic_study.json`` (or
``critic_study_NAME.json``).
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
from _mnist import load_mnist
from _results import RESULTS, environment, write_result
from sklearn.exceptions import ConvergenceWarning

from sk_dim import TwoViewInfoMax
from sk_dim.evaluation import linear_probe
from sk_dim.nn.views import SplitColumns


def as_rows(images):
    """Images as float32 rows of pixels in [0, 1]."""
    return images.reshape(len(images), -1).astype(np.float32) / 255


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--estimators", nargs="+", default=["infonce", "nwj"])
    parser.add_argument(
        "--critics", nargs="+", default=["bilinear", "separable", "concat"]
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--data", type=Path, help="a local .npz of MNIST (default: downloaded)"
    )
    parser.add_argument(
        "--tag", default="", help="suffix of the results file, e.g. 'long'"
    )
    args = parser.parse_args()
    # every model trains the same fixed number of epochs
    warnings.simplefilter("ignore", ConvergenceWarning)

    X_train, y_train, X_test, y_test = load_mnist(args.data)
    X_train, X_test = as_rows(X_train), as_rows(X_test)
    top = slice(0, X_train.shape[1] // 2)
    pixels = linear_probe(None, X_train[:, top], y_train, X_test[:, top], y_test)
    print(f"top-half pixels, linear probe: {100 * pixels:.2f}")
    print(
        f"{'estimator':<10}{'critic':<11}{'probe':>7}{'test bound':>12}"
        f"{'train bound by epoch':>24}{'fit s':>8}"
    )
    rows = []
    for estimator in args.estimators:
        for critic in args.critics:
            model = TwoViewInfoMax(
                100,
                views=SplitColumns(),
                mi_estimator=estimator,
                critic=critic,
                hidden_layer_sizes=(300, 300),
                lr=1e-4,
                batch_size=128,
                max_epochs=args.epochs,
                n_iter_no_change=args.epochs,
                random_state=args.seed,
                device="cpu",
            )
            start = time.perf_counter()
            model.fit(X_train)
            fit_seconds = time.perf_counter() - start
            row = {
                "estimator": estimator,
                "critic": critic,
                "probe": 100 * linear_probe(model, X_train, y_train, X_test, y_test),
                "test_bound": model.score(X_test),
                "train_bound_by_epoch": [-loss for loss in model.loss_curve_],
                "fit_seconds": fit_seconds,
            }
            rows.append(row)
            curve = row["train_bound_by_epoch"]
            milestones = " ".join(
                f"{curve[i]:.2f}" for i in (0, len(curve) // 2, len(curve) - 1)
            )
            print(
                f"{estimator:<10}{critic:<11}{row['probe']:>7.2f}"
                f"{row['test_bound']:>12.3f}{milestones:>24}{fit_seconds:>8.1f}",
                flush=True,
            )
    result = {
        "benchmark": "critic_study",
        "settings": vars(args) | {"data": str(args.data or "fetch_mnist")},
        "environment": environment(),
        "pixel_probe": 100 * pixels,
        "rows": rows,
    }
    name = f"critic_study{'_' * bool(args.tag)}{args.tag}.json"
    write_result(result, RESULTS / name)


if __name__ == "__main__":
    main()
