"""Former name of :mod:`sk_dim.mi_estimators`, whose names it gives."""

from . import mi_estimators as _module


def __getattr__(name: str):
    return getattr(_module, name)


def __dir__() -> list[str]:
    return dir(_module)
