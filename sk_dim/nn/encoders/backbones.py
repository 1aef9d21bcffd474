"""Encoders made from a backbone, such as a torchvision or timm network.

:class:`BackboneEncoder` taps two layers of any ``nn.Module`` by name: the
output of one is the local feature map, and the pooled output of a deeper one
feeds a linear head that gives the global vector. Pass it as the ``encoder``
of :class:`~sk_dim.DeepInfoMaxTransformer`; torchvision and timm are never
needed by sk_dim itself.
"""

from __future__ import annotations

from functools import partial

import torch
from torch import nn

from .._checks import describe

__all__ = ["BackboneEncoder"]


def _record(outputs: dict, name: str, module, inputs, output) -> None:
    outputs[name] = output


class BackboneEncoder(nn.Module):
    """Deep InfoMax's encoder interface on two named layers of a backbone.

    Parameters
    ----------
    backbone : torch.nn.Module
        Any network of images, pretrained or not; it is trained along.
    local_layer : str
        Name, as in ``backbone.named_modules()``, of the layer whose (B, C,
        H, W) output is the local feature map (for a torchvision ResNet at 32
        pixels, ``"layer2"`` gives 128 x 4 x 4).
    sample_shape : tuple of int
        ``(C, H, W)`` of the images, to measure the layers.
    n_components : int
        Size of the global vector.
    global_layer : str or None, default=None
        Name of the layer whose output, average-pooled over its locations
        when it is a map, feeds the linear head of the global vector; None
        reads the backbone's own output (the logits of a classifier).

    Attributes
    ----------
    head : torch.nn.Linear
        The global features to the global vector.
    feature_sizes : dict
        Values per sample of the taps ``"local"``, ``"fc"`` (the pooled
        global features) and ``"global"``.

    Examples
    --------
    >>> from collections import OrderedDict
    >>> import torch
    >>> from torch import nn
    >>> from sk_dim.nn.encoders.backbones import BackboneEncoder
    >>> backbone = nn.Sequential(OrderedDict(
    ...     stem=nn.Conv2d(3, 8, 3, stride=2, padding=1),
    ...     block=nn.Conv2d(8, 16, 3, stride=2, padding=1),
    ...     pool=nn.AdaptiveAvgPool2d(1),
    ... ))
    >>> encoder = BackboneEncoder(backbone, "stem", (3, 32, 32), 10, "block")
    >>> local_map, global_vector = encoder(torch.zeros(2, 3, 32, 32))
    >>> local_map.shape, global_vector.shape
    (torch.Size([2, 8, 16, 16]), torch.Size([2, 10]))
    """

    takes_images = True
    has_local_map = True

    def __init__(
        self,
        backbone: nn.Module,
        local_layer: str,
        sample_shape: tuple[int, int, int],
        n_components: int,
        global_layer: str | None = None,
    ):
        super().__init__()
        names = dict(backbone.named_modules())
        for argument, name in (
            ("local_layer", local_layer),
            ("global_layer", global_layer),
        ):
            if name is not None and (name == "" or name not in names):
                known = ", ".join(list(filter(None, names))[:12])
                raise ValueError(
                    f"{argument}={name!r} is not a layer of the "
                    f"{type(backbone).__name__}; its layers include {known}."
                )
        self.backbone = backbone
        self.local_layer = local_layer
        self.global_layer = global_layer
        was_training = backbone.training
        backbone.eval()  # measured without touching BatchNorm statistics
        try:
            with torch.no_grad():
                local_map, pooled = self._taps(torch.zeros(2, *sample_shape))
        finally:
            backbone.train(was_training)
        if local_map.ndim != 4:
            raise ValueError(
                f"local_layer={local_layer!r} must give a (B, C, H, W) map, got "
                f"{describe(local_map)}."
            )
        self.local_channels, *local_size = local_map.shape[1:]
        self.local_size = tuple(local_size)
        self.head = nn.Linear(pooled.shape[1], n_components)
        self.feature_sizes = {
            "local": local_map[0].numel(),
            "fc": pooled.shape[1],
            "global": n_components,
        }

    def _taps(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The local map and the pooled (B, F) global features of images."""
        outputs: dict[str, torch.Tensor] = {}
        names = [self.local_layer, self.global_layer]
        handles = [
            self.backbone.get_submodule(name).register_forward_hook(
                partial(_record, outputs, name)
            )
            for name in filter(None, names)
        ]
        try:
            final = self.backbone(images)
        finally:
            for handle in handles:
                handle.remove()
        features = final if self.global_layer is None else outputs[self.global_layer]
        if features.ndim == 4:
            features = features.mean(dim=(2, 3))  # (B, C)
        return outputs[self.local_layer], features.flatten(1)

    def features(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """The taps ``"local"``, ``"fc"`` and ``"global"`` of (B, C, H, W) images."""
        local_map, pooled = self._taps(images)
        return {"local": local_map, "fc": pooled, "global": self.head(pooled)}

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The local feature map (B, C', H', W') and global vector (B, D)."""
        local_map, pooled = self._taps(images)
        return local_map, self.head(pooled)
