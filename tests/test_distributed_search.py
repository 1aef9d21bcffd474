"""Hyper-parameter search on a cluster through joblib's dask backend."""

import numpy as np
import pytest
from joblib import parallel_config
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from sk_dim import DeepInfoMaxTransformer

distributed = pytest.importorskip("dask.distributed")


def test_grid_search_on_a_dask_cluster_matches_the_local_search():
    X, y = load_digits(return_X_y=True)
    X, y = X[:300], y[:300]
    dim = DeepInfoMaxTransformer(
        n_components=8, critic_width=32, max_epochs=2, random_state=0
    )
    pipe = Pipeline([("dim", dim), ("clf", LogisticRegression(max_iter=500))])
    grid = {"dim__mi_estimator": ["jsd", "infonce"]}
    local = GridSearchCV(pipe, grid, cv=2).fit(X, y)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        with distributed.get_task_stream(client) as tasks:
            with parallel_config(backend="dask"):
                search = GridSearchCV(pipe, grid, cv=2, n_jobs=-1).fit(X, y)
        cluster_workers = set(client.scheduler_info()["workers"])
    # the 4 fits (2 candidates x 2 folds) ran in the cluster's worker processes
    assert len(tasks.data) >= 4
    assert {task["worker"] for task in tasks.data} <= cluster_workers
    np.testing.assert_array_equal(
        search.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"]
    )
    assert search.best_params_ == local.best_params_
    assert search.score(X, y) == local.score(X, y)
