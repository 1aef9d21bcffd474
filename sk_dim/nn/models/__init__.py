"""The three models as plain PyTorch modules.

:class:`DeepInfoMax` (Hjelm et al. 2019), the
:class:`LatentVariableModel` of the Mutual Information Machine (Livne et al.
2019) and the :class:`TwoViewModel` of Tschannen et al. (2020). Each takes its
encoder as an argument, follows the protocol of :class:`InfoMaxModel`
(``loss(batch)`` gives a :class:`ModelLoss`) and trains in any loop of one's
own.
"""

from .base import InfoMaxModel, ModelLoss
from .deep_infomax import DeepInfoMax
from .latent_variable import LatentVariableModel
from .two_view import TwoViewModel

__all__ = [
    "DeepInfoMax",
    "InfoMaxModel",
    "LatentVariableModel",
    "ModelLoss",
    "TwoViewModel",
]
