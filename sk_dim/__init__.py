"""Deep InfoMax and mutual-information representation learning for scikit-learn.

The estimators are imported on first use (PEP 562), so that ``import
sk_dim.nn``, the plain PyTorch core, does not import scikit-learn or skorch.
"""

from ._version import __version__

__all__ = [
    "DeepInfoMaxTransformer",
    "MutualInformationMachine",
    "TwoViewInfoMax",
    "__version__",
]

#: The module of each estimator, imported when the name is first used.
_ESTIMATOR_MODULES = {
    "DeepInfoMaxTransformer": "deep_infomax",
    "MutualInformationMachine": "mim",
    "TwoViewInfoMax": "two_view",
}


def __getattr__(name: str):
    if name in _ESTIMATOR_MODULES:
        import importlib

        module = importlib.import_module(f".{_ESTIMATOR_MODULES[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module 'sk_dim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
