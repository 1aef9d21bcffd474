"""Deep InfoMax and mutual-information representation learning for scikit-learn."""

from ._transformer import DeepInfoMaxTransformer

__version__ = "0.1.0"

__all__ = ["DeepInfoMaxTransformer", "__version__"]
