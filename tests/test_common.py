"""scikit-learn's estimator checks on every public estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sk_dim import DeepInfoMaxTransformer

from .conftest import TINY


@parametrize_with_checks([DeepInfoMaxTransformer(**{**TINY, "batch_size": 2})])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
