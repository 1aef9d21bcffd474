"""Fit a pipeline with the sk_dim installed from the wheel, away from the sources."""

from pathlib import Path

from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

import sk_dim
from sk_dim import DeepInfoMaxTransformer

installed = Path(sk_dim.__file__).resolve().parent
assert installed.parent.name == "site-packages", installed  # not the sources
assert (installed / "py.typed").exists()
X, y = load_digits(return_X_y=True)
pipe = Pipeline(
    [
        ("dim", DeepInfoMaxTransformer(max_epochs=2, random_state=0)),
        ("clf", LogisticRegression(max_iter=1000)),
    ]
)
accuracy = pipe.fit(X[:1200], y[:1200]).score(X[1200:], y[1200:])
print(f"sk_dim {sk_dim.__version__} from {installed}: accuracy {accuracy:.3f}")
assert accuracy > 0.5
