"""Former name of :mod:`sk_dim.objectives.mim`, whose names it gives."""

from .objectives import mim as _module


def __getattr__(name: str):
    return getattr(_module, name)


def __dir__() -> list[str]:
    return dir(_module)
