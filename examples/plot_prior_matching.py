"""
Matching the code to a prior
============================

With ``gamma > 0``, a discriminator learns to tell samples of the prior from
encoded codes and the encoder learns to fool it. With the uniform prior, the
sigmoid of each value of Y is pushed towards a uniform distribution on [0, 1];
without it, nothing constrains the distribution of Y. The histograms pool
the values of all components of ``sigmoid(Y)`` over the digits, for the same
model fitted with ``gamma=0`` and ``gamma=1``.
"""

import matplotlib.pyplot as plt
from scipy.special import expit
from scipy.stats import kstest
from sklearn.datasets import load_digits

from sk_dim import DeepInfoMaxTransformer

X, _ = load_digits(return_X_y=True)

figure, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
for axis, gamma in zip(axes, [0.0, 1.0], strict=True):
    dim = DeepInfoMaxTransformer(
        n_components=16, gamma=gamma, prior="uniform", max_epochs=20, random_state=0
    )
    values = expit(dim.fit_transform(X)).ravel()
    distance = kstest(values, "uniform").statistic
    axis.hist(values, bins=40, range=(0, 1), density=True)
    axis.axhline(1.0, color="black", lw=1, label="uniform prior")
    axis.set_title(f"gamma={gamma:g}: KS distance to uniform {distance:.3f}")
    axis.set_xlabel("sigmoid(Y), all components")
    print(f"gamma={gamma:g}: Kolmogorov-Smirnov distance to uniform {distance:.3f}")
axes[0].set_ylabel("density")
axes[0].legend()
figure.tight_layout()
plt.show()
