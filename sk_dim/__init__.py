"""Deep InfoMax and mutual-information representation learning for scikit-learn."""

from ._version import __version__
from .deep_infomax import DeepInfoMaxTransformer
from .mim import MutualInformationMachine
from .models import DeepInfoMax
from .two_view import TwoViewInfoMax

__all__ = [
    "DeepInfoMax",
    "DeepInfoMaxTransformer",
    "MutualInformationMachine",
    "TwoViewInfoMax",
    "__version__",
]
