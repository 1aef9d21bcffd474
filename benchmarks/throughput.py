"""Training and inference throughput of sk_dim against a bare PyTorch loop.

For MNIST-sized (1x28x28) and CIFAR-sized (3x32x32) uint8 images and batch
sizes 64 and 256, the same model is trained twice on the same data, each in a
fresh process: once by ``DeepInfoMaxTransformer.fit`` with its defaults (two
views, the local objective and prior matching; for the colour images the
photo views, InfoNCE, a 256-d Y and a constant learning rate, for the
grayscale ones crops, JSD, a 64-d Y and the cosine schedule) and once by a
plain loop over pre-loaded tensors built from the same modules, losses,
optimizers and batch order. The floating-point operations of one step
(torch's ``FlopCounterMode``) give the TFLOP/s achieved, and their share of
the device's peak on known GPUs. Then, in the process of the transformer,
``transform`` is timed against a bare inference loop over the same fitted
encoder with the batch size of ``transform`` (best of three, alternating), so
that both see the same state of the memory allocator. Reports images per
second, the ratio sk_dim / bare, and the peak memory of each training process
(resident set on the CPU, allocated device memory on CUDA).

Both run the channels-last convolutions of the transformer. With ``--compile``,
both compile their training steps with ``torch.compile`` in a warm-up fit of
two steps first, so that the timed fits show the speed of compiled steps
rather than the compilation time.

Usage::

    python benchmarks/throughput.py [--images 10240] [--device auto] [--compile]

Prints a table and writes ``benchmarks/results/throughput.json`` (or
``throughput_compile.json``).
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import resource
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from _results import RESULTS, environment, write_result
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from sk_dim import DeepInfoMaxTransformer
from sk_dim._defaults import auto_values
from sk_dim._input.layout import InputLayout
from sk_dim._training.batches import inference_batch_size
from sk_dim._training.devices import adam_kernel
from sk_dim.nn.augmentations import get_augmentation
from sk_dim.nn.encoders import ConvEncoder
from sk_dim.nn.mi_estimators import get_estimator
from sk_dim.nn.objectives import DeepInfoMaxObjective
from sk_dim.nn.prior import (
    PriorDiscriminator,
    discriminator_loss,
    encoder_prior_loss,
    sample_prior,
    to_prior_space,
)
from sk_dim.nn.scaling import InputEncoder, Standardize

SHAPES = {"mnist 1x28x28": (1, 28, 28), "cifar 3x32x32": (3, 32, 32)}

#: Dense bfloat16 peaks of GPUs in TFLOP/s (data sheets), by part of their name.
PEAK_TFLOPS = {"H100 PCIe": 756.0, "H100": 989.4, "H200": 989.4, "A100": 312.0}


def peak_tflops(device: str) -> float | None:
    """The bfloat16 peak of the CUDA device that ``device`` names, if known."""
    if device == "cpu" or not torch.cuda.is_available():
        return None
    name = torch.cuda.get_device_name(None if device == "auto" else device)
    return next((peak for part, peak in PEAK_TFLOPS.items() if part in name), None)


def make_images(shape, n_images: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(n_images, *shape), dtype=np.uint8)


def peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def autocast_on(device: torch.device) -> contextlib.AbstractContextManager:
    """bfloat16 autocast on CUDA, as the transformer uses, a no-op elsewhere."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def best_times(functions: dict, repeats: int = 3) -> dict[str, float]:
    """Shortest wall time of each function over ``repeats`` alternating rounds."""
    times = {name: float("inf") for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            times[name] = min(times[name], time.perf_counter() - start)
    return times


def bare_transform(encoder: nn.Module, X: np.ndarray, device) -> np.ndarray:
    """Global vectors of X by a plain inference loop over ``encoder``."""
    device = torch.device(device)
    data = torch.from_numpy(X).to(device)
    batch = inference_batch_size(device)
    with torch.inference_mode(), autocast_on(device):
        outputs = [
            encoder(data[first : first + batch])[1].float().cpu().numpy()
            for first in range(0, len(X), batch)
        ]
    return np.concatenate(outputs)


def run_sk_dim(
    shape, batch_size: int, n_images: int, device: str, compile_step: bool
) -> dict:
    X = make_images(shape, n_images)
    dim = DeepInfoMaxTransformer(
        batch_size=batch_size,
        max_epochs=1,
        random_state=0,
        device=device,
        compile=compile_step,
    )
    # one epoch has not converged: silence the warning that says so
    warnings.simplefilter("ignore", ConvergenceWarning)
    if compile_step:
        clone(dim).fit(X[: 2 * batch_size])  # compiles the step once
    start = time.perf_counter()
    dim.fit(X)
    synchronize(dim.device_)
    fit_seconds = time.perf_counter() - start
    peak_mb = peak_memory_mb(dim.device_)
    encoder = dim.net_.module_.encoder.eval()
    transform_seconds = best_times(
        {
            "sk_dim": lambda: dim.transform(X),
            "bare": lambda: bare_transform(encoder, X, dim.net_.device),
        }
    )
    return {
        "fit_seconds": fit_seconds,
        "transform_seconds": transform_seconds["sk_dim"],
        "bare_transform_seconds": transform_seconds["bare"],
        "peak_mb": peak_mb,
    }


def bare_fit(
    X: np.ndarray, batch_size: int, device: torch.device, compile_step: bool
) -> nn.Module:
    """The model and steps of the transformer's default fit, as a plain loop.

    Returns the trained encoder and the floating-point operations of one
    training step of the encoder and critics (matrix products and
    convolutions, forward and backward, as torch's ``FlopCounterMode`` counts
    them; the prior discriminator's small step is left out).
    """
    shape, n_images = X.shape[1:], len(X)
    # what the transformer's "auto" parameters resolve to for these images
    defaults = auto_values(InputLayout(shape, shape))
    n_components = defaults["n_components"]
    torch.manual_seed(0)
    conv = ConvEncoder(shape[0], shape[1:], n_components=n_components)
    scale = Standardize(torch.tensor(127.5), torch.tensor(127.5))
    encoder = InputEncoder(scale, conv, flatten=False, channels_last=True).to(device)
    objective = DeepInfoMaxObjective(
        get_estimator(defaults["mi_estimator"]),
        "encode_and_dot",
        conv.local_channels,
        conv.local_size,
        n_components=n_components,
        alpha=0.0,
        beta=1.0,
        embedding_dim=n_components,
        critic_width=defaults["critic_width"],
    ).to(device)
    discriminator = PriorDiscriminator(n_components).to(device)
    adam = {"lr": 1e-3, "betas": (0.5, 0.999), **adam_kernel(device)}
    optimizer = torch.optim.Adam(
        [*encoder.parameters(), *objective.parameters()], **adam
    )
    optimizer_d = torch.optim.Adam(discriminator.parameters(), **adam)
    n_steps = n_images // batch_size
    schedule = (
        torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=n_steps)
        if defaults["lr_schedule"] == "cosine"
        else None  # a constant learning rate
    )
    augment = get_augmentation(defaults["augmentation"], shape[1:])
    autocast = autocast_on(device)

    def step_loss(inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        inputs = inputs.float()
        with autocast:
            local_map, global_vector = encoder(
                torch.cat([augment(inputs), augment(inputs)])
            )
            local_a, local_b = local_map.chunk(2)
            global_a, global_b = global_vector.chunk(2)
            loss = (
                objective(local_a, global_b)[0] + objective(local_b, global_a)[0]
            ) / 2
            encoded = to_prior_space(global_vector.float(), "uniform")
            loss = loss + 0.1 * encoder_prior_loss(discriminator, encoded)
        return loss, global_vector

    if compile_step:
        step_loss = torch.compile(step_loss)
    data = torch.from_numpy(X).to(device)
    order = torch.randperm(n_images, generator=torch.Generator().manual_seed(0))

    def train_step(inputs: torch.Tensor, counter) -> None:
        with counter:  # the encoder and critics, forward and backward
            loss, global_vector = step_loss(inputs)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
        optimizer.step()
        if schedule is not None:
            schedule.step()
        # the small prior discriminator, outside the count: its gradient
        # penalty differentiates twice, which FlopCounterMode does not support
        optimizer_d.zero_grad(set_to_none=True)
        encoded = to_prior_space(global_vector.detach().float(), "uniform")
        prior_samples = sample_prior("uniform", encoded)
        discriminator_loss(discriminator, prior_samples, encoded).backward()
        optimizer_d.step()

    flops = FlopCounterMode(display=False)
    for step in range(n_steps):
        rows = order[step * batch_size : (step + 1) * batch_size].to(device)
        counter = flops if step == 0 else contextlib.nullcontext()
        train_step(data.index_select(0, rows), counter)
    return encoder, flops.get_total_flops()


def run_bare(
    shape, batch_size: int, n_images: int, device: str, compile_step: bool
) -> dict:
    X = make_images(shape, n_images)
    device = torch.device(
        ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device
    )
    if compile_step:
        bare_fit(X[: 2 * batch_size], batch_size, device, compile_step)
    start = time.perf_counter()
    _, step_flops = bare_fit(X, batch_size, device, compile_step)
    synchronize(device)
    fit_seconds = time.perf_counter() - start
    return {
        "fit_seconds": fit_seconds,
        "peak_mb": peak_memory_mb(device),
        "step_flops": step_flops,
    }


def in_fresh_process(function, *args) -> dict:
    """Run ``function(*args)`` in a new process, so that peak memory is its own."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(function, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--images", type=int, default=10240, help="training images per run"
    )
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--compile",
        action="store_true",
        help="compile the training steps of both (compilation time included)",
    )
    parser.add_argument(
        "--peak-tflops",
        type=float,
        default=None,
        help="the device's peak TFLOP/s (default: known GPUs' bfloat16 peak)",
    )
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    peak = args.peak_tflops or peak_tflops(args.device)
    name = "throughput_compile" if args.compile else "throughput"
    out = args.out or RESULTS / f"{name}.json"

    print(
        f"{'input':<15}{'batch':>6}{'fit img/s':>11}{'bare img/s':>12}{'ratio':>7}"
        f"{'tf img/s':>10}{'bare tf':>9}{'ratio':>7}{'peak MB':>9}{'bare MB':>9}"
        f"{'TFLOP/s':>9}{'of peak':>8}"
    )
    rows = []
    for name, shape in SHAPES.items():
        for batch_size in args.batch_sizes:
            n_images = args.images // batch_size * batch_size
            run_args = (shape, batch_size, n_images, args.device, args.compile)
            ours = in_fresh_process(run_sk_dim, *run_args)
            bare = in_fresh_process(run_bare, *run_args)
            row = {
                "input": name,
                "batch_size": batch_size,
                "n_images": n_images,
                "sk_dim": ours,
                "bare": bare,
                "fit_images_per_s": n_images / ours["fit_seconds"],
                "bare_fit_images_per_s": n_images / bare["fit_seconds"],
                "transform_images_per_s": n_images / ours["transform_seconds"],
                "bare_transform_images_per_s": n_images
                / ours["bare_transform_seconds"],
            }
            row["fit_ratio"] = row["fit_images_per_s"] / row["bare_fit_images_per_s"]
            row["transform_ratio"] = (
                row["transform_images_per_s"] / row["bare_transform_images_per_s"]
            )
            # the same model and steps: the bare loop's count serves both
            step_flops = bare["step_flops"]
            n_steps = n_images // batch_size
            row["fit_tflops"] = step_flops * n_steps / ours["fit_seconds"] / 1e12
            row["bare_fit_tflops"] = step_flops * n_steps / bare["fit_seconds"] / 1e12
            row["share_of_peak"] = None if peak is None else row["fit_tflops"] / peak
            rows.append(row)
            share = "-" if peak is None else f"{100 * row['share_of_peak']:.1f}%"
            print(
                f"{name:<15}{batch_size:>6}{row['fit_images_per_s']:>11.0f}"
                f"{row['bare_fit_images_per_s']:>12.0f}{row['fit_ratio']:>7.3f}"
                f"{row['transform_images_per_s']:>10.0f}"
                f"{row['bare_transform_images_per_s']:>9.0f}"
                f"{row['transform_ratio']:>7.3f}"
                f"{ours['peak_mb']:>9.0f}{bare['peak_mb']:>9.0f}"
                f"{row['fit_tflops']:>9.2f}{share:>8}"
            )

    result = {
        "benchmark": "throughput",
        "settings": {
            "images": args.images,
            "device": args.device,
            "compile": args.compile,
            "peak_tflops": peak,
        },
        "rows": rows,
        "environment": environment(
            cuda=torch.cuda.get_device_name() if torch.cuda.is_available() else None
        ),
    }
    write_result(result, out)


if __name__ == "__main__":
    main()
