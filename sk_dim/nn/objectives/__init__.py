"""The objectives of the models: the losses that training minimises.

Each model has its own module: :mod:`sk_dim.nn.objectives.deep_infomax` (the
global, local and coordinate terms of Deep InfoMax),
:mod:`sk_dim.nn.objectives.two_view` (the bound between two views' codes) and
:mod:`sk_dim.nn.objectives.mim` (the Mutual Information Machine and the VAE).
"""

from ..mi_estimators import estimate_mi
from .deep_infomax import CoordinatePredictor, DeepInfoMaxObjective, coordinate_loss
from .mim import LatentObjective
from .two_view import CrossViewObjective

__all__ = [
    "CoordinatePredictor",
    "CrossViewObjective",
    "DeepInfoMaxObjective",
    "LatentObjective",
    "coordinate_loss",
    "estimate_mi",
]
