"""Rows of every process under torchrun, gathered for the bounds of a model.

The bounds whose negatives are the other samples of a batch gather the
features of all processes before the critic, so that each sample is scored
against the negatives of the whole global batch, as in one process. Alone,
:func:`gather_rows` returns its input.
"""

from __future__ import annotations

import torch
import torch.distributed as dist

__all__ = ["gather_rows", "rank_and_world"]


def rank_and_world() -> tuple[int, int]:
    """This process's rank and the number of processes.

    Returns
    -------
    rank, world : int
        0 and 1 outside a process group.

    Examples
    --------
    >>> from sk_dim.nn.gather import rank_and_world
    >>> rank_and_world()
    (0, 1)
    """
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class _GatherRows(torch.autograd.Function):
    """All-gather along the rows whose backward sums each process's gradients.

    Every process computes the loss of the whole gathered batch; the
    gradient of a process's own rows is the sum, over the processes, of the
    gradients of their losses for those rows. It is computed densely (an
    all-reduce of the gathered gradient, then the process's rows), which
    gloo supports and which holds for gradients of any memory layout.
    """

    @staticmethod
    def forward(ctx, tensor: torch.Tensor) -> torch.Tensor:
        rank, world = rank_and_world()
        tensor = tensor.contiguous()
        parts = [
            torch.empty(tensor.shape, dtype=tensor.dtype, device=tensor.device)
            for _ in range(world)
        ]
        dist.all_gather(parts, tensor)
        ctx.rank, ctx.share = rank, len(tensor)
        return torch.cat(parts)

    @staticmethod
    def backward(ctx, gradient: torch.Tensor) -> torch.Tensor:
        gradient = gradient.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(gradient)  # in place, on a copy of autograd's buffer
        return gradient[ctx.rank * ctx.share : (ctx.rank + 1) * ctx.share]


def gather_rows(tensor: torch.Tensor) -> torch.Tensor:
    """The rows of every process, concatenated in rank order; differentiable.

    The backward pass gives each process the gradient, summed over the
    processes, of its own rows.

    Parameters
    ----------
    tensor : torch.Tensor of shape (B, ...)
        This process's rows.

    Returns
    -------
    torch.Tensor of shape (world * B, ...)
        The rows of every process; alone, ``tensor`` itself.

    Examples
    --------
    >>> import torch
    >>> from sk_dim.nn.gather import gather_rows
    >>> gather_rows(torch.ones(2, 3)).shape
    torch.Size([2, 3])
    """
    _, world = rank_and_world()
    if world == 1:
        return tensor
    return _GatherRows.apply(tensor)
