"""
Choosing the estimator and the critic with GridSearchCV
=======================================================

Every parameter of ``DeepInfoMaxTransformer`` is a constructor argument, so a
pipeline of the transformer and a classifier is tuned like any scikit-learn
estimator. Here a 3-fold ``GridSearchCV`` on the digits chooses the
mutual-information estimator and the critic by the accuracy of the logistic
regression on the learned codes; the labels reach the classifier only. The
fits are kept short (8 epochs) for the gallery, so their
``ConvergenceWarning`` is silenced.
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sk_dim import DeepInfoMaxTransformer

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)

pipeline = Pipeline(
    [
        (
            "dim",
            DeepInfoMaxTransformer(
                n_components=32, critic_width=128, max_epochs=8, random_state=0
            ),
        ),
        ("scale", StandardScaler()),
        ("clf", LogisticRegression(max_iter=2000)),
    ]
)
grid = {
    "dim__mi_estimator": ["jsd", "infonce", "dv"],
    "dim__critic": ["encode_and_dot", "bilinear"],
}
search = GridSearchCV(pipeline, grid, cv=3)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    search.fit(X_train, y_train)

# %%
# The cross-validated accuracy of each pair, best first:

results = pd.DataFrame(search.cv_results_)
columns = ["param_dim__mi_estimator", "param_dim__critic", "mean_test_score"]
table = results[[*columns, "std_test_score", "mean_fit_time"]]
print(table.sort_values("mean_test_score", ascending=False).to_string(index=False))

# %%
# The best pipeline, refitted on all training images, on the test images:

print(f"best: {search.best_params_}")
print(f"test accuracy: {search.score(X_test, y_test):.4f}")

# %%
# The grid's cross-validated accuracy, estimator against critic:

scores = results.pivot(
    index="param_dim__mi_estimator",
    columns="param_dim__critic",
    values="mean_test_score",
)
fig, ax = plt.subplots(figsize=(5, 3.5))
image = ax.imshow(scores.to_numpy(), cmap="viridis")
ax.set_xticks(range(scores.shape[1]), scores.columns)
ax.set_yticks(range(scores.shape[0]), scores.index)
ax.set_xlabel("critic")
ax.set_ylabel("mutual-information estimator")
middle = scores.to_numpy().mean()
for (row, column), value in np.ndenumerate(scores.to_numpy()):
    colour = "black" if value > middle else "white"  # legible on light and dark
    ax.text(column, row, f"{value:.3f}", ha="center", va="center", color=colour)
fig.colorbar(image, label="mean accuracy, 3-fold CV")
fig.tight_layout()
plt.show()
