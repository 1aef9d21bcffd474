"""Speed of the photo augmentation: sk_dim's own tensor code against kornia.

Both draw SimCLR's views (random resized crop, flip, colour jitter with
probability 0.8, grayscale with probability 0.2) for every image of a batch
of CIFAR-sized float images on one device. Reports images per second of each
(best of five rounds, alternating) and the ratio, for batch sizes 64, 256
and 1024. kornia is needed for its column (``pip install kornia``).

Usage::

    python benchmarks/augmentations.py [--device cpu]

Prints a table and writes ``benchmarks/results/augmentations.json``.
"""

from __future__ import annotations

import argparse
import time

import torch
from _results import RESULTS, environment, write_result

from sk_dim.nn.photo import PhotoAugmentation


def images_per_second(function, images: torch.Tensor, rounds: int = 5) -> float:
    """Best rate of ``function`` over ``rounds`` calls on ``images``."""
    function(images)  # warm-up
    best = float("inf")
    for _ in range(rounds):
        if images.is_cuda:
            torch.cuda.synchronize(images.device)
        start = time.perf_counter()
        function(images)
        if images.is_cuda:
            torch.cuda.synchronize(images.device)
        best = min(best, time.perf_counter() - start)
    return len(images) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--device", default="cuda" if torch.cuda.is_available() else "cpu"
    )
    args = parser.parse_args()
    try:
        from _kornia_views import KorniaPhotoAugmentation

        kornia_views = KorniaPhotoAugmentation((32, 32))
    except ImportError:
        kornia_views = None
    own = PhotoAugmentation()
    rows = []
    print(f"{'batch':>6} {'sk_dim img/s':>13} {'kornia img/s':>13} {'ratio':>7}")
    for batch in (64, 256, 1024):
        images = torch.rand(batch, 3, 32, 32, device=args.device) * 255
        own_rate = images_per_second(own, images)
        kornia_rate = (
            None if kornia_views is None else images_per_second(kornia_views, images)
        )
        ratio = None if kornia_rate is None else own_rate / kornia_rate
        rows.append(
            {"batch": batch, "sk_dim": own_rate, "kornia": kornia_rate, "ratio": ratio}
        )
        kornia_text = "-" if kornia_rate is None else f"{kornia_rate:13.0f}"
        ratio_text = "-" if ratio is None else f"{ratio:7.1f}"
        print(f"{batch:>6} {own_rate:13.0f} {kornia_text:>13} {ratio_text:>7}")
    write_result(
        {
            "benchmark": "augmentations",
            "device": args.device,
            "rows": rows,
            "environment": environment(),
        },
        RESULTS / "augmentations.json",
    )


if __name__ == "__main__":
    main()
