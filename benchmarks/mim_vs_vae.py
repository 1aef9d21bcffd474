"""Mutual Information Machine against a VAE of the same networks, on binarised MNIST.

MutualInformationMachine is fitted with ``objective="mim"``, ``"a-mim"``
and ``"vae"`` (the same encoder, decoder, Bernoulli likelihood, optimizer,
epochs and seed) at several latent sizes, on binarised training images
(pixels above 127 are 1), without labels. On the test images it reports:

- ``MI low`` and ``MI high``: bounds on the mutual information between x and
  z ~ q(z|x), in nats, on the first 5,000 test images. The low one is the
  InfoNCE-style estimate ``mean_i log q(z_i|x_i) - log mean_j q(z_i|x_j)``
  over those N images, which cannot exceed log N = 8.52; the high one is
  the Gaussian maximum-entropy bound ``h(z) <= 1/2 log det(2 pi e Cov z)``
  minus the encoder's entropy.
- ``active``: the share of latent dimensions whose posterior mean varies over
  the data (variance above 0.01, Burda et al. 2016); collapsed dimensions
  copy the prior whatever x. As that threshold depends on the scale of the
  codes, ``SNR>1`` also gives the share of dimensions whose posterior means
  vary more over the data than the codes of one image vary around them
  (signal-to-noise ratio ``Var_x E[z_d|x] / E_x Var[z_d|x]`` above 1).
- ``5-NN``: accuracy of a 5-nearest-neighbour classifier on the posterior
  means (fitted on training images, tested on test images).
- ``recon``: binary cross-entropy of the test images reconstructed from
  their posterior means, in nats per image.

Usage::

    python benchmarks/mim_vs_vae.py [--latent-sizes 5 20 50] [--epochs 10]
        [--n-train 60000] [--data MNIST.npz]

Prints a table and writes ``benchmarks/results/mim_vs_vae.json``.
"""

from __future__ import annotations

import argparse
import math
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from _mnist import load_mnist
from _results import RESULTS, environment, write_result
from sklearn.exceptions import ConvergenceWarning
from sklearn.neighbors import KNeighborsClassifier

from sk_dim import MutualInformationMachine

OBJECTIVES = ("vae", "a-mim", "mim")
#: Test images of the mutual-information bounds (the low one costs N^2).
N_MI = 5_000


def binarise(images):
    """Rows of 784 float32 pixels, 1 above 127 and 0 elsewhere."""
    return (images.reshape(len(images), -1) > 127).astype(np.float32)


def posterior(model: MutualInformationMachine, X: np.ndarray):
    """Means and log-variances (N, D) of q(z|x), as float64 tensors."""
    network = model.net_.module_.eval()
    with torch.inference_mode():
        mean, log_var = network(torch.from_numpy(X))
    return mean.double(), log_var.double()


def mutual_information_bounds(mean: torch.Tensor, log_var: torch.Tensor, seed: int):
    """(low, high) bounds on I(x; z) in nats for z ~ q(z|x) over N inputs."""
    generator = torch.Generator().manual_seed(seed)
    std = torch.exp(0.5 * log_var)
    codes = mean + std * torch.randn(mean.shape, generator=generator, dtype=mean.dtype)
    log_q = []  # log q(z_i | x_j) for all j, in row blocks: (N, N)
    for block in codes.split(200):
        squared = ((block[:, None] - mean[None]) / std[None]) ** 2  # (b, N, D)
        log_q.append(-0.5 * (squared + log_var[None] + math.log(2 * math.pi)).sum(-1))
    log_q = torch.cat(log_q)
    low = log_q.diagonal() - torch.logsumexp(log_q, dim=1) + math.log(len(codes))
    covariance = torch.cov(codes.T) if codes.shape[1] > 1 else codes.var()[None, None]
    marginal_entropy = 0.5 * torch.logdet(
        2 * math.pi * math.e * torch.atleast_2d(covariance)
    )
    conditional_entropy = 0.5 * (log_var + math.log(2 * math.pi * math.e)).sum(1)
    high = marginal_entropy - conditional_entropy.mean()
    return float(low.mean()), float(high)


def evaluate(model, X_train, y_train, X_test, y_test, seed: int) -> dict:
    mean, log_var = posterior(model, X_test[:N_MI])
    low, high = mutual_information_bounds(mean, log_var, seed)
    active = float((mean.var(0) > 0.01).double().mean())
    signal_to_noise = mean.var(0) / torch.exp(log_var).mean(0)  # (D,)
    informative = float((signal_to_noise > 1).double().mean())
    knn = KNeighborsClassifier(n_neighbors=5).fit(model.transform(X_train), y_train)
    accuracy = knn.score(model.transform(X_test), y_test)
    decoded = model.inverse_transform(model.transform(X_test))
    reconstruction = np.clip(decoded, 1e-6, 1 - 1e-6)
    cross_entropy = -(
        X_test * np.log(reconstruction) + (1 - X_test) * np.log(1 - reconstruction)
    ).sum(1)
    return {
        "mi_low": low,
        "mi_high": high,
        "mi_low_cap": math.log(len(mean)),
        "active": active,
        "informative": informative,
        "knn5": 100 * accuracy,
        "reconstruction_nats": float(cross_entropy.mean()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latent-sizes", type=int, nargs="+", default=[5, 20, 50])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--n-train", type=int, default=60_000)
    parser.add_argument("--n-test", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--data", type=Path, help="a local .npz of MNIST (default: downloaded)"
    )
    args = parser.parse_args()
    # every model trains the same fixed number of epochs
    warnings.simplefilter("ignore", ConvergenceWarning)

    images, y_train, test_images, y_test = load_mnist(args.data)
    rows = np.random.default_rng(args.seed).permutation(len(images))[: args.n_train]
    X_train, y_train = binarise(images[rows]), y_train[rows]
    X_test, y_test = binarise(test_images[: args.n_test]), y_test[: args.n_test]
    rows = []
    header = (
        f"{'objective':<8}{'latent':>7}{'MI low':>8}{'MI high':>9}{'active':>8}"
        f"{'SNR>1':>7}"
        f"{'5-NN':>7}{'recon':>8}{'fit s':>8}"
    )
    print(header)
    for n_components in args.latent_sizes:
        for objective in OBJECTIVES:
            model = MutualInformationMachine(
                n_components,
                objective=objective,
                likelihood="bernoulli",
                max_epochs=args.epochs,
                n_iter_no_change=args.epochs,
                random_state=args.seed,
                device="cpu",
            )
            start = time.perf_counter()
            model.fit(X_train)
            fit_seconds = time.perf_counter() - start
            row = {
                "objective": objective,
                "n_components": n_components,
                **evaluate(model, X_train, y_train, X_test, y_test, args.seed),
                "fit_seconds": fit_seconds,
                "final_loss": model.loss_curve_[-1],
            }
            rows.append(row)
            print(
                f"{objective:<8}{n_components:>7}{row['mi_low']:>8.2f}"
                f"{row['mi_high']:>9.1f}{row['active']:>8.2f}{row['informative']:>7.2f}"
                f"{row['knn5']:>7.2f}"
                f"{row['reconstruction_nats']:>8.1f}{fit_seconds:>8.1f}",
                flush=True,
            )
    result = {
        "benchmark": "mim_vs_vae",
        "settings": vars(args) | {"data": str(args.data or "fetch_mnist")},
        "environment": environment(),
        "rows": rows,
    }
    write_result(result, RESULTS / "mim_vs_vae.json")


if __name__ == "__main__":
    main()
