"""Linear-probe accuracy of Deep InfoMax against baselines, on MNIST or CIFAR-10.

The representation is learned on the training images without labels; then a
logistic regression (on standardised features) is trained on the labels of
the first ``--labels`` training images and scored on the held-out images:
MNIST's 10,000 test images, or the 5,000 validation images of CIFAR-10's
training set (its test split is kept for independent checks). Each variant
trains for the same number of epochs, or, with ``--minutes``, for the same
wall-clock time (``max_time``), and its fit time is reported beside it.

Baselines in the same run: raw pixels, PCA with 64 components, the default
encoder with random weights and, with ``--minutes``, a bare single-view
DIM(L) loop of the same encoder given the same time (``_bare_dim.py``).
``--colour`` runs on coloured MNIST: each digit drawn in a random colour on a
random background colour (3 x 28 x 28, channels last), generated from MNIST
with a fixed seed.

Usage::

    python benchmarks/linear_probe.py [--dataset mnist | cifar10]
        [--variants default ... | all] [--epochs 2 | --minutes M]
        [--layers global fc conv] [--labels N] [--set NAME=VALUE ...]
        [--probe-C C ...] [--colour] [--skip-baselines] [--data PATH] [--tag NAME]

Prints a table and writes ``benchmarks/results/linear_probe[_DATASET].json``.
"""

from __future__ import annotations

import argparse
import ast
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch
from _bare_dim import bare_dim_fit, to_images
from _cifar import load_cifar10
from _mnist import load_mnist
from _results import RESULTS, environment, write_result
from sklearn.decomposition import PCA

from sk_dim import DeepInfoMaxTransformer
from sk_dim.datasets import colour_digits
from sk_dim.evaluation import linear_probe
from sk_dim.nn.encoders import ConvEncoder
from sk_dim.nn.photo import PhotoAugmentation

#: The variants of the paper, as parameters of DeepInfoMaxTransformer.
VARIANTS: dict[str, dict] = {
    "default": {},
    "DIM(L) jsd": {"mi_estimator": "jsd"},
    "DIM(L) infonce": {"mi_estimator": "infonce"},
    "DIM(L) dv": {"mi_estimator": "dv"},
    "DIM(L) nwj": {"mi_estimator": "nwj"},
    "DIM(L) second_order": {"mi_estimator": "second_order"},
    "DIM(L) no augmentation": {"augmentation": None},
    "DIM(L) crop": {"augmentation": "crop"},
    "DIM(L) crop_colour": {"augmentation": "crop_colour"},
    "DIM(L) photo": {"augmentation": "photo"},
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
    # one change each from the defaults for colour images (docs/benchmarks.md)
    "n_components 64": {"n_components": 64},
    "cosine lr": {"lr_schedule": "cosine"},
    "crops of 20-100%": {"augmentation": PhotoAugmentation(crop_scale=(0.2, 1.0))},
    "kornia views": {"augmentation": "kornia"},
    "colour strength 1": {
        "augmentation": PhotoAugmentation(
            brightness=0.8, contrast=0.8, saturation=0.8, hue=0.2
        )
    },
    "any hue": {"augmentation": PhotoAugmentation(hue=0.5)},
    "colour strength 1, any hue": {
        "augmentation": PhotoAugmentation(
            brightness=0.8, contrast=0.8, saturation=0.8, hue=0.5
        )
    },
    "critic_width 128": {"critic_width": 128},
    "critic_width 256": {"critic_width": 256},
    "critic_width 512": {"critic_width": 512},
    "critic_width 2048": {"critic_width": 2048},
    "resnet": {"encoder": "resnet"},
    "encoder width 32": {"encoder": partial(ConvEncoder, n_components=256, width=32)},
    "encoder width 128": {"encoder": partial(ConvEncoder, n_components=256, width=128)},
    "batch 256": {"batch_size": 256},
    "no prior": {"gamma": 0.0},
    "bf16": {"precision": "bf16"},
}


def encoder_features(
    encoder: ConvEncoder, X: np.ndarray, layers: list[str]
) -> dict[str, np.ndarray]:
    """The taps ``layers`` of ``encoder`` for uint8 images X, flattened.

    The encoder keeps its mode: in training mode (an untrained encoder)
    BatchNorm uses the statistics of each batch of 1,000 images, so that
    random features are calibrated to the data without any training step.
    """
    images = to_images(X)
    taps: dict[str, list[np.ndarray]] = {layer: [] for layer in layers}
    with torch.no_grad():
        for start in range(0, len(images), 1000):
            features = encoder.features(images[start : start + 1000])
            for layer in layers:
                taps[layer].append(features[layer].flatten(1).numpy())
    return {layer: np.concatenate(parts) for layer, parts in taps.items()}


def untrained_encoder(X: np.ndarray, seed: int) -> ConvEncoder:
    """The default encoder with random weights, in training mode."""
    channels = 1 if X.ndim == 3 else X.shape[3]
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return ConvEncoder(channels, X.shape[1:3], n_components=64).train()


def _parse_override(item: str) -> tuple[str, object]:
    name, _, value = item.partition("=")
    try:
        return name, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return name, value


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=["mnist", "cifar10"], default="mnist")
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help="a local .npz of the data (default: the data set, downloaded "
        "once by sk_dim.datasets)",
    )
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument(
        "--minutes",
        type=float,
        default=None,
        help="train each variant and the bare loop for this long instead",
    )
    parser.add_argument(
        "--labels",
        type=int,
        default=None,
        help="labelled training images of the probe (default: all for MNIST, "
        "10000 for CIFAR-10)",
    )
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
        "--layers",
        nargs="+",
        default=["global"],
        choices=["global", "fc", "conv", "local"],
        help="layers of each fitted encoder to probe (the paper's taps)",
    )
    parser.add_argument(
        "--probe-C",
        nargs="+",
        type=float,
        default=[1.0],
        help="the probe's inverse regularisation strength, or several to choose "
        "from by 3-fold cross-validation on the labelled training images",
    )
    parser.add_argument("--colour", action="store_true", help="coloured MNIST")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--skip-baselines", action="store_true", help="only Deep InfoMax"
    )
    args = parser.parse_args()
    if "all" in args.variants:
        args.variants = list(VARIANTS)
    if args.colour and args.dataset != "mnist":
        parser.error("--colour colours MNIST digits; it needs --dataset mnist")
    if args.labels is None and args.dataset == "cifar10":
        args.labels = 10000
    if args.out is None:
        name = "linear_probe" + "_colour" * args.colour
        name += "_cifar10" * (args.dataset == "cifar10")
        args.out = RESULTS / f"{name}{'_' * bool(args.tag)}{args.tag}.json"
    return args


def load_data(args: argparse.Namespace):
    """Training images, probe labels and held-out images of the chosen data set."""
    if args.dataset == "cifar10":
        X_train, y_train, X_test, y_test = load_cifar10(args.data)
    else:
        X_train, y_train, X_test, y_test = load_mnist(args.data)
    if args.colour:
        X_train = colour_digits(X_train, random_state=args.seed)
        X_test = colour_digits(X_test, random_state=args.seed + 1)
    return X_train, y_train, X_test, y_test


def main() -> None:
    args = _parse_args()
    X_train, y_train, X_test, y_test = load_data(args)
    labelled = slice(0, args.labels)  # the probe's labelled training images
    X_probe, y_probe = X_train[labelled], y_train[labelled]
    seconds = None if args.minutes is None else 60 * args.minutes
    rows = []

    def record(method, layer, size, accuracy, fit_seconds, probe_seconds, **extra):
        rows.append(
            {
                "method": method,
                "layer": layer,
                "features": size,
                "accuracy": accuracy,
                "fit_seconds": fit_seconds,
                "probe_seconds": probe_seconds,
                **extra,
            }
        )
        epochs = extra.get("epochs")
        print(
            f"{method:<32} {layer:<7} {size:>6} {100 * accuracy:8.2f} "
            f"{fit_seconds:8.1f} {'-' if epochs is None else epochs:>6} "
            f"{probe_seconds:8.1f}",
            flush=True,
        )

    def probe(method, layer, transformer, train, test, fit_seconds, **extra):
        start = time.perf_counter()
        accuracy = linear_probe(
            transformer,
            train,
            y_probe,
            test,
            y_test,
            layer=None if transformer is None else layer,
            C=args.probe_C[0] if len(args.probe_C) == 1 else args.probe_C,
            n_jobs=-1,
        )
        size = (
            train.shape[1]
            if transformer is None
            else transformer.net_.module_.encoder.feature_sizes[layer]
        )
        seconds = time.perf_counter() - start
        record(method, layer, size, accuracy, fit_seconds, seconds, **extra)

    def probe_encoder(method, encoder, fit_seconds):
        train = encoder_features(encoder, X_probe, args.layers)
        test = encoder_features(encoder, X_test, args.layers)
        for layer in args.layers:
            probe(method, layer, None, train[layer], test[layer], fit_seconds)

    print(
        f"{'method':<32} {'layer':<7} {'size':>6} {'accuracy':>8} "
        f"{'fit s':>8} {'epochs':>6} {'probe s':>8}"
    )
    if not args.skip_baselines:
        flat_probe = X_probe.reshape(len(X_probe), -1).astype(np.float32) / 255
        flat_test = X_test.reshape(len(X_test), -1).astype(np.float32) / 255
        probe("raw pixels", "-", None, flat_probe, flat_test, 0.0)

        start = time.perf_counter()
        flat_train = X_train.reshape(len(X_train), -1).astype(np.float32) / 255
        pca = PCA(64, random_state=args.seed).fit(flat_train)
        pca_seconds = time.perf_counter() - start
        probe(
            "PCA",
            "-",
            None,
            pca.transform(flat_probe),
            pca.transform(flat_test),
            pca_seconds,
        )
        probe_encoder("untrained encoder", untrained_encoder(X_train, args.seed), 0.0)
        if seconds is not None:
            start = time.perf_counter()
            encoder = bare_dim_fit(X_train, seconds, args.seed)
            probe_encoder("bare DIM(L) loop", encoder, time.perf_counter() - start)

    overrides = dict(_parse_override(item) for item in args.set)
    budget = (
        {"max_epochs": args.epochs}
        if seconds is None
        else {
            "max_epochs": 1000,
            "max_time": seconds,
        }
    )
    device = "cpu"
    for variant in args.variants:
        params = {**VARIANTS[variant], **overrides}
        if params.get("augmentation") == "kornia":
            from _kornia_views import KorniaPhotoAugmentation

            params["augmentation"] = KorniaPhotoAugmentation(X_train.shape[1:3])
        if isinstance(params.get("encoder"), partial):  # built for the images
            params["encoder"] = params["encoder"](X_train.shape[3], X_train.shape[1:3])
        dim = DeepInfoMaxTransformer(random_state=args.seed, **budget, **params)
        start = time.perf_counter()
        dim.fit(X_train)
        fit_seconds = time.perf_counter() - start
        device = str(dim.device_)
        for layer in args.layers:
            probe(
                variant,
                layer,
                dim,
                X_probe,
                X_test,
                fit_seconds,
                epochs=dim.n_iter_,
                loss_curve=dim.loss_curve_,
                augmentation=repr(dim.augmentation_),
                precision=dim.precision_,
            )

    write_result(
        {
            "benchmark": "linear_probe",
            "data": "coloured MNIST" if args.colour else args.dataset,
            "held_out": "validation" if args.dataset == "cifar10" else "test",
            "labels": len(y_probe),
            "probe_C": args.probe_C,
            "epochs": None if seconds is not None else args.epochs,
            "minutes": args.minutes,
            "seed": args.seed,
            "variants": {name: VARIANTS[name] for name in args.variants},
            "overrides": overrides,
            "rows": rows,
            "environment": environment(device=device),
        },
        args.out,
    )


if __name__ == "__main__":
    main()
