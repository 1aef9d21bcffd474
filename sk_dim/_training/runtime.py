"""PyTorch settings for the duration of one fit or transform, restored afterwards."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import torch
from joblib import cpu_count


@contextlib.contextmanager
def cpu_thread_limit() -> Iterator[int]:
    """Run torch on no more threads than the CPUs this process may use.

    torch starts one thread per physical core of the machine, which
    oversubscribes a container limited to fewer CPUs by a cgroup quota;
    joblib's ``cpu_count`` honours such quotas and the CPU affinity mask. A
    lower setting of the user (``torch.set_num_threads``, ``OMP_NUM_THREADS``,
    or joblib's limits inside its workers) is kept.

    Yields
    ------
    int
        The number of threads in use.
    """
    previous = torch.get_num_threads()
    threads = min(previous, cpu_count())
    if threads == previous:
        yield previous
        return
    torch.set_num_threads(threads)
    try:
        yield threads
    finally:
        torch.set_num_threads(previous)


@contextlib.contextmanager
def cudnn_autotuning(device: torch.device) -> Iterator[bool]:
    """Let cuDNN time its convolution algorithms on ``device`` (CUDA only).

    Every training step has the same shapes, so the search pays off after
    the first steps. Skipped when the user asked for deterministic
    algorithms, which the search would defeat.

    Yields
    ------
    bool
        Whether autotuning is on.
    """
    deterministic = (
        torch.backends.cudnn.deterministic
        or torch.are_deterministic_algorithms_enabled()
    )
    if device.type != "cuda" or deterministic:
        yield torch.backends.cudnn.benchmark
        return
    previous = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = True
    try:
        yield True
    finally:
        torch.backends.cudnn.benchmark = previous


@contextlib.contextmanager
def compute_settings(device: torch.device) -> Iterator[None]:
    """The thread limit and, on CUDA, cuDNN autotuning, undone on exit."""
    with cpu_thread_limit(), cudnn_autotuning(device):
        yield


def free_memory(device: torch.device) -> int | None:
    """Bytes that ``device`` can still hold: CUDA's free memory, or the memory
    Linux reports available (``MemAvailable``); None where neither is known."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None
