"""Evaluating representations: linear and k-NN probes, held-out MI and dependency.

- :func:`linear_probe`: test accuracy of a logistic regression on a
  representation, the standard measure of its linear usefulness;
- :func:`knn_probe`: test accuracy of a weighted k-nearest-neighbour vote on
  normalised features, the other standard, which trains nothing;
- :func:`mutual_information`: MINE's estimate of I(X; Y) between inputs and
  their representation, trained on one part of the data and read on the
  other;
- :func:`neural_dependency_measure`: the NDM of Deep InfoMax, how far the
  dimensions of a representation are from independent.

The last two train a small network with Adam; they are seeded by
``random_state`` and leave torch's global random state untouched.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_array, column_or_1d
from torch import nn
from torch.nn import functional as F

from ._base import draw_seed
from .nn.bounds import dv_bound, dv_estimate, jsd_estimate
from .nn.critics import ConcatCritic
from .nn.mi_estimators import DV

__all__ = [
    "knn_probe",
    "linear_probe",
    "mutual_information",
    "neural_dependency_measure",
]


def _features(transformer, *arrays) -> list[np.ndarray]:
    """``transformer.transform`` of each array, or the arrays flattened."""
    if transformer is None:
        return [np.asarray(X).reshape(len(X), -1) for X in arrays]
    return [transformer.transform(X) for X in arrays]


def _probe_features(transformer, layer: str | None, *arrays) -> list[np.ndarray]:
    """:func:`_features` of the layer ``layer`` (None: as set), set back after."""
    if layer is None:
        return _features(transformer, *arrays)
    previous = transformer.get_params()["layer"]
    transformer.set_params(layer=layer)
    try:
        return _features(transformer, *arrays)
    finally:
        transformer.set_params(layer=previous)


def linear_probe(
    transformer,
    X_train,
    y_train,
    X_test,
    y_test,
    *,
    layer: str | None = None,
    C: float | Sequence[float] = 1.0,
    cv: int = 3,
    max_iter: int = 1000,
    n_jobs: int | None = None,
) -> float:
    """Test accuracy of a logistic regression on a fitted representation.

    The features of ``transformer`` are standardised and a
    ``LogisticRegression`` is fitted on the training labels; the transformer
    itself is not refitted. Given several values of ``C``, the probe picks
    the one of the best cross-validated accuracy on the training data alone,
    as linear evaluations of self-supervised representations tune their
    regularisation: wide layers (thousands of features against thousands of
    labels) need much stronger regularisation than a short code does.

    Parameters
    ----------
    transformer : fitted transformer or None
        Any fitted scikit-learn transformer (a
        :class:`~sk_dim.DeepInfoMaxTransformer`, a PCA); None probes the
        inputs themselves, flattened.
    X_train, X_test : array-like
        Inputs of the transformer.
    y_train, y_test : array-like of shape (n_samples,)
        Class labels.
    layer : str, default=None
        For a transformer with a ``layer`` parameter, the layer to probe
        (such as "conv"); the transformer is set back to its own layer
        afterwards. None probes the transformer as set.
    C : float or sequence of float, default=1.0
        Inverse regularisation strength of the logistic regression, or the
        values to choose it from by cross-validation on the training data.
    cv : int, default=3
        Folds of that cross-validation (stratified, in order); unused with a
        single ``C``.
    max_iter : int, default=1000
        Iterations of the logistic regression's solver.
    n_jobs : int, default=None
        Fits of the cross-validation run in parallel (joblib's convention).

    Returns
    -------
    float
        Accuracy on ``(X_test, y_test)``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.decomposition import PCA
    >>> from sk_dim.evaluation import linear_probe
    >>> X, y = load_digits(return_X_y=True)
    >>> pca = PCA(16, random_state=0).fit(X[:1000])
    >>> round(linear_probe(pca, X[:1000], y[:1000], X[1000:], y[1000:]), 2)
    0.91
    >>> tuned = linear_probe(
    ...     pca, X[:1000], y[:1000], X[1000:], y[1000:], C=(0.01, 0.1, 1.0)
    ... )
    >>> round(tuned, 2)
    0.91
    """
    train_features, test_features = _probe_features(transformer, layer, X_train, X_test)
    classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=max_iter))
    if isinstance(C, Real):
        classifier.set_params(logisticregression__C=C)
    else:
        classifier = GridSearchCV(
            classifier, {"logisticregression__C": list(C)}, cv=cv, n_jobs=n_jobs
        )
    classifier.fit(train_features, y_train)
    return float(classifier.score(test_features, y_test))


def knn_probe(
    transformer,
    X_train,
    y_train,
    X_test,
    y_test,
    *,
    layer: str | None = None,
    n_neighbors: int = 20,
    temperature: float = 0.07,
    batch_size: int = 1024,
) -> float:
    """Test accuracy of a weighted k-nearest-neighbour vote on a representation.

    The protocol of Wu et al. (2018) and solo-learn: features are scaled to
    unit length, each test sample takes its ``n_neighbors`` most
    cosine-similar training samples, and each neighbour votes for its class
    with weight ``exp(similarity / temperature)``; the class of most weight
    wins. Nothing is trained, so the probe reads how the representation
    arranges the classes without a linear layer in between.

    Parameters
    ----------
    transformer : fitted transformer or None
        As for :func:`linear_probe`; None probes the inputs themselves.
    X_train, X_test : array-like
        Inputs of the transformer.
    y_train, y_test : array-like of shape (n_samples,)
        Class labels.
    layer : str, default=None
        As for :func:`linear_probe`.
    n_neighbors : int, default=20
        Neighbours that vote, at most the training samples.
    temperature : float, default=0.07
        Sharpness of the votes: small values let the nearest neighbours
        decide.
    batch_size : int, default=1024
        Test samples compared with all training samples at a time.

    Returns
    -------
    float
        Accuracy on ``(X_test, y_test)``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.decomposition import PCA
    >>> from sk_dim.evaluation import knn_probe
    >>> X, y = load_digits(return_X_y=True)
    >>> pca = PCA(16, random_state=0).fit(X[:1000])
    >>> round(knn_probe(pca, X[:1000], y[:1000], X[1000:], y[1000:]), 2)
    0.95
    """
    for name, value in (("n_neighbors", n_neighbors), ("batch_size", batch_size)):
        if not isinstance(value, Integral) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}.")
    if not isinstance(temperature, Real) or not temperature > 0:
        raise ValueError(f"temperature must be a positive number, got {temperature!r}.")
    train_features, test_features = _probe_features(transformer, layer, X_train, X_test)
    y_train, y_test = column_or_1d(y_train), column_or_1d(y_test)
    if n_neighbors > len(train_features):
        raise ValueError(
            f"n_neighbors={n_neighbors} is more than the {len(train_features)} "
            "training samples; pass fewer neighbours or more samples."
        )
    classes, train_labels = np.unique(y_train, return_inverse=True)
    train = F.normalize(torch.as_tensor(train_features, dtype=torch.float32), dim=1)
    labels = torch.as_tensor(train_labels)
    predicted = []
    for start in range(0, len(test_features), batch_size):
        chunk = torch.as_tensor(test_features[start : start + batch_size])
        similarity = F.normalize(chunk.float(), dim=1) @ train.T  # (b, N)
        nearest, index = similarity.topk(n_neighbors, dim=1)  # (b, k)
        votes = torch.zeros(len(chunk), len(classes))  # (b, classes)
        votes.scatter_add_(1, labels[index], torch.exp(nearest / temperature))
        predicted.append(votes.argmax(dim=1))
    return float(np.mean(classes[torch.cat(predicted).numpy()] == y_test))


def _standardized_split(
    arrays: Sequence[np.ndarray], test_size: float, batch_size: int, rng
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Shuffle, split and standardise ``arrays`` with the training statistics."""
    n_samples = len(arrays[0])
    n_test = math.ceil(test_size * n_samples)
    n_train = n_samples - n_test
    if n_test < 2 or batch_size > min(n_train, n_test):
        raise ValueError(
            f"batch_size={batch_size} must fit in both parts of the data: "
            f"test_size={test_size} of {n_samples} samples leaves {n_train} to "
            f"train and {n_test} to evaluate; pass more samples or a smaller "
            "batch_size."
        )
    order = rng.permutation(n_samples)
    train, test = [], []
    for array in arrays:
        array = array[order]
        mean = array[:n_train].mean(axis=0)
        std = array[:n_train].std(axis=0)
        scaled = (array - mean) / np.where(std > 0, std, 1.0)
        train.append(torch.as_tensor(scaled[:n_train], dtype=torch.float32))
        test.append(torch.as_tensor(scaled[n_train:], dtype=torch.float32))
    return train, test


def _fit_and_bound(
    network: nn.Module,
    train_loss: Callable[..., torch.Tensor],
    held_out_bound: Callable[..., torch.Tensor],
    train: list[torch.Tensor],
    test: list[torch.Tensor],
    *,
    batch_size: int,
    max_epochs: int,
    lr: float,
    generator: torch.Generator,
) -> float:
    """Train ``network`` on batches of ``train``; mean bound over ``test`` batches."""
    optimizer = torch.optim.Adam(network.parameters(), lr=lr)
    n_train = len(train[0])
    network.train()
    for _ in range(max_epochs):
        order = torch.randperm(n_train, generator=generator)
        for start in range(0, n_train - batch_size + 1, batch_size):
            index = order[start : start + batch_size]
            loss = train_loss(*(array[index] for array in train))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    network.eval()
    n_test = len(test[0])
    with torch.no_grad():
        bounds = [
            held_out_bound(*(array[start : start + batch_size] for array in test))
            for start in range(0, n_test - batch_size + 1, batch_size)
        ]
    return float(torch.stack(bounds).mean())


def _check_rows_and_seed(
    arrays: dict[str, object], random_state
) -> tuple[list[np.ndarray], int]:
    """Finite float rows of each named array, of equal length, and a seed."""
    checked = [
        check_array(value, dtype=np.float64, allow_nd=True, input_name=name)
        for name, value in arrays.items()
    ]
    checked = [array.reshape(len(array), -1) for array in checked]
    lengths = {name: len(array) for name, array in zip(arrays, checked, strict=True)}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"The arrays must have as many rows, got {lengths}.")
    seed = draw_seed(random_state)
    return checked, seed


def mutual_information(
    X,
    Y,
    *,
    hidden_features: int = 128,
    batch_size: int = 128,
    max_epochs: int = 50,
    lr: float = 1e-3,
    test_size: float = 0.5,
    moving_average: float = 0.01,
    random_state=None,
) -> float:
    """Held-out MINE estimate of the mutual information I(X; Y), in nats.

    A statistics network ``T(x, y)`` (an MLP on ``[x; y]`` with two hidden
    layers) is trained on ``1 - test_size`` of the pairs to maximise the
    Donsker-Varadhan bound ``E_joint[T] - log E_marginal[exp T]``, with
    MINE's bias-corrected gradient; the other pairs of each batch are the
    samples of the product of marginals. The bound is then evaluated on the
    held-out pairs, so that it does not reward memorising the training set.
    It is a lower bound in expectation, limited by what the network can
    express and by the data: when the information is large, the mean of
    ``exp T`` over a batch's negatives is ruled by a few of them, so the
    estimate grows noisy and, for a given number of samples, falls short of
    the true value (no sample estimate can certify much more than the log of
    the number of samples; McAllester and Stratos 2020).

    Parameters
    ----------
    X : array-like of shape (n_samples, ...)
        Inputs (flattened to rows).
    Y : array-like of shape (n_samples, n_components)
        Their representations.
    hidden_features : int, default=128
        Width of the statistics network.
    batch_size : int, default=128
        Pairs per step and per evaluation batch.
    max_epochs : int, default=50
        Passes over the training pairs.
    lr : float, default=1e-3
        Learning rate of Adam.
    test_size : float, default=0.5
        Share of the pairs held out for the estimate.
    moving_average : float, default=0.01
        Weight of the newest batch in MINE's moving average.
    random_state : int, RandomState instance or None, default=None
        Seeds the split, the initialisation and the batch order.

    Returns
    -------
    float
        The held-out estimate.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_dim.evaluation import mutual_information
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(2000, 1))
    >>> y = 0.9 * x + np.sqrt(1 - 0.9**2) * rng.normal(size=(2000, 1))
    >>> true_mi = -0.5 * np.log(1 - 0.9**2)  # 0.83 nats
    >>> estimate = mutual_information(x, y, max_epochs=20, random_state=0)
    >>> bool(abs(estimate - true_mi) < 0.2)
    True
    """
    (X, Y), seed = _check_rows_and_seed({"X": X, "Y": Y}, random_state)
    train, test = _standardized_split(
        (X, Y), test_size, batch_size, np.random.RandomState(seed)
    )
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        critic = ConcatCritic(
            X.shape[1], Y.shape[1], hidden_features, n_hidden_layers=2
        )
    estimator = DV(moving_average=moving_average)

    def scores(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return critic(x[:, None], y)  # (B, B, 1): T(x_b, y_a)

    return _fit_and_bound(
        critic,
        lambda x, y: -estimator(scores(x, y)),
        lambda x, y: dv_bound(scores(x, y)),
        train,
        test,
        batch_size=batch_size,
        max_epochs=max_epochs,
        lr=lr,
        generator=torch.Generator().manual_seed(seed),
    )


def shuffle_columns(rows: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Permute each column of (N, D) ``rows`` independently.

    The result is a sample of the product of the marginals of the columns.
    """
    keys = torch.rand(rows.shape, generator=generator)  # (N, D)
    return rows.gather(0, keys.argsort(dim=0))


def neural_dependency_measure(
    Y,
    *,
    hidden_features: int = 128,
    batch_size: int = 128,
    max_epochs: int = 50,
    lr: float = 1e-3,
    test_size: float = 0.5,
    random_state=None,
) -> float:
    """Neural dependency measure (NDM) of Deep InfoMax, in nats.

    A discriminator (an MLP with two hidden layers) learns to tell rows of
    ``Y`` from rows whose columns were shuffled independently, that is
    samples of the product of the marginals, with the Jensen-Shannon loss;
    the NDM is the Donsker-Varadhan estimate of the KL divergence between
    the two (the total correlation of ``Y``) read with it on held-out rows.
    It is near 0 for independent dimensions and grows with their
    dependence.

    Parameters
    ----------
    Y : array-like of shape (n_samples, n_components)
        Representations, at least two columns.
    hidden_features : int, default=128
        Width of the discriminator.
    batch_size : int, default=128
        Rows per step and per evaluation batch (columns are shuffled within
        a batch).
    max_epochs : int, default=50
        Passes over the training rows.
    lr : float, default=1e-3
        Learning rate of Adam.
    test_size : float, default=0.5
        Share of the rows held out for the estimate.
    random_state : int, RandomState instance or None, default=None
        Seeds the split, the initialisation, the batch order and the
        shuffles.

    Returns
    -------
    float
        The held-out estimate.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_dim.evaluation import neural_dependency_measure
    >>> rng = np.random.default_rng(0)
    >>> independent = rng.normal(size=(2000, 4))
    >>> ndm = neural_dependency_measure(independent, max_epochs=5, random_state=0)
    >>> bool(abs(ndm) < 0.05)
    True
    """
    (Y,), seed = _check_rows_and_seed({"Y": Y}, random_state)
    if Y.shape[1] < 2:
        raise ValueError(
            f"The NDM measures dependence between columns, so Y needs at least 2 "
            f"columns, got {Y.shape[1]}."
        )
    train, test = _standardized_split(
        (Y,), test_size, batch_size, np.random.RandomState(seed)
    )
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        discriminator = nn.Sequential(
            nn.Linear(Y.shape[1], hidden_features),
            nn.ReLU(),
            nn.Linear(hidden_features, hidden_features),
            nn.ReLU(),
            nn.Linear(hidden_features, 1),
        )
    generator = torch.Generator().manual_seed(seed)

    def scores(y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        joint = discriminator(y).squeeze(1)  # (B,)
        marginal = discriminator(shuffle_columns(y, generator)).squeeze(1)  # (B,)
        return joint, marginal

    return _fit_and_bound(
        discriminator,
        lambda y: -jsd_estimate(*scores(y)),
        lambda y: dv_estimate(*scores(y)),
        train,
        test,
        batch_size=batch_size,
        max_epochs=max_epochs,
        lr=lr,
        generator=generator,
    )
