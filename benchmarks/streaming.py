"""Reading streamed data ahead of training, against reading it in turn.

A fit reads out-of-core data a chunk at a time. sk_dim reads the next chunk
in a background thread while the batches of the current one train. This
benchmark fits the same model on the same rows, stored behind a reader that
takes a set time per chunk (a slow disk or network store), once with the
reading ahead and once with each chunk read when the previous one is used
up, in one process, alternating, and reports the seconds of each and their
ratio.

Usage::

    python benchmarks/streaming.py [--read-seconds 0.5] [--chunks 16]

Prints a table and writes ``benchmarks/results/streaming.json``.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
from _results import RESULTS, environment, write_result
from sklearn.exceptions import ConvergenceWarning

import sk_dim._training.batches
from sk_dim import DeepInfoMaxTransformer


class SlowRows:
    """An array-like with shape and slicing whose every read takes ``seconds``."""

    def __init__(self, array: np.ndarray, seconds: float):
        self.array = array
        self.shape = array.shape
        self.dtype = array.dtype
        self.seconds = seconds

    def __getitem__(self, rows):
        time.sleep(self.seconds)  # sleeping releases the GIL, as disk reads do
        return self.array[rows]


def fit_seconds(X, chunk_rows: int, read_ahead: bool) -> float:
    prefetched = sk_dim._training.batches.prefetched
    if not read_ahead:
        sk_dim._training.batches.prefetched = iter  # each chunk read when needed
    try:
        model = DeepInfoMaxTransformer(
            n_components=16, max_epochs=1, chunk_size=chunk_rows, random_state=0
        )
        start = time.perf_counter()
        model.fit(X)
        return time.perf_counter() - start
    finally:
        sk_dim._training.batches.prefetched = prefetched


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--read-seconds", type=float, default=0.5)
    parser.add_argument("--chunks", type=int, default=16)
    parser.add_argument("--chunk-rows", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS / "streaming.json")
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)  # fits of one epoch
    rng = np.random.default_rng(0)
    rows = rng.integers(0, 256, (args.chunks * args.chunk_rows, 1, 28, 28), np.uint8)
    X = SlowRows(rows, args.read_seconds)
    seconds = {True: [], False: []}
    for _ in range(args.repeats):
        for read_ahead in (True, False):
            seconds[read_ahead].append(fit_seconds(X, args.chunk_rows, read_ahead))
    ahead, in_turn = min(seconds[True]), min(seconds[False])
    reads = args.chunks * args.read_seconds
    print("chunks  read s/chunk  reading s  read ahead s  in turn s  ratio")
    print(
        f"{args.chunks:6d}  {args.read_seconds:12.2f}  {reads:9.1f}  "
        f"{ahead:12.1f}  {in_turn:9.1f}  {ahead / in_turn:5.3f}"
    )
    write_result(
        {
            "benchmark": "streaming",
            "chunks": args.chunks,
            "chunk_rows": args.chunk_rows,
            "read_seconds": args.read_seconds,
            "seconds_read_ahead": seconds[True],
            "seconds_in_turn": seconds[False],
            "ratio": ahead / in_turn,
            "environment": environment(),
        },
        args.out,
    )


if __name__ == "__main__":
    main()
