"""The shared engine (issues 10 and 15): memory, one relocation, SphericalKMeans
on Dask, Hamerly's sums on uneven Dask blocks, a consistent returned triple,
fit state in the fit, and BLAS threads restored."""

from __future__ import annotations

import threading
import tracemalloc

import numpy as np
import pytest

from kmeans_xp import KMeans, MiniBatchKMeans, SphericalKMeans
from kmeans_xp._assign import Data, PassResult, chunk_size_for
from kmeans_xp._lloyd import RunResult, better_run, run_lloyd
from kmeans_xp._testing import to_numpy


def _estimator(name: str, **kw):
    if name == "lloyd":
        return KMeans(algorithm="lloyd", **kw)
    if name == "hamerly":
        return KMeans(algorithm="hamerly", **kw)
    if name == "spherical":
        return SphericalKMeans(**kw)
    return MiniBatchKMeans(batch_size=1024, **kw)


# ------------------------------------------------------------------- memory
_SLOW = pytest.mark.slow


def _traced_peak(fn) -> int:
    """Peak traced memory (bytes) while ``fn()`` runs."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(
    ("name", "given_init"),
    [
        ("lloyd", True),
        pytest.param("lloyd", False, marks=_SLOW),
        pytest.param("hamerly", True, marks=_SLOW),
        ("spherical", True),
        pytest.param("spherical", False, marks=_SLOW),
        ("minibatch", True),
        pytest.param("minibatch", False, marks=_SLOW),
    ],
)
def test_peak_memory_of_a_fit_is_under_half_of_x(name, given_init):
    """Peak traced memory of a fit <= 0.5 x X + O(k d) (+ a batch's rows for
    MiniBatchKMeans), with every pool thread's chunk in flight."""
    n, d, k = 200_000, 32, 64
    X = (np.random.default_rng(0).normal(size=(n, d)) + 5.0).astype(np.float32)
    kw = {"init": X[:k].copy()} if given_init else {"random_state": 0}
    est = _estimator(name, n_clusters=k, max_iter=3 if name != "minibatch" else 1, **kw)
    allowance = 0.5 * X.nbytes + 16 * k * d * 8
    if name == "minibatch":
        allowance += 3 * 1024 * d * 4  # a batch and the init rows
    # loading (or compiling) the compiled loops once per process is not
    # memory of the fit: a small fit first
    _estimator(name, n_clusters=k, max_iter=1, **kw).fit(X[: 4 * k])
    peak = _traced_peak(lambda: est.fit(X))
    assert peak <= allowance, f"peak {peak / X.nbytes:.3f} x X"


def test_lloyd_chunks_of_rows_read_in_place():
    """Rows read where they are (not shifted) count only their scores in a
    Lloyd chunk's budget: fewer, equal chunks, an even count (whatever the
    machine: chunks fix the order of the sums); the peak memory of the fit
    stays <= 0.5 x X + O(k d)."""
    pytest.importorskip("numba")
    import array_api_compat.numpy as xp

    n, d, k = 200_000, 32, 64
    X = np.random.default_rng(0).normal(size=(n, d)).astype(np.float32)
    data = KMeans(k)._make_data(xp, X, None, "cpu", None, k)
    lloyd = data.for_lloyd()
    count = -(-n // lloyd.chunk)
    assert lloyd.chunk > data.chunk and count % 2 == 0
    assert lloyd.chunk * (count - 1) < n <= lloyd.chunk * count
    shifted = KMeans(k)._make_data(xp, X, None, "cpu", X.mean(axis=0), k)
    assert shifted.for_lloyd().chunk == shifted.chunk  # rows copied: as budgeted
    KMeans(k, init=X[:k].copy(), max_iter=1).fit(X[: 4 * k])  # compiled loops loaded
    peak = _traced_peak(lambda: KMeans(k, init=X[:k].copy(), max_iter=3, algorithm="lloyd").fit(X))
    assert peak <= 0.5 * X.nbytes + 16 * k * d * 8, f"peak {peak / X.nbytes:.3f} x X"


@pytest.mark.parametrize("compiled", [True, False])
def test_kmeans_plusplus_chunks_of_rows_read_in_place(compiled):
    """k-means++ over rows read where they are (not shifted) counts only its
    steps' own temporaries in a chunk's budget (fewer chunks a step: two
    threads spent their time handing chunks over); with the compiled passes
    or the array code, the peak memory of the seeding stays <= 0.5 x X +
    O(k d)."""
    import array_api_compat.numpy as xp

    from kmeans_xp._backend import _compiled
    from kmeans_xp._init import kmeans_plusplus

    if compiled:
        pytest.importorskip("numba")
    n, d, k = 200_000, 32, 64
    X = np.random.default_rng(0).normal(size=(n, d)).astype(np.float32)
    data = KMeans(k)._make_data(xp, X, None, "cpu", None, k)
    wide = data.with_columns(6 * 8)
    seeding = wide.in_place(2 * 8 + 4 + d // 3)
    count = -(-n // seeding.chunk)
    assert seeding.chunk > wide.chunk and count % 2 == 0
    shifted = KMeans(k)._make_data(xp, X, None, "cpu", X.mean(axis=0), k).with_columns(6 * 8)
    assert shifted.in_place(24).chunk == shifted.chunk  # rows copied: as budgeted
    _compiled.force(compiled)
    try:
        kmeans_plusplus(data, k, np.random.RandomState(0))  # compiled loops loaded
        peak = _traced_peak(lambda: kmeans_plusplus(data, k, np.random.RandomState(0)))
    finally:
        _compiled.force(None)
    assert peak <= 0.5 * X.nbytes + 16 * k * d * 8, f"peak {peak / X.nbytes:.3f} x X"


@pytest.mark.parametrize("budget", [2**19, None])
def test_hamerly_on_the_thread_pool_keeps_the_memory_bound(budget, monkeypatch):
    """Hamerly's blocks run on the thread pool, each thread's block a thread
    count's times smaller where a pass has few full blocks (each block in
    flight holds temporaries of its rows); the peak stays <= 0.5 x X + O(k d),
    shifted rows included, at a small budget (many full blocks) and the
    default one (200k rows: a few, made smaller)."""
    pytest.importorskip("numba")
    import array_api_compat.numpy as xp

    from kmeans_xp._hamerly import HamerlyStep

    monkeypatch.setenv("KMEANS_XP_NUM_THREADS", "2")
    n, d, k = 200_000, 32, 64
    X = (np.random.default_rng(0).normal(size=(n, d)) + 5.0).astype(np.float32)
    data = KMeans(k, chunk_bytes=budget)._make_data(xp, X, None, "cpu", X.mean(axis=0), k)
    step = HamerlyStep(data)
    assert step.parallel
    est = KMeans(k, init=X[:k].copy(), max_iter=3, algorithm="hamerly", chunk_bytes=budget)
    # the compiled loops loaded (compiled, with a cold cache) outside the
    # traced fit: the same settings on fewer rows
    KMeans(k, init=X[:k].copy(), max_iter=3, algorithm="hamerly", chunk_bytes=budget).fit(
        X[:20_000]
    )
    peak = _traced_peak(lambda: est.fit(X))
    assert peak <= 0.5 * X.nbytes + 16 * k * d * 8, f"peak {peak / X.nbytes:.3f} x X"
    # the block size follows the thread count, the sums Lloyd's chunks: the same bits
    monkeypatch.setenv("KMEANS_XP_NUM_THREADS", "1")
    assert not HamerlyStep(data).parallel
    one = KMeans(k, init=X[:k].copy(), max_iter=3, algorithm="hamerly", chunk_bytes=budget).fit(X)
    np.testing.assert_array_equal(one.labels_, est.labels_)
    np.testing.assert_array_equal(one.cluster_centers_, est.cluster_centers_)


@pytest.mark.slow
def test_peak_memory_at_large_k():
    n, d, k = 100_000, 32, 512
    X = np.random.default_rng(1).normal(size=(n, d)).astype(np.float32)
    KMeans(k, init=X[:k].copy(), max_iter=1).fit(X[: 4 * k])  # compiled loops loaded
    peak = _traced_peak(lambda: KMeans(k, init=X[:k].copy(), max_iter=2).fit(X))
    assert peak <= 0.5 * X.nbytes + 16 * k * d * 8, f"peak {peak / X.nbytes:.3f} x X"


def test_wider_passes_keep_small_data_in_one_chunk():
    """Chunks are sized from the memory budget, not from a chunk already cut
    to the rows there are: 10k x 2 with k=8 fits one chunk for the k-means++
    steps' 48 columns too (it was cut to 2,000 rows, five passes' worth of
    overhead a step), while data beyond the budget still gets smaller chunks
    for wider passes."""
    import array_api_compat.numpy as xp

    def data_for(n):
        X = np.zeros((n, 2), dtype=np.float32)
        return KMeans(8)._make_data(xp, X, None, "cpu", None, 8)

    small = data_for(10_000)
    assert small.chunk == 10_000 and small.with_columns(48).chunk == 10_000
    large = data_for(2_000_000)
    assert large.chunk < 2_000_000
    assert large.with_columns(48).chunk == large.chunk * (8 + 2) // (48 + 2)


# -------------------------------------------------------- one relocation
# (JAX and Dask parametrizations of this file are in the slow run: conftest.py)
@pytest.mark.parametrize("name", ["lloyd", "hamerly", "spherical", "minibatch"])
def test_relocation_leaves_no_cluster_empty(backend, name):
    """20 points near (1, 0), one at (0, 1): the center at (-1, 0) gets no
    sample, and the lone sample of the center at (0.6, 0.8) may not be taken
    from it (the donor guard); another sample must fill the empty cluster."""
    rng = np.random.default_rng(0)
    X = np.vstack([np.c_[np.ones(20), rng.normal(0, 0.01, 20)], [[0.0, 1.0]]])
    init = np.array([[1.0, 0.0], [0.6, 0.8], [-1.0, 0.0]])
    Xb = backend.asarray(X)
    if backend.lazy and name == "minibatch":
        pytest.skip("MiniBatchKMeans needs eager arrays")
    init_b = init if backend.lazy else backend.asarray(init)
    extra = {"batch_size": 21} if name == "minibatch" else {}
    est = _estimator(name, n_clusters=3, init=init_b, max_iter=1, random_state=0)
    est.set_params(**extra)
    est.fit(Xb)
    sizes = np.bincount(to_numpy(est.labels_), minlength=3)
    assert (sizes > 0).all(), sizes
    assert sizes[1] >= 1  # the lone sample was not taken from its cluster
    np.testing.assert_array_equal(to_numpy(est.predict(Xb)), to_numpy(est.labels_))


# ------------------------------------------------- SphericalKMeans on Dask
def _directions(n=600, d=5, k=4, seed=0):
    rs = np.random.RandomState(seed)
    mu = rs.normal(size=(k, d))
    mu /= np.linalg.norm(mu, axis=1, keepdims=True)
    X = mu[rs.randint(0, k, size=n)] + 0.3 * rs.normal(size=(n, d))
    return X * 10.0 ** rs.uniform(-1, 2, size=(n, 1))


@pytest.mark.parametrize("init", ["array", "random", "k-means||"])
def test_spherical_agrees_with_numpy(backend, init):
    X = _directions()
    w = np.random.RandomState(3).uniform(0.5, 2.0, size=X.shape[0])
    if init == "array":
        init_np = X[[0, 1, 2, 3]]
        init_b = init_np if backend.lazy else backend.asarray(init_np)
        ref = SphericalKMeans(4, init=init_np).fit(X, sample_weight=w)
        got = SphericalKMeans(4, init=init_b).fit(
            backend.asarray(X), sample_weight=backend.asarray(w)
        )
    else:
        ref = SphericalKMeans(4, init=init, random_state=0).fit(X, sample_weight=w)
        got = SphericalKMeans(4, init=init, random_state=0).fit(
            backend.asarray(X), sample_weight=backend.asarray(w)
        )
    np.testing.assert_array_equal(to_numpy(got.labels_), to_numpy(ref.labels_))
    np.testing.assert_allclose(
        to_numpy(got.cluster_centers_), ref.cluster_centers_, rtol=1e-10, atol=1e-12
    )
    assert got.n_iter_ == ref.n_iter_
    assert got.inertia_ == pytest.approx(ref.inertia_, rel=1e-10)
    np.testing.assert_allclose(
        to_numpy(got.transform(backend.asarray(X[:50]))),
        ref.transform(X[:50]),
        rtol=1e-10,
        atol=1e-12,
    )


# ------------------------------------------ Hamerly on uneven Dask blocks
@pytest.mark.backends("dask")  # (in the slow run, as every Dask case: conftest.py)
@pytest.mark.parametrize("chunks", [(700, 1100, 1200), (100_000,), (1, 2999)])
def test_hamerly_on_uneven_dask_blocks_equals_lloyd(backend, chunks):
    import dask.array as da

    rng = np.random.default_rng(5)
    centers = rng.normal(scale=6.0, size=(16, 4))
    X = centers[rng.integers(0, 16, 3000)] + rng.normal(size=(3000, 4))
    Xd = da.from_array(X, chunks=(tuple(c for c in chunks if c <= 3000) or (3000,), -1))
    if sum(Xd.chunks[0]) != 3000:
        Xd = da.from_array(X, chunks=(100_000, -1))
    init = X[:16].copy()
    lloyd = KMeans(16, init=init, algorithm="lloyd").fit(Xd)
    ham = KMeans(16, init=init, algorithm="hamerly").fit(Xd)
    ref = KMeans(16, init=init, algorithm="lloyd").fit(X)
    np.testing.assert_array_equal(to_numpy(ham.labels_), to_numpy(lloyd.labels_))
    np.testing.assert_array_equal(to_numpy(ham.cluster_centers_), to_numpy(lloyd.cluster_centers_))
    assert ham.n_iter_ == lloyd.n_iter_
    np.testing.assert_array_equal(to_numpy(lloyd.labels_), ref.labels_)
    assert ham.inertia_ == pytest.approx(ref.inertia_, rel=1e-12)


# ------------------------------------------------ the returned triple
class _OneRelocationStep:
    """Lloyd's step, except that its second call reports no label change while
    one cluster is empty: the update relocates a sample."""

    def __init__(self, data: Data, labels: np.ndarray) -> None:
        self.data, self.labels, self.calls = data, labels, 0

    def __call__(self, centers, labels_old) -> PassResult:
        self.calls += 1
        X = self.data.X
        k = int(centers.shape[0])
        sums = np.zeros((k, X.shape[1]))
        np.add.at(sums, self.labels, X)
        counts = np.bincount(self.labels, minlength=k).astype(float)
        return PassResult(self.labels.copy(), sums, counts, 0 if self.calls > 1 else len(X))

    def moved(self, old, new) -> None:
        pass


def test_restarts_keep_the_first_of_the_same_clustering():
    """Among restarts a run replaces the best only with a lower inertia and
    another clustering (scikit-learn's rule): the same partition with its
    centers in another order, and an inertia lower by rounding, would rename
    the clusters by the last bits of the data."""
    import array_api_compat.numpy as xp

    def run(labels, inertia):
        labels = np.asarray(labels)
        return RunResult(labels, inertia, np.zeros((3, 1)), 1, 3, True, True)

    first = run([0, 0, 1, 2, 2], 1.0)
    assert better_run(xp, first, None, 3)
    assert not better_run(xp, run([2, 2, 0, 1, 1], 1.0 - 1e-16), first, 3)
    assert better_run(xp, run([0, 1, 1, 2, 2], 0.5), first, 3)
    assert not better_run(xp, run([0, 1, 1, 2, 2], 1.5), first, 3)


def test_a_relocation_counts_as_a_change():
    """A relocation in the last update must not end the run as converged
    with labels of the centers before it: labels, centers and inertia of the
    returned run belong together (issue 15, item 5)."""
    import array_api_compat.numpy as xp

    X = np.array([[0.0], [1.0], [2.0], [10.0], [11.0]])
    data = Data(
        xp=xp,
        X=X,
        weights=None,
        offset=None,
        device="cpu",
        chunk=chunk_size_for(xp, X, "cpu", 3, None),
        chunk_cols=3,
    )
    step = _OneRelocationStep(data, np.array([0, 0, 0, 1, 1]))
    run = run_lloyd(data, np.array([[1.0], [10.5], [100.0]]), max_iter=2, tol=0.0, step=step)
    assert not run.strict
    d2 = (X - run.centers.T) ** 2
    np.testing.assert_array_equal(run.labels, d2.argmin(axis=1))
    assert run.inertia == pytest.approx(float(d2.min(axis=1).sum()))


@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("d", [5, 200])
def test_assign_with_inertia_is_assign_then_inertia(backend, compiled, weighted, d, monkeypatch):
    """The final pass of a run (labels of the last centers and their cost in
    one pass; one compiled loop on NumPy) gives the labels of ``assign`` and
    the inertia and cluster count of ``inertia_and_sizes`` to the last bit,
    over several chunks, for short rows and for rows NumPy sums in halves."""
    from kmeans_xp._assign import assign, assign_with_inertia, inertia_and_sizes
    from kmeans_xp._backend import _compiled

    if compiled and not _compiled.available():
        pytest.skip("Numba is not installed")
    monkeypatch.setattr(_compiled, "_FORCE", compiled)
    rng = np.random.default_rng(4)
    X = (rng.normal(size=(900, d)) + rng.integers(0, 4, size=(900, 1)) * 3.0).astype(np.float32)
    w = rng.uniform(0.5, 2.0, size=900).astype(np.float32) if weighted else None
    C = np.concatenate([X[:4], X[:1] + 100.0])  # the last cluster stays empty
    Xb = backend.asarray(X)
    wb = None if w is None else backend.asarray(w)
    data = KMeans(5, chunk_bytes=800 * d)._make_data(backend.xp, Xb, wb, backend.device, None, 5)
    assert data.chunk < 900  # several chunks
    centers = data.sxp.asarray(C)
    fused = assign_with_inertia(data, centers)
    labels = assign(data, centers)
    np.testing.assert_array_equal(to_numpy(fused.labels), to_numpy(labels))
    assert (fused.inertia, fused.n_nonempty) == inertia_and_sizes(data, centers, labels)
    assert fused.n_nonempty == 4
    d2 = ((X[:, None, :].astype(np.float64) - C[None].astype(np.float64)) ** 2).sum(-1)
    np.testing.assert_array_equal(to_numpy(labels), d2.argmin(axis=1))
    direct = float((d2.min(axis=1) * (1.0 if w is None else w)).sum())
    assert fused.inertia == pytest.approx(direct, rel=1e-5)


def test_column_statistics_pass_finds_the_largest_norm(backend):
    """The first pass of ``column_mean_var`` also keeps the largest norm of a
    sample (the bound of every later pass), the value ``max_row_norm`` finds
    in a pass of its own; shifted samples find theirs again."""
    from dataclasses import replace

    from kmeans_xp._assign import column_mean_var, max_row_norm

    rng = np.random.default_rng(6)
    X = (rng.normal(size=(700, 3)) * [1.0, 5.0, 0.1] + 40.0).astype(np.float32)
    Xb = backend.asarray(X)
    data = KMeans(4, chunk_bytes=2048)._make_data(backend.xp, Xb, None, backend.device, None, 4)
    assert data.chunk < 700 and data.xmax is None
    mean, _ = column_mean_var(data)
    assert data.xmax == max_row_norm(replace(data, xmax=None))
    assert data.xmax == pytest.approx(float(np.sqrt((X.astype(np.float64) ** 2).sum(1).max())))
    shifted = data.shifted(mean)
    assert shifted.xmax is None
    centered = X.astype(np.float64) - to_numpy(mean).astype(np.float64)
    expected = float(np.sqrt((centered**2).sum(1).max()))
    assert max_row_norm(shifted) == pytest.approx(expected, rel=1e-5)
    assert max_row_norm(shifted) < 0.5 * data.xmax
    assert data.shifted(None).xmax == data.xmax


def test_chunks_run_on_the_calling_thread_and_the_pool_in_order():
    """The executor's threaded map: the calling thread and the pool's threads
    take items; results come in item order; no more than ``window`` items
    are taken ahead of the one consumed; an error is raised to the caller."""
    import time

    from kmeans_xp._backend._executor import _in_order, _pool

    lock = threading.Lock()
    seen: set[int] = set()
    consumed = [0]
    ahead = [0]

    def fn(i):
        with lock:
            seen.add(threading.get_ident())
            ahead[0] = max(ahead[0], i - consumed[0] + 1)
        time.sleep(0.001)
        return i * i

    out = []
    for value in _in_order(_pool(1), 1, fn, range(40), 4):
        out.append(value)
        with lock:
            consumed[0] += 1
        time.sleep(0.003)  # a slow consumer: the window holds the others back
    assert out == [i * i for i in range(40)]
    assert threading.get_ident() in seen and len(seen) == 2
    assert ahead[0] <= 4

    def fails(i):
        if i == 7:
            raise RuntimeError("item 7")
        return i

    with pytest.raises(RuntimeError, match="item 7"):
        list(_in_order(_pool(1), 1, fails, range(40), 4))
    # a consumer that stops early and closes: the pool's thread is free again
    early = _in_order(_pool(1), 1, fn, range(40), 4)
    next(early)
    early.close()
    assert list(_in_order(_pool(1), 1, fn, range(5), 4)) == [0, 1, 4, 9, 16]

    # the pool's thread busy elsewhere (another fit's pass): the calling thread
    # computes everything and does not wait for the thread to come free
    release = threading.Event()
    busy = _pool(1).submit(release.wait)
    done: list[list[int]] = []
    runner = threading.Thread(
        target=lambda: done.append(list(_in_order(_pool(1), 1, fn, range(5), 4)))
    )
    runner.start()
    runner.join(timeout=20)
    finished_while_busy = bool(done)
    release.set()
    busy.result()
    runner.join()
    assert finished_while_busy and done == [[0, 1, 4, 9, 16]]


# ----------------------------------------------- fit state belongs to the fit
def test_minibatch_fit_from_several_threads_equals_a_serial_fit():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(3000, 3)) + rng.integers(0, 5, size=(3000, 1)) * 4.0
    kw = {"n_clusters": 12, "batch_size": 64, "random_state": 0, "max_iter": 3}
    serial = MiniBatchKMeans(**kw).fit(X)
    shared = MiniBatchKMeans(**kw)
    errors: list[BaseException] = []
    results: list[np.ndarray] = []

    def work() -> None:
        try:
            # the same (deterministic) fit in four threads on one object
            results.append(shared.fit(X).cluster_centers_.copy())
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for centers in results:
        np.testing.assert_array_equal(centers, serial.cluster_centers_)


@pytest.mark.slow  # 12 fits of 60k rows in 4 threads
def test_blas_threads_restored_after_concurrent_fits():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    before = [
        (i["internal_api"], i["num_threads"])
        for i in threadpoolctl.threadpool_info()
        if i["user_api"] == "blas"
    ]
    X = np.random.default_rng(4).normal(size=(60_000, 8)).astype(np.float32)

    def work(seed: int) -> None:
        for _ in range(3):
            KMeans(8, random_state=seed, max_iter=5).fit(X)

    threads = [threading.Thread(target=work, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    after = [
        (i["internal_api"], i["num_threads"])
        for i in threadpoolctl.threadpool_info()
        if i["user_api"] == "blas"
    ]
    assert after == before


def test_invalid_parameter_error_is_exported_and_both_kinds():
    import kmeans_xp

    with pytest.raises(kmeans_xp.InvalidParameterError) as info:
        KMeans(tol="x").fit(np.zeros((4, 2)))
    assert isinstance(info.value, ValueError) and isinstance(info.value, TypeError)


def test_import_is_quick_and_lazy():
    """``import kmeans_xp`` (and so the CLI's start) does not import scikit-learn
    or any array library; the estimators load on first use."""
    import subprocess
    import sys

    code = (
        "import sys, kmeans_xp\n"
        "heavy = [m for m in ('sklearn', 'torch', 'jax', 'dask', 'cupy') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "from kmeans_xp import KMeans\n"
        "assert KMeans.__name__ == 'KMeans'\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


# ------------------------------------------------------ out of memory, weights
def _overcommit_refuses_huge() -> bool:
    try:
        with open("/proc/sys/vm/overcommit_memory") as f:
            return f.read().strip() in ("0", "2")
    except OSError:
        return False


@pytest.mark.parametrize(
    "message",
    [
        "[enforce fail at alloc_cpu.cpp:121] . DefaultCPUAllocator: can't allocate memory: "
        "you tried to allocate 80000000000 bytes. Error code 12 (Cannot allocate memory)",
        "RESOURCE_EXHAUSTED: Out of memory allocating 80000000000 bytes.",
        "Out of memory allocating 80000000000 bytes.",
        "CUDA out of memory. Tried to allocate 74.51 GiB",
    ],
)
def test_torch_and_jax_cpu_out_of_memory_are_recognised(message):
    from kmeans_xp import _backend

    assert _backend.is_out_of_memory(RuntimeError(message))
    assert not _backend.is_out_of_memory(RuntimeError("shapes (3,2) and (4,) not aligned"))


@pytest.mark.filterwarnings("ignore:Number of distinct clusters")
@pytest.mark.skipif(
    not _overcommit_refuses_huge(),
    reason="the kernel may grant a huge allocation and then kill the process",
)
@pytest.mark.parametrize("cls", [MiniBatchKMeans, SphericalKMeans])
def test_every_estimator_says_how_to_fit_when_out_of_memory(cls):
    # one chunk of 2e6 x 1e4 float32 scores (76 GB)
    rng = np.random.RandomState(0)
    X = rng.uniform(0.5, 1.0, size=(2_000_000, 2)).astype(np.float32)
    init = rng.uniform(0.5, 1.0, size=(10_000, 2)).astype(np.float32)
    kw = {"batch_size": 2_000_000} if cls is MiniBatchKMeans else {}
    with pytest.raises(MemoryError, match=r"chunk_bytes=\d+"):
        cls(10_000, init=init, max_iter=1, chunk_bytes=2**40, **kw).fit(X)


@pytest.mark.skipif(
    not _overcommit_refuses_huge(),
    reason="the kernel may grant a huge allocation and then kill the process",
)
def test_transform_whose_output_cannot_fit_says_so():
    # (2e6, 50_000) float32 distances: 400 GB, refused at once; a smaller
    # chunk_bytes would not help, and the message says what would
    rng = np.random.RandomState(0)
    km = KMeans(4, random_state=0).fit(rng.uniform(size=(100, 2)))
    km.cluster_centers_ = rng.uniform(size=(50_000, 2))  # as a fit with k=50_000 leaves it
    X = rng.uniform(size=(2_000_000, 2))
    with pytest.raises(MemoryError, match="transform fewer samples"):
        km.transform(X)


def test_minibatch_with_mostly_zero_weights():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5000, 2)) + rng.integers(0, 3, size=(5000, 1)) * 6.0
    w = np.zeros(5000)
    w[rng.choice(5000, 40, replace=False)] = 1.0  # 40 of 5000 samples count
    mbk = MiniBatchKMeans(3, batch_size=256, random_state=0).fit(X, sample_weight=w)
    assert np.isfinite(mbk.cluster_centers_).all()
    assert np.isfinite(mbk.inertia_)


def test_random_init_with_fewer_positive_weights_than_clusters():
    X = np.arange(20.0).reshape(10, 2)
    w = np.r_[np.ones(3), np.zeros(7)]
    with pytest.raises(ValueError, match="sample_weight"):
        KMeans(5, init="random", random_state=0).fit(X, sample_weight=w)


@pytest.mark.parametrize("lib", ["jax", "torch"])
def test_lloyd_pass_labels_stay_on_the_host_where_chunks_run_on_views(lib):
    """Arrays whose chunks run NumPy's code on views (JAX and torch on the
    CPU): a Lloyd pass leaves its labels in NumPy (JAX would copy them into
    its own array every iteration), the next pass takes them as they are,
    and a run returns its labels in the data's namespace, equal to NumPy's."""
    mod = pytest.importorskip(lib)
    import array_api_compat

    from kmeans_xp._assign import lloyd_pass
    from kmeans_xp._backend import rows_in

    rng = np.random.default_rng(3)
    blobs = 10 * rng.standard_normal((5, 4))
    X = (blobs[rng.integers(0, 5, 3000)] + rng.standard_normal((3000, 4))).astype(np.float32)
    C = X[:5].copy()
    Xl = mod.numpy.asarray(X) if lib == "jax" else mod.asarray(X)
    xp = array_api_compat.array_namespace(Xl)
    data = Data(xp, Xl, None, None, None, 700)
    ref = Data(array_api_compat.array_namespace(X), X, None, None, None, 700)
    first = lloyd_pass(data, C, None)
    assert isinstance(first.labels, np.ndarray)
    second = lloyd_pass(data, C + 0.1, first.labels)
    expected = lloyd_pass(ref, C + 0.1, lloyd_pass(ref, C, None).labels)
    np.testing.assert_array_equal(second.labels, expected.labels)
    assert second.n_changed == expected.n_changed
    back = rows_in(xp, second.labels)
    assert array_api_compat.array_namespace(back) is xp
    np.testing.assert_array_equal(to_numpy(back), expected.labels)
    run = run_lloyd(data, C, max_iter=50, tol=0.0)
    assert run.strict and array_api_compat.array_namespace(run.labels) is xp
    expected_run = run_lloyd(ref, C, max_iter=50, tol=0.0)
    np.testing.assert_array_equal(to_numpy(run.labels), expected_run.labels)


@pytest.mark.parametrize("compiled", [True, False])
def test_lloyd_pass_fills_every_label_of_the_host_array(compiled, monkeypatch):
    """Rows in host memory: a Lloyd pass's chunks write their labels into one
    array (``_backend.host_labels``), with the compiled loop or the array
    code; here it starts as -7 everywhere, so a chunk that returned its labels
    instead of writing them would leave -7s."""
    import array_api_compat.numpy as xp

    from kmeans_xp import _backend
    from kmeans_xp._assign import assign, lloyd_pass
    from kmeans_xp._backend import _compiled

    if compiled:
        pytest.importorskip("numba")
    given = []

    def poisoned(xp_, X):
        out = np.full(int(X.shape[0]), -7, dtype=np.int64)
        given.append(out)
        return out

    monkeypatch.setattr(_backend, "host_labels", poisoned)
    rng = np.random.default_rng(5)
    X = rng.standard_normal((5000, 3)).astype(np.float32)
    C = X[:6].copy()
    data = Data(xp, X, None, None, None, 700)  # 8 chunks
    _compiled.force(compiled)
    try:
        first = lloyd_pass(data, C, None)
        second = lloyd_pass(data, C + 0.05, first.labels)
        expected = [assign(data, C), assign(data, C + 0.05)]
    finally:
        _compiled.force(None)
    assert len(given) == 2 and first.labels is given[0] and second.labels is given[1]
    np.testing.assert_array_equal(first.labels, expected[0])
    np.testing.assert_array_equal(second.labels, expected[1])
    assert second.n_changed == int(np.sum(expected[0] != expected[1]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sum_of_squares_keeps_the_plain_sums_bits_and_scales_exactly(dtype):
    """The center shift (``sum_of_squares``, compared with ``tol``): the bits
    of ``sum(values**2)`` where that neither under- nor overflows, the same
    through the array API alone, and exactly proportional to the scale
    below (float32 shifts of tiny data square to nothing otherwise)."""
    import array_api_compat.numpy as np_xp
    import array_api_strict as strict

    from kmeans_xp._assign import sum_of_squares

    rng = np.random.default_rng(3)
    for shape in [(1, 1), (3, 2), (8, 2), (16, 9), (300, 7)]:
        v = (rng.standard_normal(shape) * 10.0 ** rng.uniform(-3, 3, shape)).astype(dtype)
        plain = float(np.sum(v * v))
        assert sum_of_squares(np_xp, v) == plain
        assert sum_of_squares(strict, strict.asarray(v)) == plain
        tiny = v * dtype(2.0**-80)  # exact: a power of two, still normal
        assert sum_of_squares(np_xp, tiny) == plain * 2.0**-160


def test_a_fit_holds_blas_at_one_thread_from_its_input_checks_and_gives_it_back(monkeypatch):
    """Every pass runs with BLAS on one thread; a fit holds that limit once,
    from the checks of its input (their passes too) to its end, and restores
    the thread count when it ends, a failed fit included."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from kmeans_xp._kmeans_base import BaseKMeans

    def blas_threads() -> list[int]:
        info = threadpoolctl.threadpool_info()
        return [i["num_threads"] for i in info if i["user_api"] == "blas"]

    seen: list[list[int]] = []
    checks = BaseKMeans._fit_input

    def spy(self, *args, **kwargs):
        seen.append(blas_threads())
        return checks(self, *args, **kwargs)

    monkeypatch.setattr(BaseKMeans, "_fit_input", spy)
    X = np.random.default_rng(5).normal(size=(2000, 3)).astype(np.float32)
    bad = X.copy()
    bad[7, 1] = np.nan
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        before = blas_threads()
        if not before or max(before) < 2:
            pytest.skip("no BLAS library that takes two threads")
        KMeans(4, random_state=0, n_init=1).fit(X)
        MiniBatchKMeans(4, random_state=0, n_init=1, batch_size=256).fit(X)
        MiniBatchKMeans(4, random_state=0, n_init=1).partial_fit(X)
        assert blas_threads() == before
        with pytest.raises(ValueError, match=r"NaN|infinit|finite"):
            KMeans(4, random_state=0).fit(bad)
        assert blas_threads() == before
    assert len(seen) == 4 and all(threads == [1] * len(before) for threads in seen), seen
