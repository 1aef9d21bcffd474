"""What only a GPU can show about sk_dim's training engine.

On a CUDA device, for the default model of CIFAR-sized colour images:

1. host synchronisations per training step (``torch.cuda.set_sync_debug_mode``);
2. CUDA kernels and memory copies per training step (``torch.profiler``);
3. peak device memory per critic and batch size;
4. training data resident on the GPU against batches sent from pinned host
   memory, in images per second;
5. graph breaks of ``compile=True`` (torch._dynamo's counters);
6. a model fitted on the GPU, pickled, then loaded, trained one more epoch
   (``partial_fit``) and used in a subprocess that sees no CUDA device;
7. a bfloat16-trained model's outputs computed in bfloat16 against float32,
   and its ``transform`` (always float32) against its float32 forward pass.

With ``--device cpu`` the steps that need no CUDA run on the CPU, a check of
the script itself. Usage::

    python benchmarks/gpu_diagnostics.py [--device cuda] [--images 8192]

Prints each result and writes ``benchmarks/results/gpu_diagnostics.json``.
"""

from __future__ import annotations

import argparse
import os
import pickle
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from _results import RESULTS, environment, write_result
from sklearn.exceptions import ConvergenceWarning

import sk_dim._training.batches
from sk_dim import DeepInfoMaxTransformer

SHAPE = (32, 32, 3)  # CIFAR-sized, channels last


def images(n_images: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n_images, *SHAPE), dtype=np.uint8)


def model(device: str, **params) -> DeepInfoMaxTransformer:
    settings = {"max_epochs": 1, "random_state": 0, "device": device}
    return DeepInfoMaxTransformer(**{**settings, **params})


def steps_of(fitted: DeepInfoMaxTransformer) -> int:
    return sum(len(row["batches"]) for row in fitted.net_.history)


def synchronisations(X: np.ndarray, device: str) -> dict:
    """Host synchronisations per step, as CUDA's sync debug mode reports them."""
    previous = torch.cuda.get_sync_debug_mode()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            fitted = model(device).fit(X)
        finally:
            torch.cuda.set_sync_debug_mode(previous)
    syncs = [w for w in caught if "synchroniz" in str(w.message).lower()]
    return {"steps": steps_of(fitted), "synchronisations": len(syncs)}


def kernels_and_copies(X: np.ndarray, device: str) -> dict:
    """CUDA kernels and memory copies per step over one profiled fit."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CUDA]) as profiler:
        fitted = model(device).fit(X)
    events = profiler.events()
    copies = sum("memcpy" in event.name.lower() for event in events)
    kernels = sum(event.device_type.name == "CUDA" for event in events) - copies
    steps = steps_of(fitted)
    return {
        "steps": steps,
        "kernels_per_step": kernels / steps,
        "copies_per_step": copies / steps,
    }


def peak_memory(X: np.ndarray, device: str) -> list[dict]:
    """Peak allocated memory of a fit per critic and batch size."""
    rows = []
    for critic in ("encode_and_dot", "concat"):
        for batch_size in (64, 256):
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(device)
            try:
                model(device, critic=critic, batch_size=batch_size).fit(X)
                peak = torch.cuda.max_memory_allocated(device) / 2**20
            except ValueError as error:  # refused before the first step
                peak = f"refused: {str(error).splitlines()[0][:80]}"
            rows.append({"critic": critic, "batch_size": batch_size, "peak_mb": peak})
    return rows


def resident_against_pinned(X: np.ndarray, device: str) -> dict:
    """Images per second, the data on the GPU against batches from pinned memory."""
    rates = {}
    share = sk_dim._training.batches.DEVICE_DATA_SHARE
    for path, data_share in (("resident", share), ("pinned", 0.0)):
        sk_dim._training.batches.DEVICE_DATA_SHARE = data_share
        try:
            model(device).fit(X[:512])  # warm-up: cuDNN's search, the allocator
            start = time.perf_counter()
            fitted = model(device).fit(X)
            torch.cuda.synchronize(device)
            seconds = time.perf_counter() - start
        finally:
            sk_dim._training.batches.DEVICE_DATA_SHARE = share
        rates[path] = steps_of(fitted) * fitted.batch_size_ / seconds
    return {**rates, "ratio": rates["pinned"] / rates["resident"]}


def graph_breaks(X: np.ndarray, device: str) -> dict:
    """Graph breaks and compiled graphs of one compiled fit."""
    from torch._dynamo.utils import counters

    counters.clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model(device, compile=True).fit(X[:1024])
    failed = [
        str(w.message) for w in caught if "torch.compile failed" in str(w.message)
    ]
    breaks = {reason: count for reason, count in counters["graph_break"].items()}
    return {
        "graph_breaks": sum(breaks.values()),
        "reasons": breaks,
        "compilation_failed": failed,
    }


LOAD_ON_CPU = """
import pickle, sys, warnings
import numpy as np, torch
assert not torch.cuda.is_available()
warnings.simplefilter("ignore")
model = pickle.load(open(sys.argv[1], "rb"))
X = np.load(sys.argv[2])
before = model.transform(X)
model.partial_fit(X)
after = model.transform(X)
change = np.abs(after - before).max()
print(model.device_, model.n_iter_, np.isfinite(after).all(), change)
"""


def pickle_to_a_machine_without_cuda(X: np.ndarray, device: str) -> dict:
    """A GPU fit, pickled, then loaded, trained and used where CUDA is hidden."""
    fitted = model(device).fit(X[:1024])
    with tempfile.TemporaryDirectory() as folder:
        path, data = Path(folder, "model.pkl"), Path(folder, "X.npy")
        path.write_bytes(pickle.dumps(fitted))
        np.save(data, X[:256])
        hidden = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
        finished = subprocess.run(
            [sys.executable, "-c", LOAD_ON_CPU, str(path), str(data)],
            capture_output=True,
            text=True,
            env=hidden,
            timeout=300,
        )
    return {
        "returncode": finished.returncode,
        "output": (finished.stdout or finished.stderr).strip().splitlines()[-1:],
    }


def bfloat16_against_float32(X: np.ndarray, device: str) -> dict:
    """A bfloat16 model's outputs in bfloat16 against float32, and transform's."""
    fitted = model(device, precision="bf16").fit(X[:2048])
    codes = fitted.transform(X[:512])
    encoder = fitted.net_.module_.encoder.eval()
    inputs = fitted._tensor_data(X[:512]).to(fitted.net_.device)  # (N, C, H, W)
    with torch.inference_mode():
        _, full = encoder(inputs)
        with torch.autocast(torch.device(device).type, dtype=torch.bfloat16):
            _, reduced = encoder(inputs)
    full, reduced = full.float().cpu().numpy(), reduced.float().cpu().numpy()
    scale = np.abs(full).max()
    return {
        "bf16_vs_float32_max_abs_over_max": float(np.abs(reduced - full).max() / scale),
        "transform_dtype": str(codes.dtype),
        "transform_vs_float32_max_abs": float(np.abs(codes - full).max()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--images", type=int, default=8192)
    parser.add_argument("--out", type=Path, default=RESULTS / "gpu_diagnostics.json")
    args = parser.parse_args()
    on_cuda = torch.device(args.device).type == "cuda"
    warnings.simplefilter("ignore", ConvergenceWarning)  # fits of one epoch
    X = images(args.images)
    checks = {
        "synchronisations": (synchronisations, True),
        "kernels_and_copies": (kernels_and_copies, True),
        "peak_memory": (peak_memory, True),
        "resident_against_pinned": (resident_against_pinned, True),
        "graph_breaks": (graph_breaks, False),
        "pickle_to_a_machine_without_cuda": (pickle_to_a_machine_without_cuda, False),
        "bfloat16_against_float32": (bfloat16_against_float32, False),
    }
    results = {}
    for name, (check, needs_cuda) in checks.items():
        if needs_cuda and not on_cuda:
            print(f"{name}: skipped, needs CUDA")
            continue
        start = time.perf_counter()
        try:
            results[name] = check(X, args.device)
        except Exception as error:  # report every check, whatever one does
            results[name] = {"error": f"{type(error).__name__}: {error}"}
        print(f"{name} ({time.perf_counter() - start:.0f} s): {results[name]}")
    write_result(
        {
            "benchmark": "gpu_diagnostics",
            "images": args.images,
            "results": results,
            "environment": environment(device=args.device),
        },
        args.out,
    )


if __name__ == "__main__":
    main()
