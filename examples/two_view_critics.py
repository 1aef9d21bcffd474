"""
Two views and the critic that scores them
=========================================

The top and the bottom halves of scikit-learn's 8x8 digits are two views of
each image. ``TwoViewInfoMax`` trains one MLP per half to maximise InfoNCE
between their codes, with a bilinear, a separable and a concat-MLP critic;
a logistic regression on the top-half codes then shows how much of the
digit each one kept, beside the same classifier on the top-half pixels. The
bound on held-out images is printed too: a higher bound does not mean a
better representation. ``benchmarks/critic_study.py`` runs the MNIST version of
this experiment of Tschannen et al. (2020).
"""

import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from sk_dim import TwoViewInfoMax
from sk_dim.nn.views import SplitColumns

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)


def probe(features):
    """A scaled logistic regression after ``features``."""
    return Pipeline(
        [
            ("features", features),
            ("scale", StandardScaler()),
            ("clf", LogisticRegression(max_iter=2000)),
        ]
    )


top_pixels = probe(FunctionTransformer(lambda rows: rows[:, : rows.shape[1] // 2]))
top_pixels.fit(X_train, y_train)
pixel_accuracy = top_pixels.score(X_test, y_test)
print(f"top-half pixels: test accuracy {pixel_accuracy:.4f}")
models, accuracies = {}, {}
for critic in ["bilinear", "separable", "concat"]:
    model = TwoViewInfoMax(
        32,
        views=SplitColumns(),
        critic=critic,
        hidden_layer_sizes=(128, 128),
        max_epochs=30,
        random_state=0,
    )
    start = time.perf_counter()
    pipeline = probe(model).fit(X_train, y_train)  # labels reach the classifier only
    seconds = time.perf_counter() - start
    accuracy = pipeline.score(X_test, y_test)
    bound = model.score(X_test)
    models[critic], accuracies[critic] = model, accuracy
    print(
        f"{critic:>9} critic: test accuracy {accuracy:.4f}, held-out InfoNCE "
        f"{bound:.2f} nats  (fit {seconds:.1f} s)"
    )

# %%
# The bound that each critic reaches on the training batches, epoch by epoch,
# and what a linear classifier reads from the top-half codes afterwards:

fig, (curves, bars) = plt.subplots(1, 2, figsize=(9, 3.5))
for critic, model in models.items():
    epochs = np.arange(1, model.n_iter_ + 1)
    curves.plot(epochs, -np.asarray(model.loss_curve_), label=critic)
curves.set_xlabel("epoch")
curves.set_ylabel("InfoNCE bound, training batches (nats)")
curves.legend(title="critic")
names = [*accuracies, "top-half pixels"]
values = [*accuracies.values(), pixel_accuracy]
bars.barh(names, values, color=["C0", "C1", "C2", "0.6"])
bars.set_xlim(min(values) - 0.05, max(values) + 0.03)
bars.set_xlabel("test accuracy of a linear probe")
for row, value in enumerate(values):
    bars.text(value + 0.003, row, f"{value:.3f}", va="center")
fig.tight_layout()
plt.show()
