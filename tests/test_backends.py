"""The backend matrix (issue 2).

For every backend: the same seed gives the same labels and centers as NumPy,
in float32 and in float64 (where the backend has it), with and without
sample weights; every array result keeps the input's namespace, dtype and
device; integer input becomes the namespace's default floating dtype.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from kmeans_xp import KMeans, MiniBatchKMeans, SphericalKMeans, kmeans_plusplus
from kmeans_xp._testing import assert_same_backend, to_numpy, xp_assert_close, xp_assert_equal

DTYPES = ["float32", "float64"]
RTOL = {"float32": 2e-5, "float64": 1e-11}


def separated(n: int = 480, seed: int = 0) -> np.ndarray:
    """Four blobs with a clear margin: no sample near a boundary, even in float32."""
    rng = np.random.RandomState(seed)
    centers = np.array([[0.0, 0.0, 0.0], [8.0, 0.0, 1.0], [0.0, 8.0, -1.0], [8.0, 8.0, 0.0]])
    return centers[np.arange(n) % 4] + rng.normal(size=(n, 3))


def overlapping(n: int = 480, seed: int = 1) -> np.ndarray:
    """Blobs that touch: Lloyd runs for many iterations (float64 only, where
    a boundary sample is at worst a 1e-15 relative tie)."""
    rng = np.random.RandomState(seed)
    centers = rng.uniform(-4, 4, size=(4, 3))
    return centers[rng.randint(0, 4, n)] + rng.normal(scale=1.5, size=(n, 3))


def data_for(dtype: str) -> np.ndarray:
    return (separated() if dtype == "float32" else overlapping()).astype(dtype)


def sample_weight(n: int) -> np.ndarray:
    return np.random.RandomState(7).uniform(0.1, 4.0, n)


def check_dtype(backend, dtype: str) -> None:
    if dtype == "float64" and not backend.has_float64:
        pytest.skip(f"{backend.name} has no float64 on this device")


def reference_init(backend, init: str) -> str:
    # documented: for lazy (Dask) arrays "k-means++" runs as "k-means||"; the
    # NumPy reference then uses the same method with the same host draws
    return "k-means||" if backend.lazy and init == "k-means++" else init


def xp_dtype(backend, dtype: str):
    return getattr(backend.xp, dtype)


# every algorithm; "auto" is Lloyd below 8 clusters (Hamerly from 8: see the
# bit-for-bit tests at the end, which cover it)
ALGORITHMS = ["lloyd", "hamerly", "auto"]


# Dask (~40 ms a pass, and a cluster to start) runs in the slow run (conftest.py),
# which .ci/run runs too. JAX (a compile of each operation per new shape and
# dtype, ~200 compiles a fit; .ci/run runs its slow share of this file) runs in
# float32 by default: the seeded and the array-started Lloyd fits, weights, the
# cast of float64 and integer data in predict, and Hamerly == Lloyd bit for bit;
# the rest (float64, predict/transform/score, kmeans_plusplus, the outputs'
# namespace and dtype, integer input) in the slow run.


# ------------------------------------------------- same seed, same result
# JAX: unweighted k-means++ with Lloyd in float32 in the default run, the other
# combinations in the slow one
@pytest.mark.slow_on(
    "jax",
    when=lambda p: (
        p["algorithm"] != "lloyd"
        or p["init"] != "k-means++"
        or p["weighted"]
        or p["dtype"] == "float64"
    ),
)
@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("init", ["k-means++", "random"])
def test_same_seed_same_result_as_numpy(backend, dtype, weighted, init, algorithm):
    check_dtype(backend, dtype)
    X = data_for(dtype)
    w = sample_weight(len(X)).astype(dtype) if weighted else None
    n_init = 2 if init == "random" else 1
    ref = KMeans(
        4, init=reference_init(backend, init), n_init=n_init, random_state=0, algorithm=algorithm
    ).fit(X, sample_weight=w)
    Xb = backend.asarray(X)
    km = KMeans(4, init=init, n_init=n_init, random_state=0, algorithm=algorithm).fit(
        Xb, sample_weight=None if w is None else backend.asarray(w)
    )
    xp_assert_equal(km.labels_, ref.labels_, like=Xb)
    xp_assert_close(
        km.cluster_centers_,
        ref.cluster_centers_,
        like=Xb,
        dtype=Xb.dtype,
        rtol=RTOL[dtype],
        atol=RTOL[dtype],
    )
    assert km.inertia_ == pytest.approx(ref.inertia_, rel=10 * RTOL[dtype])
    assert km.n_iter_ == ref.n_iter_


# JAX: unweighted Lloyd in float32 in the default run (Hamerly there:
# test_hamerly_equals_lloyd_bit_for_bit)
@pytest.mark.slow_on(
    "jax",
    when=lambda p: p["algorithm"] != "lloyd" or p["weighted"] or p["dtype"] == "float64",
)
@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_same_init_array_same_result_as_numpy(backend, dtype, weighted, algorithm):
    check_dtype(backend, dtype)
    X = data_for(dtype)
    w = sample_weight(len(X)).astype(dtype) if weighted else None
    init = X[[0, 5, 10, 15]] * 0.5
    ref = KMeans(4, init=init, algorithm=algorithm).fit(X, sample_weight=w)
    Xb = backend.asarray(X)
    km = KMeans(4, init=backend.asarray(init), algorithm=algorithm).fit(
        Xb, sample_weight=None if w is None else backend.asarray(w)
    )
    xp_assert_equal(km.labels_, ref.labels_, like=Xb)
    xp_assert_close(
        km.cluster_centers_,
        ref.cluster_centers_,
        like=Xb,
        dtype=Xb.dtype,
        rtol=RTOL[dtype],
        atol=RTOL[dtype],
    )
    assert km.n_iter_ == ref.n_iter_
    assert km.inertia_ == pytest.approx(ref.inertia_, rel=10 * RTOL[dtype])


@pytest.mark.slow_on("jax")
@pytest.mark.parametrize("dtype", DTYPES)
def test_predict_transform_score_same_as_numpy(backend, dtype):
    check_dtype(backend, dtype)
    X = data_for(dtype)
    Y = (np.random.RandomState(3).normal(scale=6.0, size=(100, 3)) + 4.0).astype(dtype)
    ref = KMeans(4, init=reference_init(backend, "k-means++"), random_state=0).fit(X)
    km = KMeans(4, random_state=0).fit(backend.asarray(X))
    Yb = backend.asarray(Y)
    xp_assert_equal(km.predict(Yb), ref.predict(Y), like=Yb)
    xp_assert_close(
        km.transform(Yb),
        ref.transform(Y),
        like=Yb,
        dtype=Yb.dtype,
        rtol=RTOL[dtype],
        atol=10 * RTOL[dtype],
    )
    assert km.score(Yb) == pytest.approx(ref.score(Y), rel=10 * RTOL[dtype])


# (JAX: the seeded fits above start from the same k-means++ centers as NumPy's)
@pytest.mark.slow_on("jax")
@pytest.mark.parametrize("dtype", DTYPES)
def test_kmeans_plusplus_same_as_numpy(backend, dtype):
    check_dtype(backend, dtype)
    X = data_for(dtype)
    w = sample_weight(len(X)).astype(dtype)
    for sw in (None, w):
        c_ref, i_ref = kmeans_plusplus(X, 6, sample_weight=sw, random_state=4)
        Xb = backend.asarray(X)
        c, i = kmeans_plusplus(
            Xb, 6, sample_weight=None if sw is None else backend.asarray(sw), random_state=4
        )
        xp_assert_equal(i, i_ref, like=Xb)
        # the seeds are rows of X, taken as they are: exactly equal
        xp_assert_equal(c, c_ref, like=Xb, dtype=Xb.dtype)


# ------------------------------------------- namespace, dtype and device
# (JAX: the fits' labels and centers are checked for namespace, dtype and device
# by default, by xp_assert_equal / xp_assert_close above)
@pytest.mark.slow_on("jax")
@pytest.mark.parametrize("dtype", DTYPES)
def test_outputs_keep_namespace_dtype_device(backend, dtype):
    check_dtype(backend, dtype)
    xp = backend.xp
    X = data_for(dtype)
    Xb = backend.asarray(X)
    wb = backend.asarray(sample_weight(len(X)).astype(dtype))
    km = KMeans(4, random_state=0).fit(Xb, sample_weight=wb)
    assert_same_backend(km.cluster_centers_, Xb, dtype=xp_dtype(backend, dtype))
    assert_same_backend(km.labels_, Xb)
    assert xp.isdtype(km.labels_.dtype, "integral")
    for labels in (
        km.predict(Xb),
        km.predict(Xb, sample_weight=wb),
        KMeans(4, random_state=0).fit_predict(Xb, sample_weight=wb),
    ):
        assert_same_backend(labels, Xb)
        assert xp.isdtype(labels.dtype, "integral")
        assert tuple(labels.shape) == (len(X),)
    for dist in (km.transform(Xb), KMeans(4, random_state=0).fit_transform(Xb)):
        assert_same_backend(dist, Xb, dtype=xp_dtype(backend, dtype))
        assert tuple(dist.shape) == (len(X), 4)
    assert type(km.inertia_) is float
    assert type(km.score(Xb)) is float
    centers, idx = kmeans_plusplus(Xb, 4, sample_weight=wb, random_state=0)
    assert_same_backend(centers, Xb, dtype=xp_dtype(backend, dtype))
    assert_same_backend(idx, Xb)
    assert xp.isdtype(idx.dtype, "integral")


def test_predict_casts_to_fitted_dtype(backend):
    # a float32 model predicts float64 (or integer) data in float32
    check_dtype(backend, "float64")
    X = separated().astype("float32")
    km = KMeans(4, random_state=0).fit(backend.asarray(X))
    X64 = backend.asarray(X.astype("float64"))
    xp_assert_equal(km.predict(X64), to_numpy(km.labels_))
    assert_same_backend(km.transform(X64), X64, dtype=backend.xp.float32)
    Xi = backend.asarray(np.round(X).astype(np.int64))
    assert tuple(km.predict(Xi).shape) == (len(X),)


# the namespace's default real floating dtype on its default device
EXPECTED_DEFAULT_FLOAT = {
    "numpy": "float64",
    "array_api_strict": "float64",
    "torch": "float32",
    "torch_cuda": "float32",
    "jax": "float64",  # conftest enables jax_enable_x64
    "dask": "float64",
    "cupy": "float64",
}


@pytest.mark.slow_on("jax")
@pytest.mark.parametrize("int_dtype", ["int64", "int32", "uint8", "bool"])
def test_integer_input_becomes_default_float(backend, int_dtype):
    xp = backend.xp
    expected = getattr(xp, EXPECTED_DEFAULT_FLOAT[backend.name])
    info = getattr(xp, "__array_namespace_info__", None)
    if info is not None:
        assert info().default_dtypes(device=backend.device)["real floating"] == expected
    host = separated()
    host = (host > 2.0) if int_dtype == "bool" else np.round(np.abs(host) * 3)
    X = host.astype(int_dtype)
    Xb = backend.asarray(X)
    # (k = 4, as in the tests above: JAX compiles nothing new for it)
    km = KMeans(4, random_state=0).fit(Xb)
    assert_same_backend(km.cluster_centers_, Xb, dtype=expected)
    assert_same_backend(km.transform(Xb), Xb, dtype=expected)
    centers, _ = kmeans_plusplus(Xb, 4, random_state=0)
    assert_same_backend(centers, Xb, dtype=expected)
    # the same clustering as on the data given as floats
    ref = KMeans(4, init=reference_init(backend, "k-means++"), random_state=0).fit(
        X.astype(EXPECTED_DEFAULT_FLOAT[backend.name])
    )
    xp_assert_equal(km.labels_, ref.labels_)
    xp_assert_close(km.cluster_centers_, ref.cluster_centers_, rtol=1e-5, atol=1e-5)


def test_integer_sample_weight(backend):
    X = separated()
    Xb = backend.asarray(X.astype("float32"))
    w = np.arange(len(X)) % 3 + 1
    km = KMeans(4, random_state=0).fit(Xb, sample_weight=backend.asarray(w))
    ref = KMeans(4, init=reference_init(backend, "k-means++"), random_state=0).fit(
        X.astype("float32"), sample_weight=w.astype("float32")
    )
    xp_assert_equal(km.labels_, ref.labels_)
    xp_assert_close(
        km.cluster_centers_, ref.cluster_centers_, like=Xb, dtype=Xb.dtype, rtol=2e-5, atol=2e-5
    )


@pytest.mark.backends("array_api_strict")
@pytest.mark.parametrize("init", ["k-means++", "random", "k-means||"])
def test_device_without_float64(backend, init):
    # array-api-strict emulates a device without float64 (as Apple's MPS):
    # integer data become float32 there, and no step may create a float64 array
    xs = backend.xp
    dev = xs.Device("no_float64")
    host = np.round(np.abs(separated()) * 3)
    X = xs.asarray(host.astype(np.int64), device=dev)
    w = xs.asarray(sample_weight(len(host)).astype(np.float32), device=dev)
    km = KMeans(4, init=init, random_state=0).fit(X, sample_weight=w)
    assert_same_backend(km.cluster_centers_, X, dtype=xs.float32)
    assert km.cluster_centers_.device == dev and km.labels_.device == dev
    assert km.transform(X).device == dev and km.predict(X).device == dev
    c, i = kmeans_plusplus(X, 4, random_state=0)
    assert c.device == dev and i.device == dev and c.dtype == xs.float32
    ref = KMeans(4, init=init, random_state=0).fit(
        host.astype(np.float32), sample_weight=sample_weight(len(host)).astype(np.float32)
    )
    xp_assert_equal(km.labels_, ref.labels_)


# JAX compiles k-means||'s every candidate count: in the slow run
@pytest.mark.slow_on("jax")
@pytest.mark.parametrize("seed", [0, 1])
def test_kmeans_parallel_finds_every_cluster(backend, seed):
    # k-means|| alone (one Lloyd step from its centers) must put one center in
    # each of 12 well-separated blobs, on every backend, weighted or not
    rs = np.random.RandomState(seed)
    k, d = 12, 6
    centers = rs.uniform(-40, 40, size=(k, d))
    truth = rs.randint(0, k, size=1200)
    host = (centers[truth] + rs.normal(size=(1200, d))).astype("float32")
    w = rs.uniform(0.5, 2.0, size=1200).astype("float32")
    for weights in (None, w):
        km = KMeans(k, init="k-means||", max_iter=1, random_state=seed).fit(
            backend.asarray(host),
            sample_weight=None if weights is None else backend.asarray(weights),
        )
        labels = to_numpy(km.labels_)
        # a one-to-one map between found and true clusters
        pairs = set(zip(labels.tolist(), truth.tolist(), strict=True))
        assert len(pairs) == k, f"{k} blobs, {len(set(labels))} found, {len(pairs)} pairs"
        ref = KMeans(k, init="k-means||", max_iter=1, random_state=seed).fit(
            host, sample_weight=weights
        )
        xp_assert_equal(km.labels_, ref.labels_)


# ------------------------------------------------ Hamerly == Lloyd, bit for bit
def touching_blobs(n: int, d: int, k: int, seed: int) -> np.ndarray:
    """k blobs that overlap: labels keep moving for many iterations."""
    rng = np.random.RandomState(seed)
    centers = rng.uniform(-3, 3, size=(k, d))
    return centers[rng.randint(0, k, n)] + rng.normal(size=(n, d))


def assert_bit_identical(runs: dict, like) -> None:
    ref = runs["lloyd"]
    for name, km in runs.items():
        assert_same_backend(km.labels_, like)
        assert_same_backend(km.cluster_centers_, like, dtype=like.dtype)
        what = f"{name} vs lloyd"
        np.testing.assert_array_equal(to_numpy(km.labels_), to_numpy(ref.labels_), err_msg=what)
        np.testing.assert_array_equal(
            to_numpy(km.cluster_centers_), to_numpy(ref.cluster_centers_), err_msg=what
        )
        assert km.n_iter_ == ref.n_iter_, f"{name}: n_iter_ {km.n_iter_} != lloyd's {ref.n_iter_}"
        assert km.inertia_ == ref.inertia_, f"{name}: inertia_ {km.inertia_!r} != {ref.inertia_!r}"


# tiny chunks on NumPy by default; JAX: float32 (its default dtype) from an array
@pytest.mark.slow_on("array_api_strict", "torch", "jax", when=lambda p: p["chunk_bytes"] == 2048)
@pytest.mark.slow_on("jax", when=lambda p: p["dtype"] == "float64" or p["init"] != "array")
@pytest.mark.parametrize("init", ["array", "k-means++"], ids=["array", "weighted-k-means++"])
@pytest.mark.parametrize("chunk_bytes", [None, 2048], ids=["default-chunks", "tiny-chunks"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_hamerly_equals_lloyd_bit_for_bit(backend, dtype, chunk_bytes, init):
    # k = 9: "auto" is Hamerly on the backends where it pays off. 2048 bytes
    # make chunks of 20 to 40 rows: many chunks, and on JAX padded subsets of
    # every size. From the same initial centers (an array, and a seeded
    # weighted k-means++), strict convergence: equal labels, centers, n_iter_
    check_dtype(backend, dtype)
    k = 9
    X = touching_blobs(300, 3, k, seed=2).astype(dtype)
    w = sample_weight(len(X)).astype(dtype)
    Xb, wb = backend.asarray(X), backend.asarray(w)
    start, weights = (backend.asarray(X[:k]), None) if init == "array" else ("k-means++", wb)
    runs = {
        algorithm: KMeans(
            k,
            init=start,
            tol=0.0,
            random_state=0,
            chunk_bytes=chunk_bytes,
            algorithm=algorithm,
        ).fit(Xb, sample_weight=weights)
        for algorithm in ALGORITHMS
    }
    if init == "array":  # (k-means++ is k-means|| on Dask: shorter runs)
        assert runs["lloyd"].n_iter_ > 10, "the data should make the run long"
    assert_bit_identical(runs, Xb)


@pytest.mark.needs_backends("torch")
@pytest.mark.parametrize("dtype", DTYPES)
def test_gpu_sums_on_torch_cpu_tensors(monkeypatch, dtype):
    # The GPUs' per-cluster sums (a one-hot product: their scatter-adds are
    # atomic and gave other bits run to run) taken on CPU tensors: the sums
    # and weight totals equal NumPy's to rounding, with and without weights,
    # and a fit through them keeps Hamerly = Lloyd bit for bit.
    torch = pytest.importorskip("torch")
    from kmeans_xp._backend import _kernels

    monkeypatch.setattr(_kernels, "_on_gpu", lambda xp, a: True)
    monkeypatch.setattr(_kernels, "_compiled_views", lambda xp, *arrays: None)
    import array_api_compat.torch as txp

    rng = np.random.RandomState(3)
    X = rng.normal(size=(500, 4)).astype(dtype)
    w = rng.uniform(0.5, 2.0, 500).astype(dtype)
    labels = rng.randint(0, 7, 500)
    labels[labels == 5] = 6  # an empty cluster
    Xt, wt, lt = torch.asarray(X[::2]), torch.asarray(w[::2]), torch.asarray(labels[::2])
    rtol = RTOL[dtype]
    for weights in (None, wt):
        sums = _kernels.segment_sum(txp, Xt, lt, 7, weights)
        counts = _kernels.segment_count(txp, lt, 7, weights, Xt.dtype)
        wh = np.ones(250, dtype=dtype) if weights is None else w[::2]
        ref_sums = np.zeros((7, 4))
        np.add.at(ref_sums, labels[::2], X[::2] * wh[:, None].astype(np.float64))
        ref_counts = np.bincount(labels[::2], weights=wh, minlength=7)
        assert sums.dtype == Xt.dtype and counts.dtype == Xt.dtype
        np.testing.assert_allclose(sums.numpy(), ref_sums, rtol=rtol, atol=rtol)
        np.testing.assert_allclose(counts.numpy(), ref_counts, rtol=rtol)
    k = 9
    Xf = torch.asarray(touching_blobs(300, 3, k, seed=2).astype(dtype))
    wf = torch.asarray(sample_weight(300).astype(dtype))
    runs = {
        algorithm: KMeans(
            k, init="k-means++", tol=0.0, random_state=0, chunk_bytes=2048, algorithm=algorithm
        ).fit(Xf, sample_weight=wf)
        for algorithm in ALGORITHMS
    }
    assert_bit_identical(runs, Xf)


@pytest.mark.needs_backends("torch")
@pytest.mark.parametrize("budget", [None, 200], ids=["one-batch", "many-batches"])
def test_exact_labels_by_pairs_equal_numpy(monkeypatch, budget):
    # the near-tie rule on torch and CuPy (products of the candidate pairs
    # only, in batches) picks what NumPy's picks, exact ties to the first
    torch = pytest.importorskip("torch")
    import array_api_compat.numpy as nxp
    import array_api_compat.torch as txp

    from kmeans_xp._backend import _kernels

    if budget is not None:
        monkeypatch.setattr(_kernels, "_PAIRS_BUDGET", budget)
    rng = np.random.RandomState(5)
    Xs = rng.normal(size=(60, 6)).astype(np.float32)
    C = rng.normal(size=(9, 6)).astype(np.float32)
    C[5] = C[3]  # an exact tie: the first of the two wins
    h = 0.5 * (C.astype(np.float64) ** 2).sum(axis=1)
    cand = rng.uniform(size=(60, 9)) < 0.4
    cand[np.arange(60), rng.randint(0, 9, 60)] = True
    cand[:20, 3] = cand[:20, 5] = True
    cand[20:25] = True  # every center a candidate
    ref = _kernels._exact_labels(nxp, Xs, C, h.astype(np.float32), cand)
    got = _kernels._exact_labels(
        txp,
        torch.asarray(Xs),
        torch.asarray(C),
        torch.asarray(h.astype(np.float32)),
        torch.asarray(cand),
    )
    np.testing.assert_array_equal(got.numpy(), ref)
    assert not np.any(ref[:20] == 5)


def _to_jax(a):
    jnp = pytest.importorskip("jax.numpy")
    return jnp.asarray(a)


def _to_torch(a):
    torch = pytest.importorskip("torch")
    return torch.asarray(a)


@pytest.mark.parametrize(
    "to_lib",
    [
        pytest.param(_to_jax, marks=pytest.mark.needs_backends("numpy", "jax"), id="jax"),
        pytest.param(_to_torch, marks=pytest.mark.needs_backends("numpy", "torch"), id="torch"),
    ],
)
@pytest.mark.parametrize(
    "make",
    [
        lambda: KMeans(6, random_state=0, algorithm="lloyd"),
        lambda: KMeans(6, random_state=0, algorithm="hamerly"),
        lambda: KMeans(6, init=np.arange(30.0).reshape(6, 5) % 7, n_init=1),
        lambda: MiniBatchKMeans(6, random_state=0, batch_size=256),
        lambda: SphericalKMeans(6, random_state=0),
    ],
    ids=["lloyd", "hamerly", "given-init", "minibatch", "spherical"],
)
def test_host_arrays_give_numpys_bits(make, to_lib):
    # JAX arrays in host memory and dense CPU torch tensors run NumPy's
    # chunks (views, no copies) and keep the centers' arithmetic in NumPy:
    # the same bits as NumPy's fit, results back in their own library
    rng = np.random.RandomState(0)
    X = (rng.normal(size=(2000, 5)) + rng.randint(0, 4, (2000, 1)) * 3).astype(np.float32)
    w = rng.uniform(0.5, 2, 2000).astype(np.float32)
    ref = make().fit(X, sample_weight=w)
    est = make()
    if not isinstance(est.init, str):
        est.init = to_lib(est.init.astype(np.float32))
    got = est.fit(to_lib(X), sample_weight=to_lib(w))
    kind = type(to_lib(X))
    assert isinstance(got.cluster_centers_, kind), type(got.cluster_centers_)
    assert isinstance(got.labels_, kind)
    np.testing.assert_array_equal(np.asarray(got.cluster_centers_), ref.cluster_centers_)
    np.testing.assert_array_equal(np.asarray(got.labels_), ref.labels_)
    assert got.inertia_ == ref.inertia_ and got.n_iter_ == ref.n_iter_
    np.testing.assert_array_equal(np.asarray(got.predict(to_lib(X[:50]))), ref.predict(X[:50]))


@pytest.mark.needs_backends("torch")
def test_host_views_of_a_pass_share_memory_or_copy():
    # the chunks of dense CPU tensors are NumPy views (no copy); a row array
    # that cannot be viewed (autograd; validation detaches the caller's) is
    # copied, not left to torch's code, whose small arrays would be NumPy
    torch = pytest.importorskip("torch")
    import array_api_compat.torch as txp

    from kmeans_xp._backend import _executor

    X = torch.arange(8.0, dtype=torch.float32).reshape(4, 2)
    w = torch.ones(4, requires_grad=True)
    views = _executor._numpy_views(txp, (X, w, None))
    assert views is not None and views[2] is None
    assert np.shares_memory(views[0], X.numpy())
    assert isinstance(views[1], np.ndarray) and views[1].tolist() == [1.0] * 4
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch: CSR support in beta
        sparse = X.to_sparse_csr()
    assert _executor._numpy_views(txp, (sparse, None)) is None
    assert not _executor.runs_on_numpy(txp, None, sparse)
    assert _executor.small_namespace(txp, None, sparse) is txp


def _issue15_float32_case(backend) -> None:
    # issue 15 item 4 at a third of its size (60k x 12 there): uniform float32
    # data at 1e4, k = 32. BLAS rounds float32 products differently for
    # matrices of different shapes (Hamerly's subsets), which used to change
    # thousands of labels; the seed is one where it did at this size
    X = (np.random.RandomState(1).uniform(size=(20_000, 12)) + 1e4).astype(np.float32)
    Xb = backend.asarray(X)
    runs = {
        algorithm: KMeans(32, random_state=0, algorithm=algorithm).fit(Xb)
        for algorithm in ALGORITHMS
    }
    assert_bit_identical(runs, Xb)


# ~200 passes over 20k rows: a few seconds on NumPy, minutes elsewhere (slow run)
@pytest.mark.slow_on("array_api_strict", "torch", "jax")
def test_hamerly_equals_lloyd_float32_far_from_origin(backend):
    _issue15_float32_case(backend)


@pytest.mark.needs_backends("jax")
def test_auto_prunes_jax_arrays_in_host_memory():
    # "auto" is Hamerly for 8 or more clusters where pruning pays off: JAX
    # arrays in host memory run NumPy's chunks; on an accelerator JAX's eager
    # mode would compile every subset size
    import types

    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    from kmeans_xp._estimator import Algorithm

    cpu = jax.devices("cpu")[0]
    assert Algorithm.resolve("auto", 8, jnp, cpu) is Algorithm.HAMERLY
    assert Algorithm.resolve("auto", 7, jnp, cpu) is Algorithm.LLOYD
    gpu = types.SimpleNamespace(platform="gpu")
    assert Algorithm.resolve("auto", 8, jnp, gpu) is Algorithm.LLOYD
