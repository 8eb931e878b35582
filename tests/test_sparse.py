"""Sparse samples (issue 11): scipy.sparse and torch sparse CSR give the dense fit's results.

Every estimator and method on sparse X is compared with the same call on
``X.toarray()``: from the same seed (so the same initial centers) the same
labels and number of iterations, centers and inertia within rounding. The
data hold an empty row, a row of explicit zeros only and explicit zeros
elsewhere; they come as CSR and CSC, matrix and array classes, float32 and
float64, with and without sample weights, and are never modified.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp

from kmeans_xp import KMeans, MiniBatchKMeans, SphericalKMeans, _backend, k_means, kmeans_plusplus
from kmeans_xp._assign import chunk_size_for
from kmeans_xp._backend import _sparse

CLASSES = {
    "csr_matrix": sp.csr_matrix,
    "csr_array": sp.csr_array,
    "csc_matrix": sp.csc_matrix,
    "csc_array": sp.csc_array,
}
FORMATS = list(CLASSES)
DTYPES = ["float64", "float32"]
# relative rounding allowed between the sparse and the dense results
RTOL = {"float64": 1e-12, "float32": 2e-5}
EMPTY_ROW, ZEROS_ROW = 3, 7


def sparse_blobs(n=400, d=50, k=5, dtype="float64", seed=0):
    """(CSR matrix, the same as a dense array): rows near k clusters, each on
    its own features; row 3 stores nothing, row 7 only explicit zeros, and
    some zero entries elsewhere are stored explicitly."""
    rng = np.random.default_rng(seed)
    profile = rng.random((k, d)) < 0.3
    lab = rng.integers(0, k, n)
    keep = ((rng.random((n, d)) < 0.6) & profile[lab]) | (rng.random((n, d)) < 0.03)
    dense = np.where(keep, rng.exponential(1.0, (n, d)) + 0.5, 0.0)
    dense[[EMPTY_ROW, ZEROS_ROW]] = 0.0
    r, c = np.nonzero(dense)
    zr, zc = np.nonzero(dense == 0.0)
    pick = rng.choice(zr.shape[0], size=n, replace=False)
    zr, zc = zr[pick], zc[pick]
    away = (zr != EMPTY_ROW) & (zr != ZEROS_ROW)
    rows = np.concatenate([r, zr[away], [ZEROS_ROW, ZEROS_ROW]])
    cols = np.concatenate([c, zc[away], [0, d - 1]])
    vals = np.concatenate([dense[r, c], np.zeros(int(away.sum()) + 2)])
    X = sp.csr_matrix((vals, (rows, cols)), shape=(n, d)).astype(dtype)
    assert X.indptr[EMPTY_ROW + 1] == X.indptr[EMPTY_ROW]
    assert X.indptr[ZEROS_ROW + 1] > X.indptr[ZEROS_ROW]
    assert X.nnz > np.count_nonzero(dense)  # explicit zeros stored
    return X, dense.astype(dtype)


def weights_for(n, weighted, dtype, seed=1):
    if not weighted:
        return None
    w = np.random.default_rng(seed).uniform(0.2, 3.0, n).astype(dtype)
    w[11] = 0.0
    return w


class Frozen:
    """A copy of a scipy matrix's parts, to check that it was not modified."""

    def __init__(self, X):
        self.X = X
        self.kind = (type(X), X.format, X.dtype, X.shape)
        self.parts = [a.copy() for a in _parts(X)]

    def check(self):
        X = self.X
        assert (type(X), X.format, X.dtype, X.shape) == self.kind
        for now, before in zip(_parts(X), self.parts, strict=True):
            assert now.dtype == before.dtype
            np.testing.assert_array_equal(now, before)


def _parts(X):
    if hasattr(X, "indptr"):
        return [X.data, X.indices, X.indptr]
    return [X.data, X.row, X.col]


def close(a, b, dtype, scale=1.0):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    np.testing.assert_allclose(a, b, rtol=RTOL[dtype], atol=RTOL[dtype] * scale)


def assert_same_fit(a, b, dtype, scale):
    """Fitted attributes of the sparse fit ``a`` against the dense fit ``b``."""
    np.testing.assert_array_equal(a.labels_, b.labels_)
    assert a.n_iter_ == b.n_iter_
    assert a.cluster_centers_.dtype == b.cluster_centers_.dtype
    assert isinstance(a.cluster_centers_, np.ndarray)
    close(a.cluster_centers_, b.cluster_centers_, dtype, scale)
    close(a.inertia_, b.inertia_, dtype)


def fit_both(make, X, dense, w):
    """(sparse fit, dense fit) of two estimators made by ``make``."""
    return make().fit(X, sample_weight=w), make().fit(dense, sample_weight=w)


# ---------------------------------------------------------------------------
# every estimator and method: sparse equals dense
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("algorithm", ["lloyd", "hamerly"])
def test_kmeans_equals_dense(algorithm, dtype, weighted, fmt):
    S, dense = sparse_blobs(dtype=dtype)
    X = CLASSES[fmt](S)
    frozen = Frozen(X)
    w = weights_for(X.shape[0], weighted, dtype)
    scale = float(np.abs(dense).max())

    def make():
        return KMeans(6, random_state=0, algorithm=algorithm, n_init=2)

    a, b = fit_both(make, X, dense, w)
    assert a.n_iter_ > 2
    assert_same_fit(a, b, dtype, scale)
    # the methods, on the fitted rows and on other rows
    other, other_dense = sparse_blobs(n=120, dtype=dtype, seed=5)
    for Y, Yd in ((X, dense), (CLASSES[fmt](other), other_dense)):
        np.testing.assert_array_equal(a.predict(Y), b.predict(Yd))
        Ta, Tb = a.transform(Y), b.transform(Yd)
        assert Ta.dtype == Tb.dtype and isinstance(Ta, np.ndarray)
        # squared: a distance near 0 is the root of a rounding error
        close(Ta**2, Tb**2, dtype, scale**2)
        sw = weights_for(Y.shape[0], weighted, dtype, seed=2)
        close(a.score(Y, sample_weight=sw), b.score(Yd, sample_weight=sw), dtype)
    np.testing.assert_array_equal(a.predict(X), a.labels_)
    frozen.check()


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
def test_spherical_equals_dense(dtype, weighted, fmt):
    S, dense = sparse_blobs(dtype=dtype, seed=3)
    X = CLASSES[fmt](S)
    frozen = Frozen(X)
    w = weights_for(X.shape[0], weighted, dtype)
    a, b = fit_both(lambda: SphericalKMeans(5, random_state=0), X, dense, w)
    assert a.n_iter_ > 2
    assert_same_fit(a, b, dtype, 1.0)
    np.testing.assert_allclose(np.linalg.norm(a.cluster_centers_, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(a.predict(X), b.predict(dense))
    close(a.transform(X), b.transform(dense), dtype)
    close(a.score(X, sample_weight=w), b.score(dense, sample_weight=w), dtype)
    # the empty row and the row of explicit zeros: cosine distance 1 to all
    T = a.transform(X)
    close(T[[EMPTY_ROW, ZEROS_ROW]], np.ones((2, 5)), dtype)
    frozen.check()


@pytest.mark.parametrize("fmt", ["csr_matrix", "csc_array"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
def test_minibatch_fit_equals_dense(dtype, weighted, fmt):
    S, dense = sparse_blobs(dtype=dtype, seed=4)
    X = CLASSES[fmt](S)
    frozen = Frozen(X)
    w = weights_for(X.shape[0], weighted, dtype)

    def make():
        return MiniBatchKMeans(5, batch_size=64, random_state=0, n_init=2, max_no_improvement=None)

    a, b = fit_both(make, X, dense, w)
    assert a.n_steps_ == b.n_steps_ > 10
    assert_same_fit(a, b, dtype, float(np.abs(dense).max()))
    np.testing.assert_array_equal(a.predict(X), b.predict(dense))
    close(a.score(X, sample_weight=w), b.score(dense, sample_weight=w), dtype)
    frozen.check()


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
def test_minibatch_partial_fit_equals_dense(dtype, weighted):
    S, dense = sparse_blobs(dtype=dtype, seed=6)
    w = weights_for(S.shape[0], weighted, dtype)
    a = MiniBatchKMeans(5, random_state=0, reassignment_ratio=0.2)
    b = MiniBatchKMeans(5, random_state=0, reassignment_ratio=0.2)
    scale = float(np.abs(dense).max())
    for i, start in enumerate(range(0, S.shape[0], 100)):
        rows = slice(start, start + 100)
        part = S[rows] if i % 2 else sp.csc_array(S[rows])
        frozen = Frozen(part)
        wp = None if w is None else w[rows]
        a.partial_fit(part, sample_weight=wp)
        b.partial_fit(dense[rows], sample_weight=wp)
        np.testing.assert_array_equal(a.labels_, b.labels_)
        close(a.cluster_centers_, b.cluster_centers_, dtype, scale)
        close(a.inertia_, b.inertia_, dtype)
        frozen.check()
    assert a.n_steps_ == 4
    np.testing.assert_array_equal(a.predict(S), b.predict(dense))


@pytest.mark.parametrize("fmt", ["csr_array", "csc_matrix"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
def test_kmeans_plusplus_equals_dense(dtype, weighted, fmt):
    S, dense = sparse_blobs(dtype=dtype, seed=7)
    X = CLASSES[fmt](S)
    frozen = Frozen(X)
    w = weights_for(X.shape[0], weighted, dtype)
    Ca, ia = kmeans_plusplus(X, 12, sample_weight=w, random_state=0)
    Cb, ib = kmeans_plusplus(dense, 12, sample_weight=w, random_state=0)
    np.testing.assert_array_equal(ia, ib)
    assert isinstance(Ca, np.ndarray) and Ca.dtype == Cb.dtype
    np.testing.assert_array_equal(Ca, Cb)  # rows of X, copied as they are
    np.testing.assert_array_equal(Ca, dense[ia])
    frozen.check()


@pytest.mark.parametrize("init", ["random", "k-means||", "array", "callable"])
def test_other_inits_equal_dense(init):
    S, dense = sparse_blobs(seed=8)
    X = sp.csc_matrix(S)
    seen = []

    def pick(data, k, random_state):
        seen.append(data)
        rows = random_state.choice(data.shape[0], k, replace=False)
        return data[rows].toarray() if sp.issparse(data) else data[rows]

    given = {"array": dense[[0, 50, 100, 150, 200]], "callable": pick}.get(init, init)
    a, b = fit_both(lambda: KMeans(5, init=given, random_state=0), X, dense, None)
    assert_same_fit(a, b, "float64", float(np.abs(dense).max()))
    if init == "callable":
        # scikit-learn's way: the callable sees X as validated (CSR, not densified)
        assert sp.issparse(seen[0]) and seen[0].format == "csr"
        assert not sp.issparse(seen[-1])


def test_k_means_function_and_fit_methods():
    S, dense = sparse_blobs(seed=9)
    X = sp.csr_array(S)
    frozen = Frozen(X)
    Ca, la, ia, na = k_means(X, 5, random_state=0, return_n_iter=True)
    Cb, lb, ib, nb = k_means(dense, 5, random_state=0, return_n_iter=True)
    np.testing.assert_array_equal(la, lb)
    assert na == nb
    close(Ca, Cb, "float64", 10.0)
    close(ia, ib, "float64")
    np.testing.assert_array_equal(
        KMeans(5, random_state=0).fit_predict(X), KMeans(5, random_state=0).fit_predict(dense)
    )
    Ta = KMeans(5, random_state=0).fit_transform(X)
    Tb = KMeans(5, random_state=0).fit_transform(dense)
    close(Ta**2, Tb**2, "float64", 100.0)
    np.testing.assert_array_equal(
        SphericalKMeans(5, random_state=0).fit_predict(X),
        SphericalKMeans(5, random_state=0).fit_predict(dense),
    )
    frozen.check()


@pytest.mark.filterwarnings("ignore:Number of distinct clusters")  # rows repeated 30 times
@pytest.mark.parametrize("dtype", DTYPES)
def test_exact_ties_settled_as_dense(dtype):
    """Rows exactly between two centers go to the first, as in the dense fit
    (the near-tie rule on sparse rows: the candidates' scores in float64)."""
    base = np.zeros((3, 40))
    base[:, :4] = [[1, 2, 0, 3], [0, 1, 1, 0], [3, 0, 2, 1]]
    dense = np.repeat(base, 30, axis=0).astype(dtype)
    # row i sits exactly halfway between centers i and i + 3: base_i -/+ 2 e_(10 + i)
    shift = 2.0 * np.eye(3, 40, 10)
    init = np.concatenate([base + shift, base - shift]).astype(dtype)
    S = sp.csr_matrix(dense)
    np.testing.assert_array_equal(KMeans(6, init=init).fit(S).predict(S[::30]), [0, 1, 2])
    a, b = fit_both(lambda: KMeans(6, init=init, max_iter=3), S, dense, None)
    assert_same_fit(a, b, dtype, 4.0)
    C = np.concatenate([base - shift, base + shift]).astype(dtype)  # the other one first
    np.testing.assert_array_equal(KMeans(6, init=C).fit(S).predict(S[::30]), [0, 1, 2])


@pytest.mark.parametrize("algorithm", ["lloyd", "hamerly"])
def test_empty_cluster_relocation_equals_dense(algorithm):
    """A center far from every row loses its cluster: the rows farthest from
    their centers (gathered from the sparse rows) take its place."""
    S, dense = sparse_blobs(seed=22)
    init = dense[[0, 1, 2, 4, 5]].copy()
    init[4] = 1e3  # no row is closest to it
    a, b = fit_both(lambda: KMeans(5, init=init, algorithm=algorithm), S, dense, None)
    assert_same_fit(a, b, "float64", 10.0)
    assert len(np.unique(a.labels_)) == 5


def test_dense_like_sparse_data_far_from_the_origin():
    """Sparse data are never shifted by their mean (the dense fit would be):
    the fit still agrees with the dense one within rounding."""
    rng = np.random.default_rng(23)
    dense = np.where(rng.random((300, 20)) < 0.9, 1e3 + rng.random((300, 20)), 0.0)
    dense[:100, :5] += 3.0
    S = sp.csr_matrix(dense)
    a, b = fit_both(lambda: KMeans(3, random_state=0), S, dense, None)
    assert b._offset is not None and getattr(a, "_offset", None) is None
    np.testing.assert_array_equal(a.labels_, b.labels_)
    close(a.cluster_centers_, b.cluster_centers_, "float64", 1e7)


def test_labels_equal_sklearn_sparse_lloyd_from_the_same_init():
    cluster = pytest.importorskip("sklearn.cluster")
    S, dense = sparse_blobs(n=600, d=80, k=8, seed=10)
    init = dense[np.random.default_rng(0).choice(600, 8, replace=False)]
    ours = KMeans(8, init=init, max_iter=50, tol=0.0).fit(S)
    theirs = cluster.KMeans(8, init=init, n_init=1, max_iter=50, tol=0.0).fit(S)
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    assert ours.n_iter_ == theirs.n_iter_
    close(ours.cluster_centers_, theirs.cluster_centers_, "float64", 10.0)
    close(ours.inertia_, theirs.inertia_, "float64")


def test_model_fitted_on_shifted_dense_data_takes_sparse_rows():
    """A dense fit far from the origin is shifted by its mean; sparse rows
    given to predict, transform and score are not (measured against the
    centers as returned)."""
    S, dense = sparse_blobs(seed=11)
    far = dense + 1e3
    km = KMeans(5, random_state=0).fit(far)
    assert km._offset is not None  # the case this test is about
    other = S[:100]
    np.testing.assert_array_equal(km.predict(other), km.predict(other.toarray()))
    close(km.transform(other) ** 2, km.transform(other.toarray()) ** 2, "float64", 1e7)
    close(km.score(other), km.score(other.toarray()), "float64")


def test_duplicate_entries_are_summed_on_a_copy():
    S, dense = sparse_blobs(seed=12)
    coo = S.tocoo()
    # every stored entry as two halves: a CSR matrix with duplicate entries
    rows = np.concatenate([coo.row, coo.row])
    order = np.argsort(rows, kind="stable")
    cols = np.concatenate([coo.col, coo.col])[order]
    half = (np.concatenate([coo.data, coo.data]) / 2)[order]
    indptr = np.r_[0, np.cumsum(np.bincount(rows, minlength=S.shape[0]))]
    raw = sp.csr_matrix((half, cols, indptr), shape=S.shape)
    assert raw.nnz == 2 * S.nnz
    frozen = Frozen(raw)
    a, b = fit_both(lambda: KMeans(5, random_state=0), raw, dense, None)
    assert_same_fit(a, b, "float64", 10.0)
    frozen.check()


def test_same_result_on_any_thread_count_and_chunk(monkeypatch):
    S, _ = sparse_blobs(n=3000, d=60, seed=13)
    runs = []
    for threads, chunk_bytes in (("1", None), ("2", None), ("2", 20_000)):
        monkeypatch.setenv("KMEANS_XP_NUM_THREADS", threads)
        runs.append(KMeans(6, random_state=0, chunk_bytes=chunk_bytes).fit(S))
    one, two, small = runs
    np.testing.assert_array_equal(one.labels_, two.labels_)
    np.testing.assert_array_equal(one.cluster_centers_, two.cluster_centers_)  # bit for bit
    np.testing.assert_array_equal(one.labels_, small.labels_)
    close(one.cluster_centers_, small.cluster_centers_, "float64", 10.0)


@pytest.mark.parametrize("kernel", ["_matvecs", "_row_index"])
def test_without_scipys_kernels(monkeypatch, kernel):
    """Where scipy lacks a compiled routine (``csr_matvecs``, ``csr_row_index``),
    the product and the row gather take the public API, with the same results."""
    S, dense = sparse_blobs(seed=14)
    with_kernel = KMeans(5, random_state=0).fit(S)
    monkeypatch.setattr(_sparse, kernel, lambda: None)
    without = KMeans(5, random_state=0).fit(S)
    np.testing.assert_array_equal(with_kernel.labels_, without.labels_)
    np.testing.assert_array_equal(with_kernel.cluster_centers_, without.cluster_centers_)
    C = np.random.default_rng(0).random((50, 3))
    block = _sparse.sparse_row_slice(S, 20, 260)  # offsets into the parent's arrays
    np.testing.assert_allclose(_sparse.sparse_matmul(block, C), dense[20:260] @ C, rtol=1e-13)
    idx = np.array([4, 0, 4, EMPTY_ROW, 239])
    rows = _sparse.sparse_to_dense(_sparse.sparse_take_rows(block, idx))
    np.testing.assert_array_equal(rows, dense[20:260][idx])


# ---------------------------------------------------------------------------
# memory: X is never densified, no (n_samples, n_clusters) array
# ---------------------------------------------------------------------------
def rows_of(n, d, per_row, seed=0):
    """A CSR matrix with ``per_row`` entries a row, one in each of ``per_row``
    bands of columns (fast to make at any size)."""
    rng = np.random.default_rng(seed)
    band = d // per_row
    cols = rng.integers(0, band, (n, per_row)) + np.arange(per_row) * band
    indptr = np.arange(n + 1) * per_row
    return sp.csr_matrix((rng.random(n * per_row), cols.ravel(), indptr), shape=(n, d))


def test_chunks_sized_from_stored_entries():
    import array_api_compat.numpy as np_xp

    X = rows_of(50_000, 20_000, 60)
    width = _backend.row_width(X)
    assert width == 120  # 60 values and 60 indices a row
    # a chunk's (k, d) sums: its rows' temporaries get twice their size
    budget = _backend.sparse_chunk_budget(np_xp, "cpu", 20, 20_000, 8)
    assert budget == 2 * 8 * 20 * 20_000
    assert chunk_size_for(np_xp, X, "cpu", 20, None) == budget // (8 * (20 + width))
    assert chunk_size_for(np_xp, X, "cpu", 20, 100_000) == 100_000 // (8 * (20 + width))
    # within [the dense default, the cap]
    assert _backend.sparse_chunk_budget(np_xp, "cpu", 2, 10, 8) == _backend.CPU_CHUNK_BUDGET
    assert _backend.sparse_chunk_budget(np_xp, "cpu", 500, 10**6, 8) == _backend.SPARSE_CHUNK_CAP


def test_peak_memory_of_a_sparse_fit():
    n, d, k = 100_000, 2_000, 64
    X = rows_of(n, d, 10)
    stored = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes  # 12 MB
    KMeans(k, init="random", n_init=1, max_iter=2, random_state=0).fit(X)  # warm up
    fits = {
        "KMeans": lambda: KMeans(k, init="random", n_init=1, max_iter=3, random_state=0).fit(X),
        "SphericalKMeans": lambda: SphericalKMeans(
            k, init="random", n_init=1, max_iter=3, random_state=0
        ).fit(X),
        "k-means++": lambda: kmeans_plusplus(X, 16, random_state=0),
    }
    for name, fit in fits.items():
        tracemalloc.start()
        fit()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        # the dense X would be 1.6 GB and an (n, k) array 51 MB: the peak is
        # the labels and per-sample arrays, and a few chunks in flight with
        # their (k, d) sums
        assert peak < 1.5 * stored, (name, peak, stored)
        assert peak < 0.4 * n * k * 8, (name, peak)


# ---------------------------------------------------------------------------
# torch sparse CSR (CPU here; the same code on CUDA)
# ---------------------------------------------------------------------------
def torch_csr(S, dtype):
    import torch

    return torch.sparse_csr_tensor(
        torch.from_numpy(S.indptr.astype(np.int64)),
        torch.from_numpy(S.indices.astype(np.int64)),
        torch.from_numpy(S.data.astype(dtype)),
        size=S.shape,
        check_invariants=True,
    )


@pytest.mark.needs_backends("torch")
@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta")
@pytest.mark.parametrize("layout", ["csr", "coo", "csc"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
def test_torch_sparse_equals_torch_dense(dtype, weighted, layout):
    import torch

    S, dense = sparse_blobs(dtype=dtype, seed=15)
    T = torch_csr(S, dtype)
    T = {"csr": T, "coo": T.to_sparse_coo(), "csc": T.to_sparse_csc()}[layout]
    before = T.to_dense().clone()
    D = torch.from_numpy(dense)
    w = weights_for(S.shape[0], weighted, dtype)
    wt = None if w is None else torch.from_numpy(w)
    scale = float(np.abs(dense).max())
    makers = [
        lambda: KMeans(6, random_state=0),
        lambda: KMeans(6, random_state=0, algorithm="hamerly"),
        lambda: SphericalKMeans(5, random_state=0),
        lambda: MiniBatchKMeans(5, batch_size=64, random_state=0),
    ]
    for make in makers:
        a, b = make().fit(T, sample_weight=wt), make().fit(D, sample_weight=wt)
        assert isinstance(a.cluster_centers_, torch.Tensor) and a.labels_.dtype == b.labels_.dtype
        assert_same_fit(_np(a), _np(b), dtype, scale)
        np.testing.assert_array_equal(a.predict(T).numpy(), b.predict(D).numpy())
        close(a.transform(T).numpy() ** 2, b.transform(D).numpy() ** 2, dtype, scale**2)
        close(a.score(T, sample_weight=wt), b.score(D, sample_weight=wt), dtype)
    Ca, ia = kmeans_plusplus(T, 8, sample_weight=wt, random_state=0)
    Cb, ib = kmeans_plusplus(D, 8, sample_weight=wt, random_state=0)
    np.testing.assert_array_equal(ia.numpy(), ib.numpy())
    np.testing.assert_array_equal(Ca.numpy(), Cb.numpy())
    assert torch.equal(T.to_dense(), before)


def _np(est):
    """The fitted attributes as NumPy, for ``assert_same_fit``."""

    class Fitted:
        labels_ = est.labels_.numpy()
        cluster_centers_ = est.cluster_centers_.numpy()
        inertia_ = est.inertia_
        n_iter_ = est.n_iter_

    return Fitted


@pytest.mark.needs_backends("torch")
@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta")
def test_torch_sparse_primitives_match_scipy():
    """Each primitive on torch CSR gives what it gives on the scipy block."""
    import torch

    S, _ = sparse_blobs(n=90, d=30, seed=16)
    T = torch_csr(S, "float64")
    rng = np.random.default_rng(0)
    C = rng.random((4, 30))
    lab = rng.integers(0, 4, 90)
    w = rng.random(90)
    idx = np.array([5, 3, 3, EMPTY_ROW, 89, ZEROS_ROW])
    mean = rng.random(30)
    blk = _sparse.sparse_row_slice(S, 10, 70)
    tblk = _sparse.sparse_row_slice(T, 10, 70)
    t = torch.from_numpy
    cases = [
        (_sparse.sparse_matmul(S, C.T), _sparse.sparse_matmul(T, t(C.T))),
        (_sparse.sparse_matmul(blk, C.T), _sparse.sparse_matmul(tblk, t(C.T))),
        (_sparse.sparse_row_sq_norms(S), _sparse.sparse_row_sq_norms(T)),
        (_sparse.sparse_column_sums(blk), _sparse.sparse_column_sums(tblk)),
        (_sparse.sparse_column_sq_devs(S, mean), _sparse.sparse_column_sq_devs(T, t(mean))),
        (
            _sparse.sparse_segment_sum(S, lab, 4, w),
            _sparse.sparse_segment_sum(T, t(lab), 4, t(w)),
        ),
        (
            _sparse.sparse_to_dense(_sparse.sparse_take_rows(S, idx)),
            _sparse.sparse_to_dense(_sparse.sparse_take_rows(T, t(idx))),
        ),
        (
            _sparse.sparse_to_dense(_sparse.sparse_unit_rows(S)),
            _sparse.sparse_to_dense(_sparse.sparse_unit_rows(T)),
        ),
        (
            _sparse.sparse_assigned_costs(S, C, lab, False),
            _sparse.sparse_assigned_costs(T, t(C), t(lab), False),
        ),
    ]
    for numpy_result, torch_result in cases:
        np.testing.assert_allclose(torch_result.numpy(), numpy_result, rtol=1e-12, atol=1e-12)
    # the largest magnitude of each row (0 for a row that stores nothing)
    for ops, X in ((_sparse._NUMPY_OPS, S), (_sparse._TORCH_OPS, T)):
        p = ops.parts(X)
        big = ops.row_max(p, abs(p.vals))
        big = big.numpy() if isinstance(big, torch.Tensor) else big
        np.testing.assert_array_equal(big, np.abs(S.toarray()).max(axis=1))
    # and the scipy ones are the dense computations
    dense = S.toarray()
    np.testing.assert_allclose(cases[0][0], dense @ C.T, rtol=1e-12)
    np.testing.assert_allclose(cases[4][0], ((dense - mean) ** 2).sum(0), rtol=1e-12)
    sums = np.stack([(w[lab == j, None] * dense[lab == j]).sum(0) for j in range(4)])
    np.testing.assert_allclose(cases[5][0], sums, rtol=1e-12)
    np.testing.assert_allclose(cases[8][0], ((dense - C[lab]) ** 2).sum(1), rtol=1e-10, atol=1e-10)


# ---------------------------------------------------------------------------
# what is not supported: a clear error before any work
# ---------------------------------------------------------------------------
def _fake(module, name="csr_matrix"):
    """An object whose class lives in ``module`` (libraries not installed here)."""
    cls = type(name, (), {"__module__": module, "nnz": 3, "shape": (3, 3), "ndim": 2})
    return cls()


@pytest.mark.parametrize(
    ("obj", "words"),
    [
        (_fake("cupyx.scipy.sparse._csr"), "CuPy sparse matrix"),
        (_fake("sparse._coo.core", "COO"), "pydata/sparse"),
        (_fake("jax.experimental.sparse.bcoo", "BCOO"), "JAX sparse"),
    ],
)
def test_other_sparse_kinds_refused(obj, words):
    for call in (
        lambda: KMeans(2).fit(obj),
        lambda: MiniBatchKMeans(2).partial_fit(obj),
        lambda: kmeans_plusplus(obj, 2),
    ):
        with pytest.raises(TypeError, match=words):
            call()


@pytest.mark.needs_backends("dask")
def test_dask_array_of_sparse_blocks_refused():
    da = pytest.importorskip("dask.array")
    S, _ = sparse_blobs(seed=17)
    X = da.from_array(S, chunks=(100, -1), asarray=False)
    assert sp.issparse(X._meta)
    for Est in (KMeans, SphericalKMeans):
        with pytest.raises(TypeError, match="Dask array of sparse blocks"):
            Est(2).fit(X)


def test_sparse_where_dense_is_required():
    S, dense = sparse_blobs(seed=18)
    # scikit-learn's parameter check: a sparse matrix is not "array-like"
    with pytest.raises(TypeError, match="'init' parameter of KMeans"):
        KMeans(2, init=sp.csr_matrix(dense[:2])).fit(S)
    with pytest.raises(TypeError, match="Sparse data was passed for the array returned by init"):
        KMeans(2, init=lambda X, k, random_state: X[:2]).fit(S)
    with pytest.raises(TypeError, match="Sparse data was passed for sample_weight"):
        KMeans(2).fit(S, sample_weight=sp.csr_array(np.ones((1, 400))))
    with pytest.raises(ValueError, match="2-D"):
        KMeans(2).fit(sp.coo_array(np.ones(5)))


def test_partial_fit_on_sparse_after_a_shifted_dense_start():
    S, dense = sparse_blobs(seed=19)
    mbk = MiniBatchKMeans(3, random_state=0).partial_fit(dense + 1e3)
    with pytest.raises(ValueError, match="cannot continue on sparse data"):
        mbk.partial_fit(S)
    mbk.partial_fit(dense[:50] + 1e3)  # dense batches still go on


@pytest.mark.needs_backends("torch")
@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta")
def test_sparse_of_the_wrong_library():
    import torch

    S, dense = sparse_blobs(seed=20)
    km = KMeans(3, random_state=0).fit(torch.from_numpy(dense))
    with pytest.raises(TypeError, match=r"scipy\.sparse matrix, which runs with NumPy"):
        km.predict(S)
    # sample_weight follows X (as in scikit-learn): torch weights for scipy.sparse rows
    w = 1.0 + np.arange(400) % 3
    km = KMeans(3, random_state=0).fit(S, sample_weight=torch.asarray(w))
    ref = KMeans(3, random_state=0).fit(S, sample_weight=w)
    np.testing.assert_array_equal(km.labels_, ref.labels_)
    bsr = torch_csr(S, "float64").to_sparse_bsr((2, 2))
    with pytest.raises(TypeError, match="layout"):
        KMeans(3).fit(bsr)


def test_values_too_small_as_for_dense():
    """The underflow check sees each feature's implicit zeros: stored values
    of -1e-160 differ from the zeros by a square below float64's range."""
    dense = np.zeros((20, 4))
    dense[::2, 1] = -1e-160
    S = sp.csr_matrix(dense)
    for X in (dense, S):
        with pytest.raises(ValueError, match="too small"):
            KMeans(2).fit(X)


def test_non_finite_and_magnitude_checks_see_the_stored_values():
    S, _ = sparse_blobs(seed=21)
    bad = S.copy()
    bad.data[5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        KMeans(2).fit(bad)
    big = S.astype("float32")
    big.data[5] = 3e38
    with pytest.raises(ValueError, match="too large"):
        KMeans(2).fit(big)
