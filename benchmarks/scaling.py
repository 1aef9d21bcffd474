"""Cost of an epoch against the number of samples and of processes, on the CPU.

The default ``DeepInfoMaxTransformer`` trains 2 epochs on the first N MNIST
training images, for each N of ``--sizes``, each fit in a fresh process:
the table gives the time of the second epoch (the first includes the
set-up) and the peak memory of the process. The growth of the epoch time
with N is fitted as ``time ~ N^k`` over the sizes (k = 1 is linear). Then
the largest N is read from a memmap, ``--chunk-size`` rows at a time, and
trained in 1 process and, under ``torchrun``, in 2 processes of one thread
each with the same global batch (the CPU's cores shared between them).

Usage::

    python benchmarks/scaling.py [--sizes 1000 3000 10000 30000 60000]
        [--chunk-size 8192] [--data MNIST.npz]

Prints a table and writes ``benchmarks/results/scaling.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from _mnist import load_mnist
from _results import RESULTS, environment, write_result

EPOCHS = 2


def worker(args) -> None:
    """One fit; prints its measurements as JSON (from process 0 under torchrun)."""
    import torch

    from sk_dim import DeepInfoMaxTransformer

    images = load_mnist(args.data)[0][: args.n_samples]
    if args.memmap:
        images = np.load(args.memmap, mmap_mode="r")
    model = DeepInfoMaxTransformer(
        max_epochs=EPOCHS,
        n_iter_no_change=EPOCHS,
        chunk_size=args.chunk_size,
        random_state=0,
        device="cpu",
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(images)
    fit_seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if int(os.environ.get("RANK", "0")) == 0:
        epoch_seconds = [row["dur"] for row in model.net_.history]
        print(
            json.dumps(
                {
                    "epoch_seconds": epoch_seconds[-1],
                    "fit_seconds": fit_seconds,
                    "peak_mb": peak_mb,
                    "threads": torch.get_num_threads(),
                    "final_loss": model.loss_curve_[-1],
                }
            )
        )


def measure(command: list[str]) -> dict:
    finished = subprocess.run(command, capture_output=True, text=True, check=False)
    if finished.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{finished.stderr[-3000:]}")
    return json.loads(finished.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[1000, 3000, 10000, 30000, 60000]
    )
    parser.add_argument("--chunk-size", type=int, default=8192)
    parser.add_argument(
        "--data", type=Path, help="a local .npz of MNIST (default: downloaded)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "scaling.json")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--n-samples", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--memmap", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return

    load_mnist(args.data)  # exits with advice when the data is missing
    script = [str(Path(__file__).resolve()), "--worker"]
    if args.data is not None:
        script += ["--data", str(args.data)]
    python = [sys.executable]
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    print(f"{'input':<22}{'N':>7}{'procs':>6}{'epoch s':>9}{'ms/img':>8}{'peak MB':>9}")
    rows = []

    def run(label: str, n: int, processes: int, command: list[str], **extra) -> None:
        row = {"input": label, "n_samples": n, "processes": processes, **extra}
        row |= measure(command)
        row["ms_per_image"] = 1000 * row["epoch_seconds"] / n
        rows.append(row)
        print(
            f"{label:<22}{n:>7}{processes:>6}{row['epoch_seconds']:>9.1f}"
            f"{row['ms_per_image']:>8.2f}{row['peak_mb']:>9.0f}"
        )

    for n in args.sizes:
        run("array", n, 1, [*python, *script, "--n-samples", str(n)])

    largest = max(args.sizes)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "images.npy"
        np.save(path, load_mnist(args.data)[0][:largest])
        streamed = [
            *script,
            "--memmap",
            str(path),
            "--chunk-size",
            str(args.chunk_size),
        ]
        label = f"memmap, chunks {args.chunk_size}"
        run(label, largest, 1, [*python, *streamed], chunk_size=args.chunk_size)
        run(
            label,
            largest,
            2,
            [*torchrun, "--nproc_per_node", "2", *streamed],
            chunk_size=args.chunk_size,
        )

    arrays = [row for row in rows if row["input"] == "array"]
    sizes = np.array([row["n_samples"] for row in arrays], dtype=float)
    times = np.array([row["epoch_seconds"] for row in arrays])
    exponent = float(np.polyfit(np.log(sizes), np.log(times), 1)[0])
    print(f"epoch time grows as N^{exponent:.2f} over N = {args.sizes}")
    write_result(
        {
            "benchmark": "scaling",
            "settings": {
                "sizes": args.sizes,
                "chunk_size": args.chunk_size,
                "epochs": EPOCHS,
                "data": str(args.data or "fetch_mnist"),
            },
            "rows": rows,
            "epoch_time_exponent": exponent,
            "environment": environment(cpus=os.cpu_count()),
        },
        args.out,
    )


if __name__ == "__main__":
    main()
