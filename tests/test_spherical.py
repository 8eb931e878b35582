"""SphericalKMeans (issue 5): cosine k-means checked against a direct NumPy computation."""

from __future__ import annotations

import numpy as np
import pytest

from kmeans_xp import ConvergenceWarning, KMeans, NotFittedError, SphericalKMeans
from kmeans_xp._testing import assert_same_backend, to_numpy

EAGER = pytest.mark.backends("numpy", "array_api_strict", "torch", "jax", "cupy", "torch_cuda")


def directions(n=600, d=5, k=4, seed=0, noise=0.15):
    """Rows pointing near k unit directions, with lengths spread over 3 decades."""
    rs = np.random.RandomState(seed)
    mu = rs.normal(size=(k, d))
    mu /= np.linalg.norm(mu, axis=1, keepdims=True)
    labels = rs.randint(0, k, size=n)
    X = mu[labels] + noise * rs.normal(size=(n, d))
    X *= 10.0 ** rs.uniform(-1, 2, size=(n, 1))
    return X, mu, labels


def unit(A):
    return A / np.linalg.norm(A, axis=1, keepdims=True)


def reference(X, w, init, max_iter=300):
    """Spherical k-means, written directly: labels, centers, inertia, n_iter."""
    Xn = unit(X)
    C = unit(init)
    prev = None
    n_iter = 0
    for n_iter in range(1, max_iter + 1):  # noqa: B007 - returned after the loop
        lab = np.argmax(Xn @ C.T, axis=1)
        if prev is not None and np.array_equal(lab, prev):
            break
        S = np.zeros_like(C)
        for j in range(C.shape[0]):
            S[j] = (w[lab == j, None] * Xn[lab == j]).sum(axis=0)
        C = unit(S)
        prev = lab
    sims = Xn @ C.T
    lab = np.argmax(sims, axis=1)
    inertia = float(np.sum(w * (1.0 - sims[np.arange(len(X)), lab])))
    return lab, C, inertia, n_iter


@EAGER
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_matches_direct_computation(backend, dtype):
    if dtype == "float64" and not backend.has_float64:
        pytest.skip("no float64 on this device")
    X, _, _ = directions(noise=0.6)  # overlapping clusters: several iterations
    w = np.random.RandomState(1).uniform(0.2, 3.0, size=X.shape[0])
    init = X[[0, 1, 2, 3]]
    lab, C, inertia, n_iter = reference(X, w, init)
    assert n_iter > 3
    Xb = backend.asarray(X, dtype=dtype)
    skm = SphericalKMeans(4, init=backend.asarray(init, dtype=dtype), tol=0.0).fit(
        Xb, sample_weight=backend.asarray(w, dtype=dtype)
    )
    assert_same_backend(skm.cluster_centers_, Xb, dtype=Xb.dtype)
    assert_same_backend(skm.labels_, Xb)
    rtol = 1e-10 if dtype == "float64" else 2e-5
    np.testing.assert_array_equal(to_numpy(skm.labels_), lab)
    np.testing.assert_allclose(to_numpy(skm.cluster_centers_), C, rtol=rtol, atol=rtol)
    assert skm.inertia_ == pytest.approx(inertia, rel=rtol * 10)
    assert skm.n_iter_ == n_iter


@EAGER
def test_predict_transform_score_direct(backend):
    X, _, _ = directions(400, 6, 3, seed=2)
    skm = SphericalKMeans(3, random_state=0).fit(backend.asarray(X))
    C = to_numpy(skm.cluster_centers_)
    np.testing.assert_allclose(np.linalg.norm(C, axis=1), 1.0, rtol=1e-12)
    Xt, _, _ = directions(50, 6, 3, seed=3)
    w = np.random.RandomState(4).uniform(0.0, 2.0, size=50)
    sims = unit(Xt) @ C.T
    Xb = backend.asarray(Xt)
    pred = skm.predict(Xb)
    assert_same_backend(pred, Xb)
    np.testing.assert_array_equal(to_numpy(pred), np.argmax(sims, axis=1))
    dist = skm.transform(Xb)
    assert_same_backend(dist, Xb, dtype=Xb.dtype)
    np.testing.assert_allclose(to_numpy(dist), 1.0 - sims, rtol=1e-10, atol=1e-12)
    expected = -np.sum(w * (1.0 - sims.max(axis=1)))
    assert skm.score(Xb, sample_weight=backend.asarray(w)) == pytest.approx(expected, rel=1e-10)


@EAGER
def test_same_seed_same_result_on_every_backend(backend):
    X, _, _ = directions(500, 4, 5, seed=5, noise=0.4)
    ref = SphericalKMeans(5, random_state=3, init="random").fit(X)
    got = SphericalKMeans(5, random_state=3, init="random").fit(backend.asarray(X))
    assert got.n_iter_ == ref.n_iter_
    np.testing.assert_array_equal(to_numpy(got.labels_), ref.labels_)
    np.testing.assert_allclose(
        to_numpy(got.cluster_centers_), ref.cluster_centers_, rtol=1e-9, atol=1e-12
    )
    assert got.inertia_ == pytest.approx(ref.inertia_, rel=1e-9)


def test_finds_directions_where_euclidean_kmeans_does_not():
    X, mu, labels = directions(900, 5, 3, seed=6, noise=0.1)
    skm = SphericalKMeans(3, random_state=0).fit(X)
    # every true direction has a center within a small angle
    cos = skm.cluster_centers_ @ mu.T
    assert cos.max(axis=0).min() > 0.99
    # clusters are the true ones up to a permutation
    from collections import Counter

    pairs = Counter(zip(skm.labels_.tolist(), labels.tolist(), strict=True))
    assert sum(sorted(pairs.values())[-3:]) == len(labels)
    # Euclidean k-means splits by length instead (lengths span 3 decades)
    km = KMeans(3, random_state=0).fit(X)
    km_pairs = Counter(zip(km.labels_.tolist(), labels.tolist(), strict=True))
    assert sum(sorted(km_pairs.values())[-3:]) < 0.9 * len(labels)


def test_invariant_to_positive_row_scaling():
    X, _, _ = directions(300, 4, 3, seed=7, noise=0.3)
    scale = np.random.RandomState(8).uniform(0.01, 100.0, size=(300, 1))
    a = SphericalKMeans(3, random_state=0).fit(X)
    b = SphericalKMeans(3, random_state=0).fit(X * scale)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_allclose(a.cluster_centers_, b.cluster_centers_, rtol=1e-10, atol=1e-12)
    assert a.inertia_ == pytest.approx(b.inertia_, rel=1e-10)


@pytest.mark.parametrize("seed", [0, 3, 35])
def test_kmeans_parallel_does_not_see_row_scale(backend, seed):
    """k-means|| on few samples: after a round or two every sample is a
    candidate and the potential is rounding, exactly 0 or not by the last
    bits of the unit rows. Stopping the rounds on an exact 0 changed how many
    random draws the reduction saw, so rows times 10**+-150 permuted the
    clusters (17 of 300 such seeds; found on Dask, where ``"k-means++"`` runs
    as k-means||). A rounding-level potential stops the rounds, and every
    round draws: the same labels."""
    rs = np.random.RandomState(seed)
    mu = rs.normal(size=(4, 3))
    X = mu[rs.randint(0, 4, 24)] + 0.3 * rs.normal(size=(24, 3))
    Xs = X * 10.0 ** rs.uniform(-150, 150, size=(24, 1))
    params = dict(init="k-means||", n_init=1, random_state=0)
    a = SphericalKMeans(4, **params).fit(backend.asarray(X))
    b = SphericalKMeans(4, **params).fit(backend.asarray(Xs))
    np.testing.assert_array_equal(to_numpy(b.labels_), to_numpy(a.labels_))


def test_zero_rows_are_at_distance_one():
    X, _, _ = directions(100, 3, 2, seed=9)
    X[5] = 0.0
    skm = SphericalKMeans(2, random_state=0).fit(X)
    assert np.all(np.isfinite(skm.cluster_centers_))
    np.testing.assert_allclose(skm.transform(X[5:6]), 1.0)


def test_empty_cluster_is_relocated():
    X, _, _ = directions(300, 3, 3, seed=10)
    init = np.vstack([X[:1], X[:1], X[1:2]])  # two identical centers: one gets no row
    skm = SphericalKMeans(3, init=init).fit(X)
    assert np.all(np.isfinite(skm.cluster_centers_))
    assert len(np.unique(skm.labels_)) == 3


def test_fewer_directions_than_clusters_warns():
    X = np.repeat(np.array([[1.0, 0.0], [0.0, 1.0]]), 10, axis=0) * np.arange(1, 21)[:, None]
    with pytest.warns(ConvergenceWarning, match="distinct clusters"):
        SphericalKMeans(3, random_state=0).fit(X)


def test_n_init_keeps_the_best_run():
    X, _, _ = directions(400, 6, 6, seed=11, noise=0.5)
    runs = [
        SphericalKMeans(6, init="random", n_init=1, random_state=s).fit(X).inertia_
        for s in range(3)
    ]
    rs = np.random.RandomState(0)
    best = SphericalKMeans(6, init="random", n_init=5, random_state=rs).fit(X)
    assert best.inertia_ <= max(runs)
    # "auto": 10 runs for random init, 1 otherwise (no warning)
    SphericalKMeans(6, init="random", random_state=0).fit(X)


def test_verbose_progress_on_stderr(capsys):
    X, _, _ = directions(200, 3, 3, seed=12)
    SphericalKMeans(3, random_state=0, verbose=1).fit(X)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "init 1/1: k-means++ seeding (k=3)"
    assert lines[1].startswith("Iteration 1: inertia")
    assert "center shift" in lines[1] and "elapsed" in lines[1]
    assert lines[-1].startswith("init 1/1: converged after")


def test_bad_input():
    X, _, _ = directions(50, 3, 2, seed=13)
    with pytest.raises(ValueError, match="init has a row of zeros"):
        SphericalKMeans(2, init=np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])).fit(X)
    with pytest.raises(ValueError, match=r"n_samples=\d+ should be >= n_clusters=60"):
        SphericalKMeans(60).fit(X)
    with pytest.raises(ValueError, match=r"The 'init' parameter of SphericalKMeans must be"):
        SphericalKMeans(2, init="spherical").fit(X)
    with pytest.raises(ValueError, match=r"The 'tol' parameter of SphericalKMeans must be"):
        SphericalKMeans(2, tol=-1.0).fit(X)
    with pytest.raises(NotFittedError):
        SphericalKMeans(2).predict(X)
    skm = SphericalKMeans(2, random_state=0).fit(X)
    with pytest.raises(ValueError, match="X has 2 features, but SphericalKMeans is expecting 3"):
        skm.transform(X[:, :2])
    with pytest.raises(ValueError, match="NaN"):
        SphericalKMeans(2).fit(np.where(X > 1e9, 0, np.nan))


@pytest.mark.backends("dask")
def test_dask_same_result_as_numpy(backend):
    # SphericalKMeans runs on Dask through the shared engine (issue 10): uneven
    # row blocks, weights, the same seed give NumPy's result
    X, _, _ = directions(301, 4, 3, seed=14, noise=0.4)
    w = np.random.RandomState(15).uniform(0.5, 2.0, size=301)
    ref = SphericalKMeans(3, random_state=3, init="random", n_init=2).fit(X, sample_weight=w)
    got = SphericalKMeans(3, random_state=3, init="random", n_init=2).fit(
        backend.asarray(X), sample_weight=backend.asarray(w)
    )
    assert got.n_iter_ == ref.n_iter_
    np.testing.assert_array_equal(to_numpy(got.labels_), ref.labels_)
    np.testing.assert_allclose(
        to_numpy(got.cluster_centers_), ref.cluster_centers_, rtol=1e-9, atol=1e-12
    )
    assert got.inertia_ == pytest.approx(ref.inertia_, rel=1e-9)
