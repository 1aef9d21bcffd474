"""Linear-probe accuracy of Deep InfoMax variants on MNIST against baselines.

The representation is learned on the 60,000 training images without labels;
then a logistic regression (on standardised features) is trained on the
training labels and tested on the 10,000 test images. Each variant trains
for the same number of epochs, and its fit time is reported beside it.
Baselines: raw pixels, PCA with 64 components, and the default encoder with
random weights. ``--colour`` runs on coloured MNIST instead: each digit drawn
in a random colour on a random background colour (3 x 28 x 28, channels
last), generated from MNIST with a fixed seed.

Usage::

    python benchmarks/linear_probe.py [--variants default ... | all]
        [--epochs 2] [--outputs global fc conv] [--set NAME=VALUE ...]
        [--colour] [--skip-baselines] [--data ../shared/data/mnist.npz]

Prints a table and writes ``benchmarks/results/linear_probe.json`` (or
``linear_probe_colour.json``).
"""

from __future__ import annotations

import argparse
import ast
import time
from pathlib import Path

import numpy as np
import torch
from _mnist import DEFAULT_DATA, load_mnist
from _results import RESULTS, environment, write_result
from sklearn.decomposition import PCA

from sk_dim import DeepInfoMaxTransformer
from sk_dim.encoders import ConvEncoder
from sk_dim.evaluation import linear_probe

#: The variants of the paper, as parameters of DeepInfoMaxTransformer.
VARIANTS: dict[str, dict] = {
    "default": {},
    "DIM(L) infonce": {"mi_estimator": "infonce"},
    "DIM(L) dv": {"mi_estimator": "dv"},
    "DIM(L) nwj": {"mi_estimator": "nwj"},
    "DIM(L) second_order": {"mi_estimator": "second_order"},
    "DIM(L) no augmentation": {"augmentation": None},
    "DIM(L) occlusion+coordinates": {"occlusion": 0.5, "coordinate_weight": 1.0},
    "DIM(L) coordinates": {"coordinate_weight": 1.0},
    "DIM(L+G)": {"alpha": 0.5, "beta": 1.0},
    "DIM(G) concat_and_convolve": {
        "alpha": 1.0,
        "beta": 0.0,
        "gamma": 1.0,
        "critic": "concat_and_convolve",
    },
    "DIM(G) encode_and_dot": {"alpha": 1.0, "beta": 0.0, "gamma": 1.0},
}


def colourise(images: np.ndarray, seed: int) -> np.ndarray:
    """Draw each (28, 28) digit in a random colour on a random background.

    Returns uint8 images of shape (N, 28, 28, 3): foreground and background
    colours are uniform in [0, 255]^3, independent of the label.
    """
    rng = np.random.default_rng(seed)
    foreground = rng.uniform(0, 255, size=(len(images), 1, 1, 3))
    background = rng.uniform(0, 255, size=(len(images), 1, 1, 3))
    ink = images[..., None].astype(np.float32) / 255
    return np.round(ink * foreground + (1 - ink) * background).astype(np.uint8)


def untrained_features(X: np.ndarray, seed: int) -> np.ndarray:
    """Global vectors of the default encoder, never trained.

    BatchNorm uses the statistics of each batch of 1,000 images, so the random
    features are calibrated to the data without any training step.
    """
    images = torch.from_numpy(X).float() / 127.5 - 1
    images = images.permute(0, 3, 1, 2) if images.ndim == 4 else images[:, None]
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        encoder = ConvEncoder(images.shape[1], (28, 28), n_components=64).train()
    with torch.no_grad():
        outputs = [
            encoder(images[start : start + 1000])[1].numpy()
            for start in range(0, len(images), 1000)
        ]
    return np.concatenate(outputs)


def _parse_override(item: str) -> tuple[str, object]:
    name, _, value = item.partition("=")
    try:
        return name, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return name, value


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--variants",
        nargs="+",
        default=["default"],
        choices=[*VARIANTS, "all"],
        help="variants to fit, one after the other ('all': every one)",
    )
    parser.add_argument(
        "--tag", default="", help="suffix of the results file, e.g. 'equal_time'"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a DeepInfoMaxTransformer parameter of every variant",
    )
    parser.add_argument(
        "--outputs",
        nargs="+",
        default=["global"],
        choices=["global", "fc", "conv", "local"],
        help="layers of each fitted encoder to probe (the paper's taps)",
    )
    parser.add_argument("--colour", action="store_true", help="coloured MNIST")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--skip-baselines", action="store_true", help="only Deep InfoMax"
    )
    args = parser.parse_args()
    if "all" in args.variants:
        args.variants = list(VARIANTS)
    if args.out is None:
        name = "linear_probe" + "_colour" * args.colour
        args.out = RESULTS / f"{name}{'_' * bool(args.tag)}{args.tag}.json"
    return args


def main() -> None:
    args = _parse_args()
    X_train, y_train, X_test, y_test = load_mnist(args.data)
    if args.colour:
        X_train = colourise(X_train, args.seed)
        X_test = colourise(X_test, args.seed + 1)
    rows = []

    def record(method, output, size, accuracy, fit_seconds, probe_seconds, **extra):
        rows.append(
            {
                "method": method,
                "output": output,
                "features": size,
                "test_accuracy": accuracy,
                "fit_seconds": fit_seconds,
                "probe_seconds": probe_seconds,
                **extra,
            }
        )
        print(
            f"{method:<32} {output:<7} {size:>6} {accuracy:8.4f} "
            f"{fit_seconds:8.1f} {probe_seconds:8.1f}",
            flush=True,
        )

    def timed_probe(transformer, train, test, output=None):
        start = time.perf_counter()
        accuracy = linear_probe(
            transformer, train, y_train, test, y_test, output=output
        )
        return accuracy, time.perf_counter() - start

    print(
        f"{'method':<32} {'output':<7} {'size':>6} {'accuracy':>8} "
        f"{'fit s':>8} {'probe s':>8}"
    )
    if not args.skip_baselines:
        flat_train = X_train.reshape(len(X_train), -1).astype(np.float32) / 255
        flat_test = X_test.reshape(len(X_test), -1).astype(np.float32) / 255
        accuracy, seconds = timed_probe(None, flat_train, flat_test)
        record("raw pixels", "-", flat_train.shape[1], accuracy, 0.0, seconds)

        start = time.perf_counter()
        pca = PCA(64, random_state=args.seed).fit(flat_train)
        pca_seconds = time.perf_counter() - start
        accuracy, seconds = timed_probe(pca, flat_train, flat_test)
        record("PCA", "-", 64, accuracy, pca_seconds, seconds)

        untrained = [untrained_features(X, args.seed) for X in (X_train, X_test)]
        accuracy, seconds = timed_probe(None, *untrained)
        record("untrained encoder", "global", 64, accuracy, 0.0, seconds)

    overrides = dict(_parse_override(item) for item in args.set)
    for variant in args.variants:
        dim = DeepInfoMaxTransformer(
            max_epochs=args.epochs,
            random_state=args.seed,
            **{**VARIANTS[variant], **overrides},
        )
        start = time.perf_counter()
        dim.fit(X_train)
        fit_seconds = time.perf_counter() - start
        for output in args.outputs:
            accuracy, seconds = timed_probe(dim, X_train, X_test, output=output)
            size = dim.net_.module_.encoder.feature_sizes[output]
            record(
                variant,
                output,
                size,
                accuracy,
                fit_seconds,
                seconds,
                loss_curve=dim.loss_curve_,
            )

    write_result(
        {
            "benchmark": "linear_probe",
            "data": "coloured MNIST" if args.colour else "MNIST",
            "epochs": args.epochs,
            "seed": args.seed,
            "variants": {name: VARIANTS[name] for name in args.variants},
            "overrides": overrides,
            "rows": rows,
            "environment": environment(device=str(dim.device_)),
        },
        args.out,
    )


if __name__ == "__main__":
    main()
