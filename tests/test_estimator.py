"""The core estimator (issue 2): API, fitted attributes, scikit-learn's semantics.

* API and fitted attributes on every backend;
* same initial centers => the same result as scikit-learn's Lloyd in float64
  (identical labels, close centers, same n_iter and inertia);
* k-means++ quality on data with known clusters, ``n_init`` semantics, and
  ``kmeans_plusplus`` choosing the same samples as scikit-learn's.
"""

from __future__ import annotations

import inspect
import pickle
import warnings

import numpy as np
import pytest

import kmeans_xp
from kmeans_xp import KMeans, kmeans_plusplus
from kmeans_xp._testing import assert_same_backend, to_numpy, xp_assert_close, xp_assert_equal

sklearn = pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.cluster import KMeans as SKKMeans  # noqa: E402
from sklearn.cluster import kmeans_plusplus as sk_kmeans_plusplus  # noqa: E402
from sklearn.datasets import make_blobs  # noqa: E402
from sklearn.metrics import adjusted_rand_score  # noqa: E402

# eight blobs on the corners of a cube, far apart against their spread: every
# sensible seeding finds one center per blob, a bad one does not
CUBE = 10.0 * np.array(
    [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1], [1, 1, 1]]
)


def cube_blobs(n: int = 800, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    return make_blobs(n, centers=CUBE, cluster_std=1.0, random_state=seed)


def overlapping_blobs(n: int = 600, seed: int = 1) -> np.ndarray:
    """Blobs that touch, so Lloyd needs several iterations and labels move."""
    X, _ = make_blobs(n, centers=5, n_features=3, cluster_std=2.5, random_state=seed)
    return X


def weights(n: int, seed: int = 3) -> np.ndarray:
    return np.random.RandomState(seed).uniform(0.2, 3.0, n)


def need_float64(backend) -> None:
    if not backend.has_float64:
        pytest.skip(f"{backend.name} has no float64 on this device")


# ------------------------------------------------------------------- API
def test_public_names():
    assert {"KMeans", "kmeans_plusplus", "NotFittedError", "ConvergenceWarning"} <= set(
        kmeans_xp.__all__
    )
    assert isinstance(kmeans_xp.__version__, str)


def test_default_parameters_match_sklearn_names():
    params = KMeans().get_params()
    expected = {
        "n_clusters": 8,
        "init": "k-means++",
        "n_init": "auto",
        "max_iter": 300,
        "tol": 1e-4,
        "verbose": 0,
        "random_state": None,
        "algorithm": "lloyd",
    }
    for name, value in expected.items():
        assert params[name] == value, name
    sig = inspect.signature(KMeans.__init__)
    # everything but n_clusters is keyword-only, as in scikit-learn
    kinds = {name: p.kind for name, p in sig.parameters.items() if name != "self"}
    assert kinds.pop("n_clusters") is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert set(kinds.values()) == {inspect.Parameter.KEYWORD_ONLY}
    with pytest.raises(TypeError):
        KMeans(3, "random")  # type: ignore[misc]


def test_set_params_clone_repr():
    km = KMeans(3, random_state=0)
    assert km.set_params(n_clusters=5, init="random") is km
    assert km.n_clusters == 5 and km.init == "random"
    other = clone(km)
    assert other is not km and other.get_params() == km.get_params()
    assert "n_clusters=5" in repr(km)
    with pytest.raises(ValueError):
        km.set_params(not_a_parameter=1)


def test_fit_does_not_change_parameters():
    init = np.zeros((2, 2))
    km = KMeans(2, init=init, random_state=np.random.RandomState(0))
    before = {k: v for k, v in km.get_params().items() if k != "random_state"}
    km.fit(np.array([[0.0, 0.0], [1.0, 1.0], [5.0, 5.0]]))
    after = {k: v for k, v in km.get_params().items() if k != "random_state"}
    assert after.keys() == before.keys()
    assert after["init"] is init
    assert all(after[k] == before[k] for k in after if k != "init")


def test_fitted_attributes(backend):
    X = overlapping_blobs()
    Xb = backend.asarray(X)
    km = KMeans(5, random_state=0)
    assert km.fit(Xb) is km
    xp = backend.xp
    assert_same_backend(km.cluster_centers_, Xb, dtype=Xb.dtype)
    assert tuple(km.cluster_centers_.shape) == (5, 3)
    assert_same_backend(km.labels_, Xb)
    assert xp.isdtype(km.labels_.dtype, "integral")
    assert tuple(km.labels_.shape) == (600,)
    labels = to_numpy(km.labels_)
    assert labels.min() >= 0 and labels.max() <= 4
    assert set(np.unique(labels)) == set(range(5))
    assert type(km.inertia_) is float and km.inertia_ > 0
    assert type(km.n_iter_) is int and 1 <= km.n_iter_ <= 300
    assert km.n_features_in_ == 3 and type(km.n_features_in_) is int
    assert np.all(np.isfinite(to_numpy(km.cluster_centers_)))


def test_methods_are_consistent(backend):
    X = overlapping_blobs()
    Xb = backend.asarray(X)
    km = KMeans(5, random_state=0, tol=0.0).fit(Xb)
    labels = to_numpy(km.labels_)
    centers = to_numpy(km.cluster_centers_)

    # predict on the training data gives the fitted labels (converged run)
    xp_assert_equal(km.predict(Xb), labels, like=Xb)
    xp_assert_equal(KMeans(5, random_state=0, tol=0.0).fit_predict(Xb), labels, like=Xb)

    # transform: Euclidean distances to every center, in the input's dtype
    D = km.transform(Xb)
    assert_same_backend(D, Xb, dtype=Xb.dtype)
    expected = np.sqrt(((X[:, None, :] - centers[None, :, :]) ** 2).sum(-1))
    xp_assert_close(D, expected, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(np.argmin(to_numpy(D), axis=1), labels)
    xp_assert_close(
        KMeans(5, random_state=0, tol=0.0).fit_transform(Xb), expected, rtol=1e-9, atol=1e-9
    )

    # score is minus the inertia; inertia the direct sum of squared distances
    direct = float(((X - centers[labels]) ** 2).sum())
    assert km.inertia_ == pytest.approx(direct, rel=1e-12)
    assert km.score(Xb) == pytest.approx(-direct, rel=1e-12)

    # on new data: predict is the nearest center
    Y = np.random.RandomState(5).normal(scale=8.0, size=(50, 3))
    dist = ((Y[:, None, :] - centers[None, :, :]) ** 2).sum(-1)
    xp_assert_equal(km.predict(backend.asarray(Y)), np.argmin(dist, axis=1))
    assert km.score(backend.asarray(Y)) == pytest.approx(-dist.min(axis=1).sum(), rel=1e-12)


def test_weighted_score_and_inertia(backend):
    X = overlapping_blobs()
    w = weights(len(X))
    Xb, wb = backend.asarray(X), backend.asarray(w)
    km = KMeans(5, random_state=0, tol=0.0).fit(Xb, sample_weight=wb)
    labels, centers = to_numpy(km.labels_), to_numpy(km.cluster_centers_)
    direct = float((w * ((X - centers[labels]) ** 2).sum(1)).sum())
    assert km.inertia_ == pytest.approx(direct, rel=1e-12)
    assert km.score(Xb, sample_weight=wb) == pytest.approx(-direct, rel=1e-12)
    # centers are the weighted means of their clusters
    for j in range(5):
        m = labels == j
        np.testing.assert_allclose(centers[j], np.average(X[m], axis=0, weights=w[m]), rtol=1e-10)


def test_python_lists_are_accepted():
    X = [[1.0, 2.0], [1.0, 4.0], [1.0, 0.0], [10.0, 2.0], [10.0, 4.0], [10.0, 0.0]]
    km = KMeans(2, random_state=0).fit(X, sample_weight=[1, 1, 1, 1, 1, 1])
    assert isinstance(km.cluster_centers_, np.ndarray)
    assert sorted(km.cluster_centers_.tolist()) == [[1.0, 2.0], [10.0, 2.0]]
    assert km.predict([[0.0, 0.0]]).tolist() == [km.labels_[0]]


def test_verbose_reports_iterations(capsys):
    X = overlapping_blobs()
    km = KMeans(5, random_state=0, verbose=1).fit(X)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("Iteration")]
    assert len(lines) == km.n_iter_
    assert "inertia" in lines[0]


def test_refit_replaces_attributes():
    X1 = overlapping_blobs(600)
    X2 = overlapping_blobs(300, seed=2)[:, :2]
    km = KMeans(3, random_state=0).fit(X1)
    km.fit(X2)
    assert km.n_features_in_ == 2
    assert tuple(km.cluster_centers_.shape) == (3, 2)
    assert tuple(km.labels_.shape) == (300,)


# --------------------------------------------------- scikit-learn's Lloyd
# Hamerly (and "auto") must give Lloyd's result: each comparison runs all three
ALGORITHMS = ["lloyd", "hamerly", "auto"]


def _sk_fit(X, init, sample_weight=None, **params):
    sk = SKKMeans(init.shape[0], init=init, n_init=1, algorithm="lloyd", **params)
    return sk.fit(X, sample_weight=sample_weight)


def _assert_same_as_sklearn(km, sk, scale=1.0):
    np.testing.assert_array_equal(to_numpy(km.labels_), sk.labels_)
    np.testing.assert_allclose(
        to_numpy(km.cluster_centers_), sk.cluster_centers_, rtol=1e-10, atol=1e-12 * scale
    )
    assert km.n_iter_ == sk.n_iter_
    assert km.inertia_ == pytest.approx(sk.inertia_, rel=1e-10)


# Dask (~40 ms a pass) and JAX (a compile per shape): one combination by default
@pytest.mark.slow_on(
    "dask", "jax", when=lambda p: p["algorithm"] != "lloyd" or p["weighted"] or p["tol"] == 0.0
)
@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("tol", [1e-4, 0.0])
def test_same_init_same_result_as_sklearn(backend, weighted, tol, algorithm):
    need_float64(backend)
    X = overlapping_blobs()
    w = weights(len(X)) if weighted else None
    rng = np.random.RandomState(11)
    for _ in range(3):
        init = X[rng.choice(len(X), 5, replace=False)] + rng.normal(scale=0.1, size=(5, 3))
        km = KMeans(5, init=backend.asarray(init), tol=tol, algorithm=algorithm).fit(
            backend.asarray(X), sample_weight=None if w is None else backend.asarray(w)
        )
        sk = _sk_fit(X, init, w, tol=tol)
        _assert_same_as_sklearn(km, sk)


@pytest.mark.slow_on("dask", "jax", when=lambda p: p["algorithm"] == "lloyd")
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_many_clusters_same_as_sklearn(backend, algorithm):
    # 12 clusters: "auto" runs Hamerly here (from 8 clusters, where it prunes
    # well); every algorithm gives scikit-learn's Lloyd result
    need_float64(backend)
    X, _ = make_blobs(900, centers=6, n_features=4, cluster_std=2.0, random_state=4)
    w = weights(len(X))
    init = X[np.random.RandomState(5).choice(len(X), 12, replace=False)]
    km = KMeans(12, init=backend.asarray(init), tol=0.0, algorithm=algorithm).fit(
        backend.asarray(X), sample_weight=backend.asarray(w)
    )
    sk = _sk_fit(X, init, w, tol=0.0)
    assert sk.n_iter_ > 5, "the data should make the run long"
    _assert_same_as_sklearn(km, sk)


@pytest.mark.slow_on("dask", "jax", when=lambda p: p["algorithm"] != "lloyd" and p["max_iter"] != 2)
@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("max_iter", [1, 2, 5])
def test_truncated_runs_same_as_sklearn(backend, max_iter, algorithm):
    # a run cut by max_iter: the labels still match the final centers
    need_float64(backend)
    X = overlapping_blobs()
    init = X[:5] * 0.5
    km = KMeans(5, init=backend.asarray(init), max_iter=max_iter, algorithm=algorithm).fit(
        backend.asarray(X)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn may warn about convergence
        sk = _sk_fit(X, init, max_iter=max_iter)
    _assert_same_as_sklearn(km, sk)


@pytest.mark.slow_on("dask", "jax", when=lambda p: p["algorithm"] == "hamerly")
@pytest.mark.parametrize("algorithm", ["lloyd", "hamerly"])
def test_far_from_origin_same_as_sklearn(backend, algorithm):
    # data far from the origin take the centered path; the result must not change
    need_float64(backend)
    X = overlapping_blobs() + np.array([1e6, -3e5, 2e4])
    init = X[[3, 50, 100, 150, 200]]
    km = KMeans(5, init=backend.asarray(init), algorithm=algorithm).fit(backend.asarray(X))
    sk = _sk_fit(X, init)
    np.testing.assert_array_equal(to_numpy(km.labels_), sk.labels_)
    np.testing.assert_allclose(to_numpy(km.cluster_centers_), sk.cluster_centers_, rtol=1e-12)
    assert km.n_iter_ == sk.n_iter_
    assert km.inertia_ == pytest.approx(sk.inertia_, rel=1e-8)


@pytest.mark.slow_on("dask", "jax", when=lambda p: p["algorithm"] == "lloyd")
@pytest.mark.parametrize("algorithm", ["lloyd", "hamerly"])
def test_empty_cluster_relocated_as_sklearn(backend, algorithm):
    # the third initial center is far from every sample, so its cluster is
    # empty after the first assignment: it must take the farthest point, as
    # in scikit-learn (never zero or NaN)
    need_float64(backend)
    X = overlapping_blobs()
    init = np.array([X[0], X[1], [1e3, 1e3, 1e3], X[2], X[3]])
    km = KMeans(5, init=backend.asarray(init), algorithm=algorithm).fit(backend.asarray(X))
    sk = _sk_fit(X, init)
    _assert_same_as_sklearn(km, sk)
    assert len(np.unique(to_numpy(km.labels_))) == 5


def test_empty_cluster_first_iteration_takes_farthest_point():
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [9.0, 9.0]])
    init = np.array([[0.5, 0.5], [100.0, 100.0]])
    km = KMeans(2, init=init, max_iter=1).fit(X)
    # after one step: cluster 1 was empty and takes X[3], the farthest from its center
    np.testing.assert_allclose(km.cluster_centers_, [[1.0 / 3.0, 1.0 / 3.0], [9.0, 9.0]])
    np.testing.assert_array_equal(km.labels_, [0, 0, 0, 1])


@pytest.mark.parametrize("algorithm", ["lloyd", "hamerly"])
def test_high_dimension_same_as_sklearn(algorithm):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 2000)) + 3.0 * (np.arange(60) % 3)[:, None]
    init = X[[0, 1, 5]]
    km = KMeans(3, init=init, algorithm=algorithm).fit(X)
    _assert_same_as_sklearn(km, _sk_fit(X, init), scale=10.0)


# (Hamerly in the slow run: that Hamerly gives Lloyd's result is checked by
# default above and in test_backends.py; the random draws do not depend on it)
@pytest.mark.parametrize(
    "algorithm", ["lloyd", pytest.param("hamerly", marks=pytest.mark.slow)]
)  # "auto" is Lloyd for k=5
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("init", ["k-means++", "random"])
def test_seeded_runs_same_as_sklearn(init, weighted, algorithm):
    # random numbers come from the same NumPy RandomState calls as
    # scikit-learn's, so a seed gives the same clustering (n_init included)
    X = overlapping_blobs()
    w = weights(len(X)) if weighted else None
    for n_init in ("auto", 3):
        km = KMeans(5, init=init, n_init=n_init, random_state=42, algorithm=algorithm).fit(
            X, sample_weight=w
        )
        sk = SKKMeans(5, init=init, n_init=n_init, random_state=42).fit(X, sample_weight=w)
        _assert_same_as_sklearn(km, sk)


# ------------------------------------------------------ k-means++ seeding
@pytest.mark.slow_on("dask", "jax", when=lambda p: p["weighted"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_kmeans_plusplus_same_indices_as_sklearn(backend, weighted):
    need_float64(backend)
    X = overlapping_blobs()
    w = weights(len(X)) if weighted else None
    Xb = backend.asarray(X)
    wb = None if w is None else backend.asarray(w)
    for k, seed, trials in [
        (1, 0, None),
        (2, 1, None),
        (5, 2, None),
        (12, 3, None),
        (5, 4, 1),
        (7, 5, 6),
    ]:
        centers, idx = kmeans_plusplus(
            Xb, k, sample_weight=wb, random_state=seed, n_local_trials=trials
        )
        sk_centers, sk_idx = sk_kmeans_plusplus(
            X, k, sample_weight=w, random_state=seed, n_local_trials=trials
        )
        xp_assert_equal(idx, sk_idx, like=Xb)
        assert backend.xp.isdtype(idx.dtype, "integral")
        xp_assert_equal(centers, sk_centers, like=Xb, dtype=Xb.dtype)


@pytest.mark.slow_on("dask", "jax", when=lambda p: p["weighted"] or p["keep"] == "")
@pytest.mark.parametrize("keep", ["default", ""], ids=["gains-kept", "second-pass"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_kmeans_plusplus_wide_data_same_indices_as_sklearn(backend, weighted, keep, monkeypatch):
    # 64 features: a step keeps every scored row's gains (chunk by chunk in
    # memory, as a row-aligned array on Dask) unless told to make a second
    # pass; and n spans three sampling blocks, so a draw picks the block
    # first. Both must choose the samples scikit-learn chooses.
    need_float64(backend)
    from kmeans_xp import _init

    if keep == "":
        monkeypatch.setattr(_init, "_keep_mode", lambda xp, pad, d, gains_bytes=0: "")
    rs = np.random.RandomState(0)
    n, d, k = 2 * _init._DRAW_BLOCK + 301, 64, 12
    centers = rs.normal(scale=3.0, size=(k, d))
    X = centers[rs.randint(0, k, n)] + rs.normal(size=(n, d))
    w = rs.uniform(0.0, 2.0, n) if weighted else None
    if weighted:
        w[rs.rand(n) < 0.2] = 0.0
    Xb = backend.asarray(X)
    _, idx = kmeans_plusplus(
        Xb, k, sample_weight=None if w is None else backend.asarray(w), random_state=7
    )
    _, sk_idx = sk_kmeans_plusplus(X, k, sample_weight=w, random_state=7)
    xp_assert_equal(idx, sk_idx, like=Xb)
    if weighted:
        assert np.all(w[sk_idx] > 0)


@pytest.mark.parametrize("keep", ["default", ""], ids=["gains-kept", "second-pass"])
def test_kmeans_plusplus_small_narrow_data_keeps_gains(keep, monkeypatch):
    # 2 features: the gains of a step are 4x X, but within one chunk's
    # budget, so they are kept and the chosen candidate needs no second pass
    # (it cost a third of a tiny fit); both ways choose scikit-learn's samples
    from kmeans_xp import _init

    passes = []
    real = _init._pp_update_block
    monkeypatch.setattr(_init, "_pp_update_block", lambda *a: passes.append(1) or real(*a))
    if keep == "":
        monkeypatch.setattr(_init, "_keep_mode", lambda xp, pad, d, gains_bytes=0: "")
    rs = np.random.RandomState(3)
    n, k = 2 * _init._DRAW_BLOCK + 301, 8
    X = rs.normal(scale=4.0, size=(k, 2))[rs.randint(0, k, n)] + rs.normal(size=(n, 2))
    _, idx = kmeans_plusplus(X, k, random_state=5)
    _, sk_idx = sk_kmeans_plusplus(X, k, random_state=5)
    np.testing.assert_array_equal(idx, sk_idx)
    assert (len(passes) == 0) == (keep == "default")  # a block per chunk and step


def test_kmeans_plusplus_ignores_zero_weight_samples(backend):
    X, _ = cube_blobs(400)
    w = np.ones(len(X))
    w[::2] = 0.0
    for seed in range(5):
        _, idx = kmeans_plusplus(
            backend.asarray(X), 8, sample_weight=backend.asarray(w), random_state=seed
        )
        assert np.all(w[to_numpy(idx)] > 0)


@pytest.mark.slow_on("dask", "jax", when=lambda p: p["seed"] >= 2)
@pytest.mark.parametrize("seed", range(8))
def test_kmeans_plusplus_quality_on_known_clusters(backend, seed):
    X, y = cube_blobs()
    Xb = backend.asarray(X)
    _, idx = kmeans_plusplus(Xb, 8, random_state=seed)
    # greedy k-means++ puts one seed in each of the 8 separated blobs ...
    assert len(set(y[to_numpy(idx)])) == 8
    # ... so one initialisation recovers the true clusters
    km = KMeans(8, random_state=seed).fit(Xb)
    assert adjusted_rand_score(y, to_numpy(km.labels_)) == 1.0
    true_centers = np.stack([X[y == j].mean(0) for j in range(8)])
    got = to_numpy(km.cluster_centers_)
    # every fitted center is a true center (up to order)
    np.testing.assert_allclose(
        np.sort(got, axis=0), np.sort(true_centers, axis=0), rtol=1e-6, atol=1e-6
    )


def test_kmeans_plusplus_beats_random_seeding():
    # the reason for k-means++: one random initialisation often merges blobs
    X, y = cube_blobs()
    pp = [adjusted_rand_score(y, KMeans(8, random_state=s).fit(X).labels_) for s in range(10)]
    rnd = [
        adjusted_rand_score(y, KMeans(8, init="random", n_init=1, random_state=s).fit(X).labels_)
        for s in range(10)
    ]
    assert min(pp) == 1.0
    assert min(rnd) < 1.0  # the data are hard enough to tell the two apart


# ------------------------------------------------------------ n_init
def _same_fit(a: KMeans, b: KMeans) -> None:
    xp_assert_equal(a.labels_, to_numpy(b.labels_))
    xp_assert_equal(a.cluster_centers_, to_numpy(b.cluster_centers_))
    assert a.inertia_ == b.inertia_ and a.n_iter_ == b.n_iter_


@pytest.mark.slow_on("dask")
def test_n_init_auto(backend):
    X = backend.asarray(overlapping_blobs())
    # k-means++: one initialisation
    _same_fit(KMeans(5, random_state=3).fit(X), KMeans(5, n_init=1, random_state=3).fit(X))
    # random: ten
    _same_fit(
        KMeans(5, init="random", random_state=3).fit(X),
        KMeans(5, init="random", n_init=10, random_state=3).fit(X),
    )
    assert (
        KMeans(5, init="random", n_init=1, random_state=3).fit(X).inertia_
        != KMeans(5, init="random", n_init=10, random_state=3).fit(X).inertia_
    ), "data should make n_init=1 and n_init=10 differ"


@pytest.mark.slow_on("dask", "jax", when=lambda p: p["init"] == "random")
@pytest.mark.parametrize("init", ["k-means++", "random"])
def test_n_init_keeps_lowest_inertia_run(backend, init):
    X = backend.asarray(overlapping_blobs())
    n_init = 6
    # the n_init runs draw from one RandomState in turn: replay them one by one
    rs = np.random.RandomState(5)
    runs = [KMeans(5, init=init, n_init=1, random_state=rs).fit(X) for _ in range(n_init)]
    best = min(runs, key=lambda r: r.inertia_)
    inertias = sorted(r.inertia_ for r in runs)
    assert inertias[0] < inertias[-1], "the runs should differ for this test to mean something"
    km = KMeans(5, init=init, n_init=n_init, random_state=5).fit(X)
    _same_fit(km, best)


def test_n_init_with_array_init_runs_once(backend):
    X = overlapping_blobs()
    init = backend.asarray(X[:5])
    msg = r"Explicit initial center position passed: performing only one init in KMeans instead"
    with pytest.warns(RuntimeWarning, match=msg + r" of n_init=3\."):
        km = KMeans(5, init=init, n_init=3).fit(backend.asarray(X))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ref = KMeans(5, init=init, n_init=1).fit(backend.asarray(X))
        ref_auto = KMeans(5, init=init).fit(backend.asarray(X))
    _same_fit(km, ref)
    _same_fit(ref_auto, ref)


def test_fewer_distinct_points_warns():
    X = np.array([[0.0, 0.0]] * 5 + [[1.0, 1.0]] * 5)
    with pytest.warns(
        kmeans_xp.ConvergenceWarning, match=r"distinct clusters \(2\).*n_clusters \(3\)"
    ):
        km = KMeans(3, random_state=0).fit(X)
    assert np.all(np.isfinite(km.cluster_centers_))
    assert km.inertia_ == 0.0


def test_estimator_pickles_unfitted():
    km = KMeans(4, init="random", random_state=3)
    again = pickle.loads(pickle.dumps(km))
    assert again.get_params() == km.get_params()
