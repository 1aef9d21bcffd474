"""Linear-probe accuracy of Deep InfoMax on MNIST against baselines, in one run.

The representation is learned on the 60,000 training images without labels;
then a logistic regression (on standardised features) is trained on the
training labels and tested on the 10,000 test images. Baselines: raw pixels,
PCA with as many components, and the same encoder with random weights.

Usage::

    python benchmarks/linear_probe.py [--epochs 2] [--data ../shared/data/mnist.npz]
        [--outputs global fc conv] [--set NAME=VALUE ...]

Prints a table and writes ``benchmarks/results/linear_probe.json``.
"""

from __future__ import annotations

import argparse
import ast
import sys
import time
from pathlib import Path

import numpy as np
import torch
from _results import RESULTS, environment, write_result
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_dim import DeepInfoMaxTransformer
from sk_dim.encoders import ConvEncoder

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "mnist.npz"


def load_mnist(path: Path):
    if not path.exists():
        sys.exit(
            f"MNIST not found at {path}; pass --data with the path of mnist.npz "
            "(arrays X_train, y_train, X_test, y_test)."
        )
    data = np.load(path)
    return data["X_train"], data["y_train"], data["X_test"], data["y_test"]


def probe(features_train, y_train, features_test, y_test) -> tuple[float, float]:
    """Accuracy of a logistic regression on standardised features, and its time."""
    start = time.perf_counter()
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    clf.fit(features_train, y_train)
    return clf.score(features_test, y_test), time.perf_counter() - start


def untrained_features(X: np.ndarray, seed: int) -> np.ndarray:
    """Global vectors of the default encoder for 28x28 images, never trained.

    BatchNorm uses the statistics of each batch of 1,000 images, so the random
    features are calibrated to the data without any training step.
    """
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        encoder = ConvEncoder(1, (28, 28), n_components=64).train()
    outputs = []
    with torch.no_grad():
        for start in range(0, len(X), 1000):
            batch = torch.from_numpy(X[start : start + 1000]).float() / 127.5 - 1
            outputs.append(encoder(batch[:, None])[1].numpy())
    return np.concatenate(outputs)


def _parse_override(item: str) -> tuple[str, object]:
    name, _, value = item.partition("=")
    try:
        return name, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return name, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a DeepInfoMaxTransformer parameter (repeatable)",
    )
    parser.add_argument(
        "--outputs",
        nargs="+",
        default=["global"],
        choices=["global", "fc", "conv", "local"],
        help="layers of the fitted encoder to probe (the paper's taps)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "linear_probe.json")
    parser.add_argument(
        "--skip-baselines",
        action="store_true",
        help="only fit and probe Deep InfoMax",
    )
    args = parser.parse_args()

    X_train, y_train, X_test, y_test = load_mnist(args.data)
    rows = []

    def record(name, accuracy, fit_seconds, probe_seconds):
        rows.append(
            {
                "method": name,
                "test_accuracy": accuracy,
                "fit_seconds": fit_seconds,
                "probe_seconds": probe_seconds,
            }
        )
        print(f"{name:<40} {accuracy:8.4f} {fit_seconds:8.1f} {probe_seconds:8.1f}")

    print(f"{'method':<40} {'accuracy':>8} {'fit s':>8} {'probe s':>8}")
    flat_train = X_train.reshape(len(X_train), -1).astype(np.float32) / 255
    flat_test = X_test.reshape(len(X_test), -1).astype(np.float32) / 255
    if not args.skip_baselines:
        accuracy, probe_seconds = probe(flat_train, y_train, flat_test, y_test)
        record("raw pixels (784)", accuracy, 0.0, probe_seconds)

        start = time.perf_counter()
        pca = PCA(64, random_state=args.seed).fit(flat_train)
        pca_seconds = time.perf_counter() - start
        accuracy, probe_seconds = probe(
            pca.transform(flat_train), y_train, pca.transform(flat_test), y_test
        )
        record("PCA (64)", accuracy, pca_seconds, probe_seconds)

        accuracy, probe_seconds = probe(
            untrained_features(X_train, args.seed),
            y_train,
            untrained_features(X_test, args.seed),
            y_test,
        )
        record("untrained encoder (64)", accuracy, 0.0, probe_seconds)

    overrides = dict(_parse_override(item) for item in args.set)
    dim = DeepInfoMaxTransformer(
        max_epochs=args.epochs, random_state=args.seed, **overrides
    )
    start = time.perf_counter()
    dim.fit(X_train)
    fit_seconds = time.perf_counter() - start
    label = ", ".join(args.set) or "default"
    for output in args.outputs:
        dim.set_params(output=output)
        features_train = dim.transform(X_train)
        accuracy, probe_seconds = probe(
            features_train, y_train, dim.transform(X_test), y_test
        )
        record(
            f"DIM {label} {output} ({features_train.shape[1]}, {args.epochs} ep)",
            accuracy,
            fit_seconds,
            probe_seconds,
        )
    batch_losses = dim.net_.history[:, "batches", :, "train_loss"]
    rows[-1]["loss_curve"] = dim.loss_curve_
    rows[-1]["max_batch_loss"] = [max(epoch) for epoch in batch_losses]
    print("loss per epoch:", np.round(dim.loss_curve_, 4).tolist())
    print("max batch loss:", np.round(rows[-1]["max_batch_loss"], 4).tolist())

    result = {
        "benchmark": "linear_probe",
        "data": "MNIST",
        "epochs": args.epochs,
        "seed": args.seed,
        "overrides": overrides,
        "rows": rows,
        "environment": environment(device=str(dim.device_)),
    }
    write_result(result, args.out)


if __name__ == "__main__":
    main()
