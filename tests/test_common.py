"""scikit-learn's estimator checks on every public estimator.

``parametrize_with_checks`` runs the checks of ``check_estimator``; the
transformer checks below are not part of it and run here explicitly. No check
is expected to fail.
"""

import pytest
from sklearn.utils.estimator_checks import (
    check_param_validation,
    check_set_output_transform,
    check_set_output_transform_pandas,
    check_transformer_get_feature_names_out,
    check_transformer_get_feature_names_out_pandas,
    parametrize_with_checks,
)

from sk_dim import DeepInfoMaxTransformer, MutualInformationMachine, TwoViewInfoMax
from sk_dim.nn.views import SplitColumns

from .conftest import TINY

# the checks' data sets are smaller than the default batches
pytestmark = pytest.mark.filterwarnings(r"ignore:batch_size=\d+ is larger:UserWarning")

#: Each estimator twice: with its defaults (a small epoch budget, batches
#: clipped to the checks' small data sets) and as a tiny model.
ESTIMATORS = [
    DeepInfoMaxTransformer(max_epochs=2),
    MutualInformationMachine(max_epochs=2),
    TwoViewInfoMax(views=SplitColumns(), max_epochs=2),
    DeepInfoMaxTransformer(**{**TINY, "batch_size": 2}),
    MutualInformationMachine(
        n_components=8,
        hidden_layer_sizes=(16,),
        batch_size=2,
        max_epochs=1,
        random_state=0,
    ),
    TwoViewInfoMax(
        n_components=8,
        views=SplitColumns(),
        hidden_layer_sizes=(16,),
        critic_width=16,
        batch_size=2,
        max_epochs=1,
        random_state=0,
    ),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.parametrize(
    "check",
    [
        check_param_validation,
        check_set_output_transform,
        check_set_output_transform_pandas,
        check_transformer_get_feature_names_out,
        check_transformer_get_feature_names_out_pandas,
    ],
    ids=lambda check: check.__name__,
)
@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_checks_outside_check_estimator(estimator, check):
    pytest.importorskip("pandas")
    check(type(estimator).__name__, estimator)
