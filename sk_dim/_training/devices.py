"""What each device trains with: the precisions, Adam's kernel, where a net lands."""

from __future__ import annotations

import warnings

import torch
from skorch.exceptions import DeviceWarning

#: Training precisions: autocast dtype of each, None for float32.
PRECISIONS = {"32": None, "bf16": torch.bfloat16, "16-mixed": torch.float16}


def check_precision(precision: str, device: torch.device) -> None:
    """Refuse a ``precision`` parameter that ``device`` cannot train in."""
    if precision == "16-mixed" and device.type != "cuda":
        raise ValueError(
            f"precision='16-mixed' (float16 with a gradient scaler) needs a CUDA "
            f"device, but the model trains on {device}; use precision='bf16' or "
            "'32' there."
        )


def resolve_precision(precision: str, device: torch.device, auto: str) -> str:
    """The training precision of a ``precision`` parameter on ``device``.

    "auto" is ``auto`` ("bf16" or "32") on a CUDA device with bfloat16
    support and "32" elsewhere. A model saved with "16-mixed" and loaded on
    a device without CUDA trains in "32" there.
    """
    on_cuda = device.type == "cuda"
    if precision == "auto":
        supported = on_cuda and torch.cuda.is_bf16_supported()
        return auto if supported else "32"
    if precision == "16-mixed" and not on_cuda:
        return "32"
    return precision


def present_device(device):
    """``device``, or ``"cuda:0"`` if it is a GPU index that this machine lacks.

    skorch maps a pickled net to the CPU when CUDA is absent; a net fitted
    on ``cuda:1`` and unpickled on a machine with one GPU goes to that GPU.
    """
    if device is None:
        return device
    resolved = torch.device(device)
    if resolved.type != "cuda" or not torch.cuda.is_available():
        return device
    count = torch.cuda.device_count()
    if (resolved.index or 0) < count:
        return device
    warnings.warn(
        f"The model was on {resolved}, but this machine has {count} CUDA "
        "device(s); it is loaded on cuda:0.",
        DeviceWarning,
        stacklevel=3,
    )
    return "cuda:0"


def adam_kernel(device: torch.device) -> dict[str, bool]:
    """Adam's fastest implementation on ``device``: fused on CUDA, else foreach.

    Both update all parameters in a few kernels instead of one loop per
    tensor; on the CPU, foreach makes small-batch steps about 20% faster.
    """
    return {"fused": True} if device.type == "cuda" else {"foreach": True}


def resolve_device(device: str | torch.device) -> torch.device:
    """The torch device of a ``device`` parameter ("auto": CUDA when available)."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(
            f"device must be 'auto' or a torch device such as 'cpu' or 'cuda:0', "
            f"got {device!r}."
        ) from None
    if resolved.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0 or (resolved.index or 0) >= count:
            raise ValueError(
                f"device={str(device)!r} names a CUDA device, but this machine "
                f"has {count} that torch can use; pass device='auto' (CUDA when "
                "available, else the CPU) or device='cpu'."
            )
    return resolved
