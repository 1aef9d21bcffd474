"""The three models as plain PyTorch modules.

:class:`DeepInfoMax` (Hjelm et al. 2019), the
:class:`LatentVariableModel` of the Mutual Information Machine (Livne et al.
2019) and the :class:`TwoViewModel` of Tschannen et al. (2020). Each takes its
encoder as an argument and trains in any loop of one's own.
"""

from ..latent import LatentVariableModel
from .deep_infomax import DeepInfoMax
from .two_view import TwoViewModel

__all__ = ["DeepInfoMax", "LatentVariableModel", "TwoViewModel"]
