"""
Few labels: Deep InfoMax in a scikit-learn pipeline
===================================================

What a representation learned without labels is for: when labels are scarce.
``DeepInfoMaxTransformer`` learns its encoder from all of scikit-learn's 8x8
handwritten digits without their labels; then a logistic regression is
trained on a few labelled digits per class, inside
``Pipeline([("dim", FrozenEstimator(dim)), ("clf", LogisticRegression())])``,
and scored on every other digit. The same classifier on the raw pixels, and
on PCA fitted on the same unlabelled digits, are the baselines. Each setting
is repeated on five random draws of the labelled digits.

With all labels, raw pixels are already a good representation of these
digits; with a handful per class, the classifier must generalise from few
examples, and features that encode what stays the same under small shifts of
a digit help it do so.
"""

import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sk_dim import DeepInfoMaxTransformer

X, y = load_digits(return_X_y=True)
start = time.perf_counter()
dim = DeepInfoMaxTransformer(image_shape=(8, 8), random_state=0).fit(X)
print(
    f"Deep InfoMax learned from {len(X)} unlabelled digits in "
    f"{time.perf_counter() - start:.0f} s"
)


def few_label_accuracy(representation, labels_per_class: int, seed: int) -> float:
    """Accuracy on the unlabelled digits of a classifier trained on a few."""
    rng = np.random.default_rng(seed)
    labelled = np.concatenate(
        [
            rng.choice(np.flatnonzero(y == digit), labels_per_class, replace=False)
            for digit in range(10)
        ]
    )
    rest = np.setdiff1d(np.arange(len(y)), labelled)
    pipeline = Pipeline(
        [
            ("features", representation),
            ("scale", StandardScaler()),
            ("clf", LogisticRegression(max_iter=2000)),
        ]
    )
    pipeline.fit(X[labelled], y[labelled])
    return pipeline.score(X[rest], y[rest])


pca = PCA(n_components=16, random_state=0).fit(X)  # without labels too
representations = {
    "raw pixels": "passthrough",
    f"PCA, {pca.n_components_} components": FrozenEstimator(pca),
    "Deep InfoMax": FrozenEstimator(dim),
}
counts = [2, 5, 10, 50]
results = {name: [] for name in representations}
print(f"{'labels per class':>16}" + "".join(f"{name:>20}" for name in results))
for count in counts:
    for name, representation in representations.items():
        scores = [few_label_accuracy(representation, count, seed) for seed in range(5)]
        results[name].append(np.mean(scores))
    print(f"{count:>16}" + "".join(f"{r[-1]:>20.3f}" for r in results.values()))

gain = results["Deep InfoMax"][0] - results["raw pixels"][0]
print(
    f"With {counts[0]} labels per class, the representation learned without "
    f"labels scores {100 * gain:+.1f} points against raw pixels: it encodes what "
    "stays the same when a digit shifts, which a few examples cannot teach."
)

fig, ax = plt.subplots(figsize=(5, 3.5))
for name, accuracies in results.items():
    ax.plot(counts, accuracies, marker="o", label=name)
ax.set_xscale("log")
ax.set_xticks(counts, [str(count) for count in counts])
ax.minorticks_off()
ax.set_xlabel("labelled digits per class")
ax.set_ylabel("accuracy on the other digits")
ax.legend()
fig.tight_layout()
plt.show()
