"""Former name of :mod:`sk_dim.mim_networks`, whose names it gives."""

from . import mim_networks as _module


def __getattr__(name: str):
    return getattr(_module, name)


def __dir__() -> list[str]:
    return dir(_module)
