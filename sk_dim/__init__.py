"""Deep InfoMax and mutual-information representation learning for scikit-learn."""

from ._transformer import DeepInfoMaxTransformer
from ._version import __version__
from .mim import MutualInformationMachine
from .two_view import TwoViewInfoMax

__all__ = [
    "DeepInfoMaxTransformer",
    "MutualInformationMachine",
    "TwoViewInfoMax",
    "__version__",
]
