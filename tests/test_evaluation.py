import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_dim.datasets import make_correlated_gaussians
from sk_dim.evaluation import (
    knn_probe,
    linear_probe,
    mutual_information,
    neural_dependency_measure,
    shuffle_columns,
)


def correlated_pairs(n: int, d: int, rho: float, seed: int = 0):
    """x, y with d independent pairs of correlation rho: I = -d/2 log(1 - rho^2)."""
    true_mi = -d / 2 * np.log(1 - rho**2)
    rng = np.random.default_rng(seed)
    return (*make_correlated_gaussians(n, d, true_mi, random_state=rng), true_mi)


FAST = {"max_epochs": 20, "random_state": 0}


@pytest.mark.parametrize(("d", "rho"), [(1, 0.9), (2, 0.75)])
def test_mine_recovers_the_mutual_information_of_gaussians(d, rho):
    x, y, true_mi = correlated_pairs(2000, d, rho)
    assert mutual_information(x, y, **FAST) == pytest.approx(true_mi, abs=0.2)


def test_mine_is_near_zero_for_independent_data_and_grows_with_dependence():
    estimates = [
        mutual_information(*correlated_pairs(1000, 1, rho)[:2], **FAST)
        for rho in (0.0, 0.6, 0.95)
    ]
    assert abs(estimates[0]) < 0.1
    assert estimates[0] < estimates[1] < estimates[2]


def test_ndm_measures_the_total_correlation():
    rng = np.random.default_rng(0)
    independent = rng.normal(size=(4000, 3))
    dependent = independent.copy()
    dependent[:, 1] = 0.9 * dependent[:, 0] + np.sqrt(1 - 0.81) * dependent[:, 1]
    total_correlation = -0.5 * np.log(1 - 0.81)
    assert abs(neural_dependency_measure(independent, random_state=0)) < 0.1
    assert neural_dependency_measure(dependent, random_state=0) == pytest.approx(
        total_correlation, abs=0.2
    )


def test_shuffle_columns_keeps_each_column_and_breaks_rows():
    rows = torch.arange(200.0).reshape(100, 2)
    shuffled = shuffle_columns(rows, torch.Generator().manual_seed(0))
    for column in range(2):
        assert sorted(shuffled[:, column].tolist()) == rows[:, column].tolist()
    assert (shuffled[:, 1] - shuffled[:, 0] != 1).any()


def test_estimates_are_reproducible_and_leave_the_global_state_alone():
    x, y, _ = correlated_pairs(600, 1, 0.5)
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    first = mutual_information(x, y, max_epochs=2, random_state=3)
    assert torch.rand(1) == expected_next
    assert first == mutual_information(x, y, max_epochs=2, random_state=3)
    ndm = neural_dependency_measure(np.hstack([x, y]), max_epochs=2, random_state=3)
    assert ndm == neural_dependency_measure(
        np.hstack([x, y]), max_epochs=2, random_state=3
    )


def test_images_are_read_as_rows():
    x, y, _ = correlated_pairs(400, 4, 0.5)
    seeded = {"max_epochs": 1, "random_state": 0}
    assert mutual_information(x.reshape(400, 2, 2), y, **seeded) == (
        mutual_information(x, y, **seeded)
    )


def test_bad_input_is_refused():
    x, y, _ = correlated_pairs(300, 2, 0.5)
    with pytest.raises(ValueError, match=r"as many rows, got \{'X': 300, 'Y': 299\}"):
        mutual_information(x, y[:-1])
    with pytest.raises(ValueError, match=r"batch_size=200 must fit.*150 to train"):
        mutual_information(x, y, batch_size=200)
    x[0, 0] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        mutual_information(x, y)
    with pytest.raises(ValueError, match="at least 2 columns, got 1"):
        neural_dependency_measure(y[:, :1])


def test_linear_probe_of_raw_inputs_and_of_a_layer(digits, tiny):
    X, y = digits
    X_train, y_train, X_test, y_test = X[:1200], y[:1200], X[1200:], y[1200:]
    manual = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    expected = manual.fit(X_train, y_train).score(X_test, y_test)
    assert linear_probe(None, X_train, y_train, X_test, y_test) == expected

    dim = tiny().fit(X_train)
    fc = linear_probe(dim, X_train, y_train, X_test, y_test, layer="fc")
    assert dim.layer == "global"  # set back
    dim.set_params(layer="fc")
    assert fc == linear_probe(dim, X_train, y_train, X_test, y_test)


def test_linear_probe_chooses_c_by_cross_validation_on_the_training_data(digits):
    X, y = digits
    # digits beside many noise features and few labels: C=1 fits some noise
    noise = np.random.default_rng(0).normal(size=(len(X), 500))
    X = np.hstack([X, noise])
    X_train, y_train, X_test, y_test = X[:300], y[:300], X[300:], y[300:]
    grid = (0.001, 0.01, 0.1, 1.0)

    def reference(C):
        return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=1000))

    cv_scores = {C: [] for C in grid}
    for train, valid in StratifiedKFold(3).split(X_train, y_train):
        for C in grid:
            model = reference(C).fit(X_train[train], y_train[train])
            cv_scores[C].append(model.score(X_train[valid], y_train[valid]))
    best = max(grid, key=lambda C: np.mean(cv_scores[C]))
    expected = reference(best).fit(X_train, y_train).score(X_test, y_test)

    tuned = linear_probe(None, X_train, y_train, X_test, y_test, C=grid)
    assert best != 1.0
    assert tuned == expected
    assert tuned != linear_probe(None, X_train, y_train, X_test, y_test)


def weighted_votes_loop(train, labels, test, n_neighbors, temperature):
    """The weighted k-NN vote, one test sample at a time."""
    predictions = []
    for query in test:
        similarity = [
            row @ query / np.linalg.norm(row) / np.linalg.norm(query) for row in train
        ]
        nearest = np.argsort(similarity)[::-1][:n_neighbors]
        votes = {}
        for index in nearest:
            weight = np.exp(similarity[index] / temperature)
            votes[labels[index]] = votes.get(labels[index], 0.0) + weight
        predictions.append(max(votes, key=votes.get))
    return np.array(predictions)


@pytest.mark.parametrize(
    ("n_neighbors", "temperature"), [(1, 0.07), (5, 0.07), (7, 10.0)]
)
def test_knn_probe_matches_a_plain_loop_of_weighted_votes(n_neighbors, temperature):
    rng = np.random.default_rng(0)
    train, test = rng.normal(size=(60, 5)), rng.normal(size=(25, 5))
    labels = rng.choice(["a", "b", "c"], size=60)
    expected = weighted_votes_loop(train, labels, test, n_neighbors, temperature)
    y_test = rng.choice(["a", "b", "c"], size=25)
    accuracy = knn_probe(
        None,
        train,
        labels,
        test,
        y_test,
        n_neighbors=n_neighbors,
        temperature=temperature,
        batch_size=7,
    )
    assert accuracy == np.mean(expected == y_test)


def test_knn_probe_reads_directions_and_the_layer_asked_for(digits, tiny):
    rng = np.random.default_rng(0)
    directions = rng.normal(size=(3, 8))
    labels = rng.integers(3, size=300)
    scales = rng.uniform(0.1, 10, size=(300, 1))  # lengths carry no class
    rows = scales * (directions[labels] + 0.1 * rng.normal(size=(300, 8)))
    assert knn_probe(None, rows[:200], labels[:200], rows[200:], labels[200:]) == 1.0

    X, y = digits
    dim = tiny().fit(X[:600])
    fc = knn_probe(dim, X[:600], y[:600], X[600:900], y[600:900], layer="fc")
    assert dim.layer == "global"  # set back
    dim.set_params(layer="fc")
    assert fc == knn_probe(dim, X[:600], y[:600], X[600:900], y[600:900])


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"n_neighbors": 0}, "n_neighbors must be a positive int"),
        ({"n_neighbors": 2.5}, "n_neighbors must be a positive int"),
        ({"n_neighbors": 11}, "n_neighbors=11 is more than the 10 training"),
        ({"temperature": 0}, "temperature must be a positive number"),
        ({"batch_size": True}, "batch_size must be a positive int"),
    ],
)
def test_knn_probe_refuses_bad_arguments(params, message):
    rows, labels = np.eye(10), np.arange(10) % 2
    with pytest.raises(ValueError, match=message):
        knn_probe(None, rows, labels, rows, labels, **params)
