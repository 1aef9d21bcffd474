"""The plain PyTorch core of sk_dim, usable without scikit-learn or skorch.

Encoders (:mod:`sk_dim.nn.encoders`), critics (:mod:`sk_dim.nn.critics`),
mutual-information bounds (:mod:`sk_dim.nn.bounds`) and the estimators that
wrap them (:mod:`sk_dim.nn.mi_estimators`), the prior of Deep InfoMax
(:mod:`sk_dim.nn.prior`), views of the data (:mod:`sk_dim.nn.augmentations`,
:mod:`sk_dim.nn.photo`, :mod:`sk_dim.nn.views`), the models' losses
(:mod:`sk_dim.nn.objectives`) and the three models
(:mod:`sk_dim.nn.models`), each an ``nn.Module`` that trains in a loop of
one's own. The estimators of :mod:`sk_dim` build and train these modules.
"""

from .models import DeepInfoMax, LatentVariableModel, TwoViewModel

__all__ = ["DeepInfoMax", "LatentVariableModel", "TwoViewModel"]
