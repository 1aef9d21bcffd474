"""
Deep InfoMax in a scikit-learn pipeline
=======================================

Fits ``Pipeline([("dim", DeepInfoMaxTransformer()), ("clf", LogisticRegression())])``
on scikit-learn's 8x8 handwritten digits without using the labels for the
representation, and compares the test accuracy with the same classifier on the
raw pixels.
"""

import time

from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sk_dim import DeepInfoMaxTransformer

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)

pipelines = {
    "raw pixels": Pipeline(
        [("scale", StandardScaler()), ("clf", LogisticRegression(max_iter=2000))]
    ),
    "Deep InfoMax": Pipeline(
        [
            ("dim", DeepInfoMaxTransformer(random_state=0, verbose=1)),
            ("clf", LogisticRegression(max_iter=2000)),
        ]
    ),
}

print(f"digits: {len(X_train)} training and {len(X_test)} test images")
for name, pipeline in pipelines.items():
    start = time.perf_counter()
    pipeline.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    accuracy = pipeline.score(X_test, y_test)
    print(f"{name:>14}: test accuracy {accuracy:.4f}  (fit {seconds:.1f} s)")
