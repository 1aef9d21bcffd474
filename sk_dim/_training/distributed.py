"""Data-parallel training across processes with PyTorch's DistributedDataParallel.

A script launched with ``torchrun --nproc_per_node K`` runs ``fit`` in K
processes on the same data. ``fit`` sees torchrun's environment, starts the
default process group if there is none (NCCL on CUDA, gloo on the CPU) and
trains one model: each process encodes its share of every batch of
``batch_size`` samples, the gradients are averaged by DDP, and every
process ends with the same weights.

The objectives whose negatives are the other samples of a batch (every
estimator of Deep InfoMax and of two views) gather the features of all
processes before the critic, so that each sample is scored against the
negatives of the whole global batch, as in one process: the bound, and the
gradient, are those of the global batch. BatchNorm layers of the encoders
normalise each process's share, as DDP does by default.
"""

from __future__ import annotations

import atexit
import os
import warnings

import torch
import torch.distributed as dist
from torch import nn

from ..nn.gather import rank_and_world


def launched_by_torchrun() -> bool:
    """Whether this process is one of several started by torchrun."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and "RANK" in os.environ


def start_process_group(device: torch.device) -> None:
    """Start the default process group under torchrun, if there is none yet.

    On CUDA, ``device`` is this process's GPU (see :func:`local_device`):
    NCCL is bound to it, and it becomes the current CUDA device.
    """
    if not (launched_by_torchrun() and dist.is_available()) or dist.is_initialized():
        return
    if device.type == "cuda":
        torch.cuda.set_device(device)
        dist.init_process_group(backend="nccl", device_id=device)
    else:
        dist.init_process_group(backend="gloo")
    # the group's threads must end before the interpreter does, or the
    # process may abort at exit ("terminate called without an active exception")
    atexit.register(end_process_group)


def end_process_group() -> None:
    """End the default process group, if one is running."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def local_device(device: torch.device) -> torch.device:
    """The CUDA device of this process under torchrun: GPU ``LOCAL_RANK``.

    Each process trains on its own GPU; a device index given by the user
    (the same in every process) cannot say which, and is overridden with a
    warning.
    """
    if device.type != "cuda" or not launched_by_torchrun():
        return device
    local = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    if device.index is not None and device.index != local.index:
        warnings.warn(
            f"device={str(device)!r} under torchrun: each process trains on "
            f"its own GPU, LOCAL_RANK's; this one on {local}. Pass "
            "device='cuda' to choose it so.",
            UserWarning,
            stacklevel=4,
        )
    return local


def rank_share(batch: torch.Tensor) -> torch.Tensor:
    """This process's rows of a global batch: the rank-th of equal parts."""
    rank, world = rank_and_world()
    if world == 1:
        return batch
    share = len(batch) // world
    return batch[rank * share : (rank + 1) * share]


def data_parallel(module: nn.Module) -> nn.Module | None:
    """``module`` wrapped in DistributedDataParallel, or None in one process."""
    _, world = rank_and_world()
    if world == 1:
        return None
    parameter = next(module.parameters(), None)
    on_cuda = parameter is not None and parameter.device.type == "cuda"
    device_ids = [parameter.device.index] if on_cuda else None
    return nn.parallel.DistributedDataParallel(module, device_ids=device_ids)


def average_gradients(module: nn.Module) -> None:
    """Average the gradients of ``module`` across processes (nothing alone)."""
    _, world = rank_and_world()
    if world == 1:
        return
    for parameter in module.parameters():
        if parameter.grad is not None:
            dist.all_reduce(parameter.grad)
            parameter.grad /= world


def mean_across_processes(value: torch.Tensor) -> torch.Tensor:
    """The mean of a tensor over the processes (the tensor itself alone)."""
    _, world = rank_and_world()
    if world == 1:
        return value
    value = value.detach().clone()
    dist.all_reduce(value)
    return value / world


def any_across_processes(flag: bool, device: torch.device) -> bool:
    """Whether ``flag`` is true in any process (``flag`` itself alone)."""
    if rank_and_world()[1] == 1:
        return flag
    value = torch.tensor(float(flag), device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value)


def value_of_process_0(value: float, device: torch.device) -> float:
    """Process 0's ``value`` in every process (``value`` itself alone).

    Decisions taken from it, such as stopping, are then the same everywhere,
    even where the processes' own values differ in the last bits.
    """
    if rank_and_world()[1] == 1:
        return value
    tensor = torch.tensor(value, dtype=torch.float64, device=device)
    dist.broadcast(tensor, src=0)
    return float(tensor)


def broadcast_buffers(module: nn.Module) -> None:
    """Give every process the buffers of process 0 (BatchNorm statistics)."""
    _, world = rank_and_world()
    if world == 1:
        return
    for buffer in module.buffers():
        dist.broadcast(buffer, src=0)
