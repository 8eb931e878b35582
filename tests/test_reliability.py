"""Reliability (issue 6): degenerate and hostile data, the caller's arrays left
untouched, pickling, determinism, same initial centers on every backend.

Every case runs on every backend of the ``backend`` fixture.
"""

from __future__ import annotations

import pickle
import re
import warnings

import numpy as np
import pytest

from kmeans_xp import ConvergenceWarning, KMeans, SphericalKMeans, kmeans_plusplus
from kmeans_xp._testing import assert_same_backend, to_numpy, xp_assert_close, xp_assert_equal


def blobs(n: int = 300, d: int = 3, k: int = 3, seed: int = 0, spread: float = 6.0) -> np.ndarray:
    rng = np.random.RandomState(seed)
    centers = rng.uniform(-spread, spread, size=(k, d))
    return centers[np.arange(n) % k] + rng.normal(size=(n, d))


def need_float64(backend) -> None:
    if not backend.has_float64:
        pytest.skip(f"{backend.name} has no float64 on this device")


def finite(a) -> bool:
    return bool(np.all(np.isfinite(to_numpy(a))))


def fit_quiet(km: KMeans, X, **kw) -> KMeans:
    """Fit, recording (and returning) the warnings raised."""
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        km.fit(X, **kw)
    km._test_warnings = [w for w in rec]  # type: ignore[attr-defined]
    return km


# ============================================================ degenerate data
@pytest.mark.slow_on("dask", "jax", when=lambda p: p["k"] == 1)
@pytest.mark.parametrize("init", ["k-means++", "random"])
@pytest.mark.parametrize("k", [1, 3])
def test_all_points_identical(backend, init, k):
    X = np.full((300, 3), 3.5)
    Xb = backend.asarray(X)
    km = fit_quiet(KMeans(k, init=init, random_state=0), Xb)
    xp_assert_equal(km.cluster_centers_, np.full((k, 3), 3.5), like=Xb, dtype=Xb.dtype)
    assert km.inertia_ == 0.0
    labels = to_numpy(km.labels_)
    assert labels.shape == (300,) and labels.min() >= 0 and labels.max() < k
    warned = [w for w in km._test_warnings if issubclass(w.category, ConvergenceWarning)]
    assert bool(warned) == (k > 1)
    xp_assert_equal(km.transform(Xb), np.zeros((300, k)))


@pytest.mark.parametrize("init", ["k-means++", "random"])
def test_fewer_distinct_points_than_clusters(backend, init):
    points = np.array([[1.0, 2.0, 0.5], [-3.0, 5.0, 1.0], [4.0, -1.0, 2.0]])
    X = points[np.arange(300) % 3]
    Xb = backend.asarray(X)
    with pytest.warns(ConvergenceWarning, match=r"distinct clusters \(3\).*n_clusters \(4\)"):
        km = KMeans(4, init=init, random_state=0).fit(Xb)
    centers = to_numpy(km.cluster_centers_)
    assert finite(centers)
    # every center sits on one of the distinct points: no zero, NaN or mean
    for c in centers:
        assert np.min(np.abs(points - c).max(axis=1)) < 1e-12, c
    assert km.inertia_ == 0.0
    labels = to_numpy(km.labels_)
    np.testing.assert_allclose(centers[labels], X, atol=1e-12)


def test_one_sample(backend):
    X = np.array([[1.5, -2.0, 7.0]])
    Xb = backend.asarray(X)
    km = KMeans(1, random_state=0).fit(Xb)
    xp_assert_equal(km.cluster_centers_, X, like=Xb, dtype=Xb.dtype)
    xp_assert_equal(km.labels_, np.array([0]))
    assert km.inertia_ == 0.0
    xp_assert_equal(km.predict(backend.asarray(np.zeros((4, 3)))), np.zeros(4, dtype=np.int64))
    with pytest.raises(ValueError, match=r"n_samples=1 should be >= n_clusters=2"):
        KMeans(2).fit(Xb)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_single_cluster(backend, weighted):
    need_float64(backend)
    X = blobs() + 100.0
    w = np.random.RandomState(1).uniform(0, 5, len(X)) if weighted else np.ones(len(X))
    Xb = backend.asarray(X)
    km = KMeans(1, random_state=0).fit(Xb, sample_weight=backend.asarray(w) if weighted else None)
    mean = np.average(X, axis=0, weights=w)
    xp_assert_close(km.cluster_centers_, mean[None, :], like=Xb, rtol=1e-12)
    xp_assert_equal(km.labels_, np.zeros(len(X), dtype=np.int64))
    assert km.inertia_ == pytest.approx(float((w * ((X - mean) ** 2).sum(1)).sum()), rel=1e-10)
    assert km.n_iter_ <= 2


@pytest.mark.parametrize("init", ["k-means++", "random"])
def test_as_many_clusters_as_samples(backend, init):
    X = blobs(12, d=3)
    Xb = backend.asarray(X)
    km = KMeans(12, init=init, random_state=0).fit(Xb)
    labels = to_numpy(km.labels_)
    assert sorted(labels.tolist()) == list(range(12))
    np.testing.assert_allclose(to_numpy(km.cluster_centers_)[labels], X, atol=1e-12)
    assert km.inertia_ == pytest.approx(0.0, abs=1e-20)


def test_constant_features(backend):
    need_float64(backend)
    base = blobs(300, d=1)
    X = np.column_stack([np.full(300, 7.25), base, np.full(300, -1e3)])
    init = base[[0, 1, 2]]
    km_base = KMeans(3, init=backend.asarray(init)).fit(backend.asarray(base))
    init_full = np.column_stack([np.full(3, 7.25), init, np.full(3, -1e3)])
    km = KMeans(3, init=backend.asarray(init_full)).fit(backend.asarray(X))
    xp_assert_equal(km.labels_, to_numpy(km_base.labels_))
    centers = to_numpy(km.cluster_centers_)
    np.testing.assert_allclose(centers[:, 0], 7.25, rtol=1e-14)
    np.testing.assert_allclose(centers[:, 2], -1e3, rtol=1e-14)
    np.testing.assert_allclose(
        centers[:, 1:2], to_numpy(km_base.cluster_centers_), rtol=1e-10, atol=1e-10
    )
    assert km.inertia_ == pytest.approx(km_base.inertia_, rel=1e-9)
    # a constant-feature-only data set: one distinct point
    with pytest.warns(ConvergenceWarning):
        km_c = KMeans(3, random_state=0).fit(
            backend.asarray(np.column_stack([X[:, [0, 2]], X[:, :1]]))
        )
    assert km_c.inertia_ == 0.0 and finite(km_c.cluster_centers_)


def test_duplicated_rows(backend):
    need_float64(backend)
    X = blobs(150)
    init = X[[0, 1, 2]] + 0.5
    Xb, X2 = backend.asarray(X), backend.asarray(np.vstack([X, X]))
    once = KMeans(3, init=backend.asarray(init)).fit(Xb)
    twice = KMeans(3, init=backend.asarray(init)).fit(X2)
    weighted = KMeans(3, init=backend.asarray(init)).fit(
        Xb, sample_weight=backend.asarray(np.full(150, 2.0))
    )
    labels = to_numpy(once.labels_)
    xp_assert_equal(twice.labels_, np.concatenate([labels, labels]))
    xp_assert_close(twice.cluster_centers_, to_numpy(once.cluster_centers_), rtol=1e-12, atol=1e-12)
    assert twice.inertia_ == pytest.approx(2 * once.inertia_, rel=1e-12)
    xp_assert_equal(weighted.labels_, labels)
    xp_assert_close(
        weighted.cluster_centers_, to_numpy(once.cluster_centers_), rtol=1e-12, atol=1e-12
    )
    assert weighted.inertia_ == pytest.approx(twice.inertia_, rel=1e-12)


def _large_offset_data() -> tuple[np.ndarray, np.ndarray]:
    # feature 0 is 1e8 plus small noise (float32 resolution there is 8); the
    # clusters live in features 1 and 2, 40 apart
    rng = np.random.RandomState(0)
    n = 300
    y = np.arange(n) % 4
    corners = 40.0 * np.array([[0, 0], [1, 0], [0, 1], [1, 1]])
    X = np.empty((n, 3))
    X[:, 0] = 1e8 + rng.normal(scale=4.0, size=n)
    X[:, 1:] = corners[y] + rng.normal(size=(n, 2))
    return X.astype(np.float32), y


def test_large_offset_float32_stays_accurate(backend):
    X32, y = _large_offset_data()
    # the data are hostile: ||c||^2 - 2 x.c without centering, in float32,
    # cannot tell the clusters apart
    true_c = np.stack([X32[y == j].mean(0) for j in range(4)]).astype(np.float32)
    naive = (true_c * true_c).sum(1)[None, :] - 2.0 * (X32 @ true_c.T)
    assert np.mean(np.argmin(naive, axis=1) != y) > 0.1
    init = X32[[0, 1, 2, 3]]
    km = KMeans(4, init=backend.asarray(init)).fit(backend.asarray(X32))
    assert_same_backend(km.cluster_centers_, backend.asarray(X32), dtype=backend.xp.float32)
    # the same labels as a float64 fit of the same values, the true clusters
    ref = KMeans(4, init=init.astype(np.float64)).fit(X32.astype(np.float64))
    xp_assert_equal(km.labels_, ref.labels_)
    xp_assert_equal(km.labels_, y)
    c = to_numpy(km.cluster_centers_).astype(np.float64)
    np.testing.assert_allclose(c[:, 0], ref.cluster_centers_[:, 0], atol=8.0)  # 1 ulp at 1e8
    np.testing.assert_allclose(c[:, 1:], ref.cluster_centers_[:, 1:], atol=1e-4)
    assert km.inertia_ == pytest.approx(ref.inertia_, rel=1e-3)
    # the same with k-means++ seeding and through predict / transform
    km2 = KMeans(4, random_state=0).fit(backend.asarray(X32))
    assert len(set(zip(to_numpy(km2.labels_).tolist(), y.tolist(), strict=True))) == 4
    xp_assert_equal(km2.predict(backend.asarray(X32)), to_numpy(km2.labels_))
    D = to_numpy(km2.transform(backend.asarray(X32)))
    np.testing.assert_array_equal(np.argmin(D, axis=1), to_numpy(km2.labels_))
    c2 = to_numpy(km2.cluster_centers_).astype(np.float64)
    exact = np.sqrt(((X32.astype(np.float64)[:, None, :] - c2[None, :, :]) ** 2).sum(-1))
    np.testing.assert_allclose(D, exact, atol=0.1)  # uncentered float32 errs by ~1e4


# Dask (~40 ms a pass) and JAX (a compile per shape): three scales by default
@pytest.mark.slow_on("dask", "jax", when=lambda p: p["scale"] not in (1e14, 1e17, 1e20))
@pytest.mark.parametrize("scale", [1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20])
def test_near_float32_overflow_error_or_correct(backend, scale):
    # squared norms overflow float32 near 1.8e19: either a clear error or the
    # same clustering as the unscaled data, never a silent inf or NaN
    X = blobs(300)
    ref_init = "k-means||" if backend.lazy else "k-means++"  # documented for Dask
    ref = KMeans(3, init=ref_init, random_state=0).fit(X.astype(np.float32))
    Xs = backend.asarray((X * scale).astype(np.float32))
    try:
        km = KMeans(3, random_state=0).fit(Xs)
    except ValueError as exc:
        assert "overflow" in str(exc) and "float32" in str(exc)
        assert scale >= 1e17, "data this small should be clustered"
        return
    assert finite(km.cluster_centers_) and np.isfinite(km.inertia_)
    xp_assert_equal(km.labels_, ref.labels_)
    xp_assert_close(km.cluster_centers_, ref.cluster_centers_ * scale, rtol=1e-4, atol=1e-4 * scale)
    assert km.inertia_ == pytest.approx(ref.inertia_ * scale**2, rel=1e-3)
    assert finite(km.transform(Xs))


def test_overflow_is_caught_everywhere(backend):
    huge32 = (blobs() * 1e19).astype(np.float32)
    km = KMeans(3, random_state=0).fit(backend.asarray(blobs().astype(np.float32)))
    for call in (
        lambda: KMeans(3, random_state=0).fit(backend.asarray(huge32)),
        lambda: kmeans_plusplus(backend.asarray(huge32), 3, random_state=0),
        lambda: km.predict(backend.asarray(huge32)),
        lambda: km.transform(backend.asarray(huge32)),
        lambda: km.score(backend.asarray(huge32)),
        lambda: KMeans(3, init=backend.asarray(huge32[:3])).fit(backend.asarray(huge32 * 1e-19)),
    ):
        with pytest.raises(ValueError, match=r"too large for .*float32.*overflow"):
            call()
    if backend.has_float64:
        with pytest.raises(ValueError, match=r"too large for .*float64.*overflow"):
            KMeans(3, random_state=0).fit(backend.asarray(blobs() * 1e160))


def test_high_dimension_few_points(backend):
    need_float64(backend)
    rng = np.random.RandomState(0)
    X = rng.normal(size=(24, 10_000)) + 2.0 * (np.arange(24) % 3)[:, None]
    init = X[[0, 1, 2]]
    ref = KMeans(3, init=init).fit(X)
    Xb = backend.asarray(X)
    km = KMeans(3, init=backend.asarray(init)).fit(Xb)
    xp_assert_equal(km.labels_, np.arange(24) % 3)
    xp_assert_equal(km.labels_, ref.labels_)
    xp_assert_close(km.cluster_centers_, ref.cluster_centers_, like=Xb, rtol=1e-10, atol=1e-10)
    assert km.inertia_ == pytest.approx(ref.inertia_, rel=1e-10)
    km2 = KMeans(3, random_state=0).fit(Xb)
    assert finite(km2.cluster_centers_)
    assert len(np.unique(to_numpy(km2.labels_))) == 3


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_in_late_chunk_caught_before_work(backend, bad, capsys):
    X = blobs(2000)
    X[1990, 1] = bad
    Xb = backend.asarray(X)
    # a tiny memory budget: many chunks, the bad value in the last one
    km = KMeans(3, random_state=0, chunk_bytes=512, verbose=1)
    with pytest.raises(ValueError, match="NaN" if np.isnan(bad) else "infinity"):
        km.fit(Xb)
    assert "Iteration" not in capsys.readouterr().err  # no Lloyd step ran
    with pytest.raises(ValueError, match="NaN" if np.isnan(bad) else "infinity"):
        kmeans_plusplus(Xb, 3, random_state=0)
    fitted = KMeans(3, random_state=0).fit(backend.asarray(blobs()))
    with pytest.raises(ValueError, match="NaN" if np.isnan(bad) else "infinity"):
        fitted.predict(Xb)


def test_empty_cluster_relocated_to_zero_weight_sample():
    # cluster 2 starts empty; the sample farthest from its center has weight 0:
    # the empty cluster must move onto a sample, never to zero or the mean
    X = 50.0 + np.array([[10.0, 10], [10, 10], [11, 10], [0, 0], [0, 1], [100, 100]])
    w = np.array([1, 1, 1, 1, 1, 0.0])
    init = 50.0 + np.array([[10.0, 10], [0, 0], [0, 0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        km = KMeans(3, init=init).fit(X, sample_weight=w)
    for j, c in enumerate(km.cluster_centers_):
        on_a_sample = np.any(np.all(c == X, axis=1))
        members = (km.labels_ == j) & (w > 0)
        is_mean = members.any() and np.allclose(c, X[members].mean(axis=0))
        assert on_a_sample or is_mean, f"center {j} = {c} is neither a sample nor a mean"


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_relocation_never_empties_the_donor_cluster(backend, weighted):
    # found by test_properties: 2 distinct points, k=5. k-means++ seeds
    # [1,1] once and [0,1] four times; the empty clusters were refilled with
    # the lone [0,1] sample (all distances are 0), which left its own cluster
    # empty with center sum/1 = 0 (the data mean after centering); the run
    # then oscillated to max_iter, or stopped with labels off their centers
    X = np.array([[0.0, 1.0]] + [[1.0, 1.0]] * 19)
    w = np.ones(20)
    w[4], w[5] = 2.0, 4.0
    for dtype in ["float32", "float64"] if backend.has_float64 else ["float32"]:
        Xb = backend.asarray(X.astype(dtype))
        wb = backend.asarray(w.astype(dtype)) if weighted else None
        with pytest.warns(ConvergenceWarning):
            km = KMeans(5, random_state=0, tol=0.0).fit(Xb, sample_weight=wb)
        centers = to_numpy(km.cluster_centers_).astype(np.float64)
        labels = to_numpy(km.labels_)
        ulp = 4 * float(np.finfo(dtype).eps)  # weighted means of equal rows, up to rounding
        assert km.n_iter_ <= 3
        assert km.inertia_ == pytest.approx(0.0, abs=20 * ulp**2)
        np.testing.assert_allclose(centers[labels], X, atol=ulp)  # every sample on its center
        for c in centers:  # every center on a sample
            assert np.any(np.all(np.abs(X - c) <= ulp, axis=1)), centers


@pytest.mark.backends("numpy")
@pytest.mark.filterwarnings("ignore:Number of distinct clusters")
@pytest.mark.parametrize("chunk_bytes", [None, 64, 128, 256])
def test_empty_clusters_of_duplicates_do_not_oscillate(backend, chunk_bytes):
    # found on Dask (uneven blocks): 19 equal rows, k=5 with three seeds on
    # them. The empty clusters took a sample that sits on its center; the
    # donor's new mean then differed from it in the last bit, so the samples
    # went back and forth between the copies until max_iter. Block sums in
    # another order (chunk_bytes) give the same rounding on NumPy.
    X = np.array([[0.0, 1.0]] + [[1.0, 1.0]] * 19, dtype=np.float32)
    w = np.ones(20, dtype=np.float32)
    w[4], w[5] = 2.0, 4.0
    init = np.array([[1, 1], [0, 1], [1, 1], [1, 1], [1, 1]], dtype=np.float32)
    km = KMeans(5, init=init, n_init=1, tol=0.0, chunk_bytes=chunk_bytes)
    km.fit(X, sample_weight=w)
    assert km.n_iter_ <= 3
    centers = km.cluster_centers_.astype(np.float64)
    np.testing.assert_allclose(centers[km.labels_], X, atol=4 * np.finfo(np.float32).eps)
    np.testing.assert_array_equal(km.predict(X), km.labels_)


@pytest.mark.filterwarnings("ignore:Number of distinct clusters")
def test_empty_cluster_given_a_copied_center_counts_as_a_change(backend):
    # found by the fuzzer (two distinct rows, k=3, init="random"): the empty
    # cluster took the center of the cluster of samples sitting on it, so no
    # label changed and the run stopped "converged"; the labels then named the
    # donor while predict (lowest index among equal centers) named the copy
    a, b = [0.00176405, 0.00040016], [0.00097874, 0.00224089]
    which = [0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 1, 1, 1, 0, 1, 0, 1, 1, 1, 1]
    X = np.array([a if i else b for i in which], dtype=np.float32)
    Xb = backend.asarray(X)
    for max_iter in (2, 300):
        km = KMeans(3, init="random", n_init=1, max_iter=max_iter, tol=0.0, random_state=9)
        km.fit(Xb)
        labels = to_numpy(km.labels_)
        np.testing.assert_array_equal(to_numpy(km.predict(Xb)), labels)
        centers = to_numpy(km.cluster_centers_).astype(np.float64)
        np.testing.assert_allclose(centers[labels], X, atol=4 * np.finfo(np.float32).eps)
        assert km.inertia_ <= 1e-12


def test_kmeans_plusplus_candidates_of_equal_gain_go_to_the_first_drawn(backend):
    # found by the spherical scale fuzzer: rows 1 and 3 are nearer to each
    # other than to anything chosen, so either as a center leaves the other at
    # the same distance: equal gains, and argmax kept whichever the last bits
    # of the sums favoured; rows scaled by 10**e (normalised back to the same
    # unit vectors up to rounding) swapped labels 1 and 3
    X = np.array(
        [
            [1.9093459922038634, 0.5738993519792418],
            [0.9242632122863805, 2.6639545885408222],
            [0.03170206386681612, 1.536833001635871],
            [0.6905116005856028, 2.353971291700043],
            [0.15407524971346656, 1.6584436802695113],
            [1.2950033389376814, 0.2301479222376361],
        ]
    )
    exps = np.array([77.755, -24.032, 11.899, -163.987, 27.643, 25.871])
    dtype = np.float64 if backend.has_float64 else np.float32
    if dtype == np.float32:
        exps = np.clip(exps, -30, 18)
    fits = []
    for rows in (X, X * 10.0 ** exps[:, None]):
        km = SphericalKMeans(6, n_init=1, tol=0.0, random_state=1)
        fits.append(to_numpy(km.fit(backend.asarray(rows.astype(dtype))).labels_))
    np.testing.assert_array_equal(fits[1], fits[0])


def _overcommit_refuses_huge() -> bool:
    try:
        with open("/proc/sys/vm/overcommit_memory") as f:
            return f.read().strip() in ("0", "2")
    except OSError:
        return False


@pytest.mark.slow  # a predict of 1e5 x 1e4 distances at the suggested budget
@pytest.mark.backends("numpy")
@pytest.mark.filterwarnings("ignore:Number of distinct clusters")
@pytest.mark.skipif(
    not _overcommit_refuses_huge(),
    reason="the kernel may grant a 76 GB allocation and then kill the process",
)
def test_host_out_of_memory_says_how_to_fit(backend):
    # one chunk of 2e6 x 1e4 float32 scores (76 GB): NumPy's MemoryError comes
    # back as a MemoryError that names chunk_bytes and a budget that fits
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(2_000_000, 2)).astype(np.float32)
    init = rng.uniform(size=(10_000, 2)).astype(np.float32)
    with pytest.raises(MemoryError, match=r"chunk_bytes=\d+") as info:
        KMeans(10_000, init=init, max_iter=1, chunk_bytes=2**40).fit(X)
    suggested = int(re.search(r"chunk_bytes=(\d+)", str(info.value)).group(1))
    assert suggested <= 2**28
    # predict says the same, and the smaller budget it suggests works there
    km = KMeans(10_000, init=init, max_iter=1, chunk_bytes=2**20).fit(X[:20_000])
    km.set_params(chunk_bytes=2**40)
    with pytest.raises(MemoryError, match="chunk_bytes"):
        km.predict(X)
    km.set_params(chunk_bytes=suggested)
    assert km.predict(X[:100_000]).shape == (100_000,)


@pytest.mark.backends("cupy", "torch_cuda")
def test_gpu_out_of_memory_says_how_to_fit(backend):
    # one chunk of (n_samples x n_clusters) float32 scores: 4e6 x 1e4 x 4 bytes
    # = 160 GB, more than any single GPU holds; the data themselves are small
    rng = np.random.RandomState(0)
    n, k = 4_000_000, 10_000
    X = backend.asarray(rng.uniform(size=(n, 2)).astype(np.float32))
    init = backend.asarray(rng.uniform(size=(k, 2)).astype(np.float32))
    with pytest.raises(MemoryError, match=r"chunk_bytes"):
        KMeans(k, init=init, max_iter=1, chunk_bytes=2**40).fit(X)
    # the advice works: a smaller budget fits
    km = KMeans(k, init=init, max_iter=1, chunk_bytes=2**28).fit(X)
    assert finite(km.cluster_centers_) and np.isfinite(km.inertia_)


# ======================================================= caller's data intact
def _snapshot(*arrays):
    return [None if a is None else to_numpy(a).copy() for a in arrays]


def _versions(*arrays):
    # torch counts in-place writes on every tensor
    return [getattr(a, "_version", None) for a in arrays]


@pytest.mark.slow_on("dask", "jax", when=lambda p: p["dtype"] != "float32")
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_caller_arrays_never_modified(backend, dtype):
    if dtype == "float64":
        need_float64(backend)
    # far from the origin, so fit centers the data (on a copy only)
    host = (blobs() + 5e3).astype(dtype)
    w_host = (
        np.random.RandomState(2)
        .uniform(0.5, 2.0, 300)
        .astype(
            "float32" if dtype == "float32" else "float64" if backend.has_float64 else "float32"
        )
    )
    if backend.name == "numpy":
        host.flags.writeable = False  # any in-place write raises
        w_host.flags.writeable = False
    X = backend.asarray(host) if backend.name != "numpy" else host
    w = backend.asarray(w_host) if backend.name != "numpy" else w_host
    init_host = np.ascontiguousarray(host[[0, 100, 200]])
    if backend.name == "numpy":
        init_host.flags.writeable = False
    init = backend.asarray(init_host) if backend.name != "numpy" else init_host
    before = _snapshot(X, w, init)
    versions = _versions(X, w, init)

    km = KMeans(3, init=init).fit(X, sample_weight=w)
    km_pp = KMeans(3, random_state=0, chunk_bytes=1024).fit(X, sample_weight=w)
    KMeans(3, init="random", random_state=0).fit_predict(X, sample_weight=w)
    KMeans(3, random_state=0).fit_transform(X, sample_weight=w)
    for model in (km, km_pp):
        model.predict(X, sample_weight=w)
        model.transform(X)
        model.score(X, sample_weight=w)
    kmeans_plusplus(X, 3, sample_weight=w, random_state=0)

    for a, b in zip(before, _snapshot(X, w, init), strict=True):
        np.testing.assert_array_equal(a, b)
    assert _versions(X, w, init) == versions
    # the results are new arrays: changing them leaves the caller's init alone
    if backend.name == "numpy":
        assert not np.shares_memory(km.cluster_centers_, init)
        assert not np.shares_memory(km.cluster_centers_, X)


def test_results_do_not_alias_inputs(backend):
    # writing into a result (where the library allows it) must not reach X or init
    X = blobs()
    init = X[:3].copy()
    Xb, initb = backend.asarray(X), backend.asarray(init)
    km = KMeans(3, init=initb, max_iter=1).fit(Xb)
    xp_assert_equal(Xb, X)
    xp_assert_equal(initb, init)
    if backend.name == "jax":
        pytest.skip("JAX arrays are immutable: aliasing cannot leak")
    centers = km.cluster_centers_
    centers[...] = 0.0  # the standard's __setitem__, in place
    assert not np.any(to_numpy(km.cluster_centers_))
    xp_assert_equal(Xb, X)
    xp_assert_equal(initb, init)


# ==================================================================== pickling
def test_pickle_round_trip(backend):
    X = blobs()
    Xb = backend.asarray(X)
    km = KMeans(3, random_state=0).fit(Xb, sample_weight=backend.asarray(np.ones(300)))
    again = pickle.loads(pickle.dumps(km))
    assert again.get_params() == km.get_params()
    xp_assert_equal(again.cluster_centers_, to_numpy(km.cluster_centers_), like=km.cluster_centers_)
    xp_assert_equal(again.labels_, to_numpy(km.labels_))
    assert again.inertia_ == km.inertia_ and again.n_iter_ == km.n_iter_
    Y = backend.asarray(np.random.RandomState(4).normal(scale=5, size=(300, 3)))
    xp_assert_equal(again.predict(Y), to_numpy(km.predict(Y)))
    xp_assert_equal(again.transform(Y), to_numpy(km.transform(Y)))
    # the centers can be exported to NumPy (DLPack, the standard's interchange)
    # where they are in host memory: a Dask array is a task graph, not a
    # buffer, and NumPy takes no GPU buffer
    if not backend.lazy and backend.name not in ("cupy", "torch_cuda"):
        host = np.from_dlpack(km.cluster_centers_)
        assert isinstance(host, np.ndarray)
        np.testing.assert_array_equal(host, to_numpy(km.cluster_centers_))
    np.testing.assert_array_equal(
        np.asarray(to_numpy(km.cluster_centers_)), to_numpy(again.cluster_centers_)
    )


# ================================================================= determinism
@pytest.mark.parametrize(
    "params",
    [
        {"init": "k-means++"},
        {"init": "k-means++", "n_init": 3},
        {"init": "random"},  # n_init="auto" = 10
    ],
    ids=["kmeans++", "kmeans++-n_init3", "random-n_init10"],
)
@pytest.mark.slow_on(
    "dask", "jax", when=lambda p: p["weighted"] or p["params"] != {"init": "k-means++"}
)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_same_seed_bit_identical(backend, params, weighted):
    X = blobs(k=4, spread=3.0)
    w = np.random.RandomState(9).uniform(0.5, 2.0, 300) if weighted else None

    def run():
        Xb = backend.asarray(X.astype(np.float32))
        wb = None if w is None else backend.asarray(w.astype(np.float32))
        return KMeans(4, random_state=123, **params).fit(Xb, sample_weight=wb)

    a, b = run(), run()
    np.testing.assert_array_equal(to_numpy(a.cluster_centers_), to_numpy(b.cluster_centers_))
    np.testing.assert_array_equal(to_numpy(a.labels_), to_numpy(b.labels_))
    assert a.inertia_ == b.inertia_
    assert a.n_iter_ == b.n_iter_


@pytest.mark.parametrize("init", ["random", "k-means++"])
def test_initial_centers_come_from_host_rng(backend, init):
    # the initial centers are rows picked by NumPy's RandomState on the host:
    # fitting from those rows explicitly gives a bit-identical result
    if backend.lazy and init == "k-means++":
        pytest.skip("documented: Dask runs k-means|| for init='k-means++'")
    X = blobs(k=4, spread=3.0)
    w = np.random.RandomState(3).uniform(0.5, 2.0, 300)
    Xb, wb = backend.asarray(X), backend.asarray(w)
    if init == "random":
        idx = np.random.RandomState(17).choice(300, size=4, replace=False, p=w / w.sum())
    else:
        _, idx = kmeans_plusplus(X, 4, sample_weight=w, random_state=17)
        # and kmeans_plusplus picks the same rows on this backend
        xp_assert_equal(kmeans_plusplus(Xb, 4, sample_weight=wb, random_state=17)[1], idx)
    seeded = KMeans(4, init=init, n_init=1, random_state=17, max_iter=3).fit(Xb, sample_weight=wb)
    explicit = KMeans(4, init=backend.asarray(X[idx]), max_iter=3).fit(Xb, sample_weight=wb)
    xp_assert_equal(seeded.cluster_centers_, to_numpy(explicit.cluster_centers_))
    xp_assert_equal(seeded.labels_, to_numpy(explicit.labels_))
    assert seeded.inertia_ == explicit.inertia_


@pytest.mark.parametrize("init", ["random", "k-means++"])
def test_same_seed_same_clustering_across_backends(backend, init):
    X = blobs(k=4, spread=8.0).astype(np.float32)
    ref_init = "k-means||" if backend.lazy and init == "k-means++" else init  # documented for Dask
    ref = KMeans(4, init=ref_init, random_state=5).fit(X)
    km = KMeans(4, init=init, random_state=5).fit(backend.asarray(X))
    xp_assert_equal(km.labels_, ref.labels_)
    xp_assert_close(km.cluster_centers_, ref.cluster_centers_, rtol=2e-5, atol=2e-5)
