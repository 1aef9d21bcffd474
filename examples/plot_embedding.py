"""
A 2-D map of the learned representation
=======================================

``DeepInfoMaxTransformer`` learns a 64-value code Y of each digit without
labels. A t-SNE map of Y, coloured by the (unseen) labels, shows how far the
code separates the digits; beside it are the first two principal components
of the pixels, the linear view of the same data, and a t-SNE map of the
pixels themselves. The accuracy of a 5-nearest-neighbour classifier in each
2-D map puts a number on each picture.
"""

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from sklearn.model_selection import cross_val_score, train_test_split
from sklearn.neighbors import KNeighborsClassifier

from sk_dim import DeepInfoMaxTransformer
from sk_dim.evaluation import knn_probe, linear_probe

X, y = load_digits(return_X_y=True)
codes = DeepInfoMaxTransformer(max_epochs=15, random_state=0).fit_transform(X)

maps = {
    "PCA of the pixels": PCA(n_components=2).fit_transform(X),
    "t-SNE of the pixels": TSNE(random_state=0).fit_transform(X),
    "t-SNE of the Deep InfoMax code Y": TSNE(random_state=0).fit_transform(codes),
}

figure, axes = plt.subplots(1, 3, figsize=(13, 4.4))
for axis, (title, points) in zip(axes, maps.items(), strict=True):
    accuracy = cross_val_score(KNeighborsClassifier(5), points, y, cv=5).mean()
    scatter = axis.scatter(*points.T, c=y, cmap="tab10", s=4)
    axis.set_title(f"{title}\n5-NN accuracy in 2-D: {accuracy:.3f}", fontsize=10)
    axis.set_xticks([])
    axis.set_yticks([])
    print(f"{title:>33}: 5-NN accuracy {accuracy:.3f}")
figure.colorbar(scatter, ax=axes, ticks=range(10), label="digit")
plt.show()

# %%
# The linear map of the pixels mixes most digits. Y, learned without labels,
# gathers each digit in its own region; on these small 8x8 images, t-SNE of
# the pixels themselves separates them about as well. What Y adds is linear
# separability: on MNIST, a logistic regression on Y is six points more
# accurate than one on the pixels (see the benchmarks).

# %%
# The field's two probes read the whole code instead of a 2-D map, on digits
# the representation was not trained on: a logistic regression
# (:func:`~sk_dim.evaluation.linear_probe`) and a vote of the 20 nearest
# training codes by cosine similarity (:func:`~sk_dim.evaluation.knn_probe`),
# which trains nothing.

X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, random_state=0, stratify=y
)
dim = DeepInfoMaxTransformer(max_epochs=15, random_state=0).fit(X_train)
for name, transformer in [("pixels", None), ("Deep InfoMax Y", dim)]:
    linear = linear_probe(transformer, X_train, y_train, X_test, y_test)
    knn = knn_probe(transformer, X_train, y_train, X_test, y_test)
    print(f"{name:>15}: linear probe {linear:.3f}, k-NN probe {knn:.3f}")

# %%
# On 1,257 training digits of 8x8 pixels both probes favour the pixels, which
# already separate these small images well; a representation learned from
# unlabelled data pays on larger images, where the benchmarks measure a
# logistic regression on Y at six points above one on the pixels of MNIST.
