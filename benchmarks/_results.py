"""What every benchmark records beside its rows, and where it writes them."""

from __future__ import annotations

import json
import platform
from pathlib import Path

import sklearn
import torch

import sk_dim

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"


def environment(**extra) -> dict:
    """Versions and threads of this run, plus ``extra`` entries."""
    return {
        "sk_dim": sk_dim.__version__,
        "torch": torch.__version__,
        "sklearn": sklearn.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        **extra,
    }


def write_result(result: dict, path: Path) -> None:
    """Write ``result`` as indented JSON to ``path``, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, default=repr))
    print(f"wrote {path}")
