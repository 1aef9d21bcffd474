"""Deep InfoMax and mutual-information representation learning for scikit-learn."""

from ._transformer import DeepInfoMaxTransformer
from ._version import __version__

__all__ = ["DeepInfoMaxTransformer", "__version__"]
