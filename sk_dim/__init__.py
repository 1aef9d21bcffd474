"""Deep InfoMax and mutual-information representation learning for scikit-learn."""

from ._transformer import DeepInfoMaxTransformer
from ._version import __version__
from .mim import MutualInformationMachine

__all__ = ["DeepInfoMaxTransformer", "MutualInformationMachine", "__version__"]
