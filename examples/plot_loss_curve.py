"""
The loss curve and the held-out bound
=====================================

After ``fit``, ``loss_curve_`` holds the mean training loss of each epoch.
With ``early_stopping=True`` a share of the data is held out and
``validation_scores_`` records the mutual-information bound on it after each
epoch (the value ``score`` gives); the model keeps the weights of the best
epoch, and training stops once the bound has not improved for
``n_iter_no_change`` epochs. Here InfoNCE, whose value is a lower bound in
nats, is fitted on the digits.
"""

import math

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits

from sk_dim import DeepInfoMaxTransformer

X, _ = load_digits(return_X_y=True)
dim = DeepInfoMaxTransformer(
    mi_estimator="infonce",
    gamma=0.0,
    max_epochs=40,
    early_stopping=True,
    n_iter_no_change=5,
    tol=1e-3,
    random_state=0,
).fit(X)

epochs = range(1, dim.n_iter_ + 1)
print(
    f"epochs run: {dim.n_iter_}, best held-out bound {dim.best_validation_score_:.3f}"
)

figure, (loss_axis, bound_axis) = plt.subplots(1, 2, figsize=(10, 3.8))
loss_axis.plot(epochs, dim.loss_curve_, marker="o", ms=3)
loss_axis.set_xlabel("epoch")
loss_axis.set_ylabel("training loss (-InfoNCE)")
loss_axis.set_title("loss_curve_")
bound_axis.plot(epochs, dim.validation_scores_, marker="o", ms=3, label="held out")
bound_axis.axhline(
    math.log(dim.batch_size), color="grey", ls=":", label="log B, InfoNCE's ceiling"
)
bound_axis.set_xlabel("epoch")
bound_axis.set_ylabel("InfoNCE bound (nats)")
bound_axis.set_title("validation_scores_")
bound_axis.legend()
figure.tight_layout()
plt.show()
