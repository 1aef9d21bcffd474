"""What training changes in a net, copied and put back; moving a net to a device."""

from __future__ import annotations

import copy

import torch
from skorch import NeuralNet


def fitted_optimizers(
    net: NeuralNet,
) -> dict[str, torch.optim.Optimizer | torch.amp.GradScaler]:
    """The optimisers of ``net``, and float16's gradient scaler, by attribute name."""
    return {
        name: value
        for name, value in vars(net).items()
        if isinstance(value, torch.optim.Optimizer | torch.amp.GradScaler)
    }


def copy_weights(net: NeuralNet) -> dict[str, torch.Tensor]:
    """A copy of the state dict of the model, ``net.module_``."""
    return {key: value.clone() for key, value in net.module_.state_dict().items()}


def training_state(net: NeuralNet) -> dict:
    """Copies of what training changes: weights, optimiser states, history.

    :func:`restore_training_state` puts them back, in place.
    """
    return {
        "weights": copy_weights(net),
        "optimizers": {
            name: copy.deepcopy(value.state_dict())
            for name, value in fitted_optimizers(net).items()
        },
        "history": copy.deepcopy(net.history),
        "callbacks": (net.callbacks, getattr(net, "callbacks_", None)),
    }


def restore_training_state(net: NeuralNet, state: dict) -> None:
    """Return ``net`` to a :func:`training_state`."""
    net.module_.load_state_dict(state["weights"])
    for name, optimizer_state in state["optimizers"].items():
        getattr(net, name).load_state_dict(optimizer_state)
    net.history = state["history"]
    net.callbacks, net.callbacks_ = state["callbacks"]


def move_to(net: NeuralNet, device: torch.device) -> None:
    """Move the model and the optimisers' states of ``net`` to ``device``.

    The optimisers reload their own state, which puts each tensor where
    its parameter now is (and Adam's step counts where its kernel wants
    them). float16 with a gradient scaler needs CUDA: elsewhere the net
    trains in float32.
    """
    net.module_.to(device)
    for optimizer in fitted_optimizers(net).values():
        if isinstance(optimizer, torch.optim.Optimizer):
            optimizer.load_state_dict(optimizer.state_dict())
    net.device = device
    if net.precision == "16-mixed" and device.type != "cuda":
        net.precision = "32"
        net.grad_scaler_ = None
