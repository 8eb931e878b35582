"""The compiled loops (Numba, NumPy only) give what the array code gives."""

from __future__ import annotations

import os

import array_api_compat.numpy as xp
import numpy as np
import pytest

from kmeans_xp import KMeans, SphericalKMeans, _assign
from kmeans_xp._backend import _compiled, _kernels

pytest.importorskip("numba")


@pytest.fixture
def compiled_off():
    _compiled.force(False)
    yield
    _compiled.force(None)


def _both(fn):
    _compiled.force(False)
    try:
        off = fn()
    finally:
        _compiled.force(None)
    _compiled.force(True)
    try:
        on = fn()
    finally:
        _compiled.force(None)
    return off, on


def _hard_case(dtype, rng, n=3000, d=3, k=9):
    # integer grid points and centers on the grid: many exact ties, and near
    # ties after an offset that makes the products round
    X = rng.integers(-4, 5, size=(n, d)).astype(dtype) + dtype(1000.25)
    C = rng.integers(-4, 5, size=(k, d)).astype(dtype) + dtype(1000.25)
    C[1] = C[0]  # an exact duplicate
    return X, C


def _tie(X, C):
    # the engine's bound of the rounding of a difference of two scores
    # (``_assign.scoring``): below it a near tie is settled exactly
    d = X.shape[1]
    xmax = float(np.sqrt((X.astype(np.float64) ** 2).sum(axis=1).max()))
    cmax = float(np.sqrt((C.astype(np.float64) ** 2).sum(axis=1).max()))
    return (d + 2) * float(np.finfo(X.dtype).eps) * cmax * (xmax + cmax)


def _scoring_case(dtype, scale, d, k):
    # a hard case with what the scoring kernels take: X, C, C^T, half the
    # centers' squared norms, and the near-tie bound times ``scale``
    X, C = _hard_case(dtype, np.random.default_rng(0), d=d, k=k)
    half = (0.5 * (C * C).sum(axis=1)).astype(dtype)
    return X, C, np.ascontiguousarray(C.T), half, scale * _tie(X, C)


# (d, k): best two kept along the rows of (k, rows) products (d <= COLUMNS_MAX_D),
# or over each row's k scores
SHAPES = [(3, 9), (2, 200), (1, 2), (4, 3), (_compiled.COLUMNS_MAX_D + 1, 5), (260, 12)]


def test_shapes_cover_both_ways_of_scoring():
    assert {d <= _compiled.COLUMNS_MAX_D for d, k in SHAPES} == {True, False}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scale", [1.0, 1e3])
@pytest.mark.parametrize(("d", "k"), SHAPES)
def test_nearest_center_matches_array_code(dtype, scale, d, k):
    X, C, Ct, half, tie = _scoring_case(dtype, scale, d, k)
    off, on = _both(lambda: _kernels.nearest_center(xp, X, C, Ct, half, tie=tie))
    assert on.dtype == off.dtype
    np.testing.assert_array_equal(on, off)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("with_old", [False, True])
@pytest.mark.parametrize(("d", "k"), SHAPES)
@pytest.mark.parametrize("block_rows", [None, 700])
def test_lloyd_chunk_matches_the_primitives(dtype, weighted, with_old, d, k, block_rows):
    rng = np.random.default_rng(1)
    X, C = _hard_case(dtype, rng, d=d, k=k)
    X = X + rng.standard_normal(X.shape).astype(dtype)
    Ct = np.ascontiguousarray(C.T)
    half = (0.5 * (C * C).sum(axis=1)).astype(dtype)
    w = rng.uniform(0.1, 3.0, size=X.shape[0]).astype(dtype) if weighted else None
    old = rng.integers(0, C.shape[0], size=X.shape[0]) if with_old else None
    tie = _tie(X, C)
    _compiled.force(True)
    try:
        lab, sums, counts, changed = _kernels.lloyd_chunk(
            xp, X, w, old, C, Ct, half, tie=tie, block_rows=block_rows
        )
    finally:
        _compiled.force(None)
    _compiled.force(False)
    try:
        assert _kernels.lloyd_chunk(xp, X, w, old, C, Ct, half, tie=tie) is None
        ref = _kernels.nearest_center(xp, X, C, Ct, half, tie=tie)
        # the array code's sums (scipy's one-hot product: sample order)
        k = C.shape[0]
        ref_sums = _kernels.segment_sum(xp, X, ref, k, w)
        ref_counts = _kernels.segment_count(xp, ref, k, w, X.dtype)
    finally:
        _compiled.force(None)
    np.testing.assert_array_equal(lab, ref)
    assert sums.dtype == ref_sums.dtype and counts.dtype == ref_counts.dtype
    np.testing.assert_array_equal(sums, ref_sums)  # same order, same rounding
    np.testing.assert_array_equal(counts, ref_counts)
    assert changed == (X.shape[0] if old is None else int(np.sum(ref != old)))


@pytest.mark.parametrize("algorithm", ["lloyd", "hamerly"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fit_is_the_same_with_and_without_compiled_loops(algorithm, dtype):
    rng = np.random.default_rng(2)
    X = (rng.standard_normal((4000, 5)) + 1e3 * (rng.integers(0, 6, 4000)[:, None])).astype(dtype)
    X[::7] = X[0]  # duplicates: exact ties
    w = rng.uniform(0.5, 2.0, X.shape[0])

    def fit():
        km = KMeans(12, random_state=0, n_init=2, algorithm=algorithm, chunk_bytes=2**16)
        return km.fit(X, sample_weight=w)

    off, on = _both(fit)
    np.testing.assert_array_equal(on.labels_, off.labels_)
    np.testing.assert_array_equal(on.cluster_centers_, off.cluster_centers_)
    assert on.n_iter_ == off.n_iter_ and on.inertia_ == off.inertia_


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_larger_lloyd_chunks_give_the_same_bits_every_way(dtype):
    # unshifted rows with more features than clusters: Lloyd's chunks are
    # sized by the scores alone (``Data.for_lloyd``) and the compiled loop
    # takes them in blocks; Hamerly sums over the same chunks, and the array
    # code (no Numba) chunks the same way: every fit has the same bits
    rng = np.random.default_rng(5)
    k, d = 6, 40
    X = rng.normal(size=(3000, d)) + rng.integers(0, k, (3000, 1)) * 0.8
    X = (X - X.mean(axis=0)).astype(dtype)  # near the origin: not shifted
    w = rng.uniform(0.5, 2.0, X.shape[0])
    budget = 2**15
    data = KMeans(k, chunk_bytes=budget)._make_data(xp, X, None, "cpu", None, k)
    assert data.for_lloyd().chunk > data.chunk  # the larger chunks are in play
    assert not _assign.needs_offset(xp, xp.mean(X, axis=0), xp.var(X, axis=0))

    def fit(algorithm):
        km = KMeans(k, random_state=0, algorithm=algorithm, chunk_bytes=budget, tol=0.0)
        return km.fit(X, sample_weight=w)

    runs = {}
    for algorithm in ("lloyd", "hamerly"):
        runs[algorithm + "-array"], runs[algorithm] = _both(lambda a=algorithm: fit(a))
    ref = runs["lloyd"]
    assert ref.n_iter_ > 3
    for name, km in runs.items():
        np.testing.assert_array_equal(km.labels_, ref.labels_, err_msg=name)
        np.testing.assert_array_equal(km.cluster_centers_, ref.cluster_centers_, err_msg=name)
        assert km.n_iter_ == ref.n_iter_ and km.inertia_ == ref.inertia_, name


def test_spherical_is_the_same_with_and_without_compiled_loops():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((3000, 6)).astype(np.float32)
    off, on = _both(lambda: SphericalKMeans(7, random_state=0).fit(X))
    np.testing.assert_array_equal(on.labels_, off.labels_)
    np.testing.assert_array_equal(on.cluster_centers_, off.cluster_centers_)


def test_environment_switch_turns_the_loops_off(monkeypatch):
    monkeypatch.setenv("KMEANS_XP_COMPILED", "0")
    _compiled._numba.cache_clear()
    try:
        assert not _compiled.available()
    finally:
        monkeypatch.delenv("KMEANS_XP_COMPILED")
        _compiled._numba.cache_clear()
    assert _compiled.available()


@pytest.mark.backends("torch", "jax")
def test_cpu_tensors_run_the_loops_in_place_with_the_same_result(backend):
    # torch CPU tensors and JAX CPU arrays are read in place by the compiled
    # loops: results in the input's namespace, equal to the array code's
    rng = np.random.default_rng(4)
    X = (rng.standard_normal((3000, 4)) + 6.0 * rng.integers(0, 5, 3000)[:, None]).astype(
        np.float32
    )
    w = rng.uniform(0.5, 2.0, X.shape[0]).astype(np.float32)
    Xb, wb, init = backend.asarray(X), backend.asarray(w), backend.asarray(X[:6])

    def fit():
        return KMeans(6, init=init, n_init=1, tol=0.0, max_iter=20).fit(Xb, sample_weight=wb)

    off, on = _both(fit)
    assert type(on.labels_) is type(Xb) and on.labels_.dtype == off.labels_.dtype
    np.testing.assert_array_equal(np.asarray(on.labels_), np.asarray(off.labels_))
    np.testing.assert_allclose(
        np.asarray(on.cluster_centers_), np.asarray(off.cluster_centers_), rtol=1e-5, atol=1e-5
    )
    assert on.n_iter_ == off.n_iter_
    ref = KMeans(6, init=X[:6], n_init=1, tol=0.0, max_iter=20).fit(X, sample_weight=w)
    np.testing.assert_array_equal(np.asarray(on.labels_), ref.labels_)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("d", [1, 2, 3, 4, 5, 8, 13, 200, "13, F order"])
def test_column_statistics_match_the_array_code(dtype, d):
    """The one-pass column sums and squared deviations keep NumPy's bits
    (they decide the offset and the tolerance); the extremes are exact; the
    largest row norm is a bound within the rounding of a sum. (NumPy sums
    one column, or columns in F order, pairwise: those stay NumPy's.) Up
    to 4 columns the loops keep the columns in registers."""
    rng = np.random.default_rng(4)
    fortran = isinstance(d, str)
    d = 13 if fortran else d
    X = (rng.standard_normal((3001, d)) * 10.0 ** rng.uniform(-2, 4, (3001, 1))).astype(dtype)
    X += dtype(1e3)
    if fortran:
        X = np.asfortranarray(X)
    mean = X.mean(axis=0).astype(dtype)

    def stats():
        hi, lo = _kernels.column_extremes(xp, X)
        return (
            _kernels.column_sums(xp, X),
            _kernels.column_sq_devs(xp, X, mean),
            hi,
            lo,
            float(_kernels.max_row_sq_norm(xp, X)),
        )

    off, on = _both(stats)
    for a, b in zip(off[:4], on[:4], strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(on[2], X.max(axis=0))
    np.testing.assert_array_equal(on[3], X.min(axis=0))
    assert on[4] == pytest.approx(off[4], rel=4 * d * float(np.finfo(dtype).eps))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("d", [1, 2, 3, 4, 5, 8, 13, 64, 127, 128, 129, 200, 257, 784, 1031])
@pytest.mark.parametrize("scale", [1.0, 2.0**-40])
def test_row_sums_keep_numpys_bits(dtype, d, scale):
    """Squared row norms and each row's squared distance to its center (the
    inertia, the relocation costs) summed as NumPy sums a row: in order below
    8 terms, pairwise in eight running sums up to 128, beyond in halves."""
    rng = np.random.default_rng(5)
    X = (rng.standard_normal((2001, d)) * 10.0 ** rng.uniform(-3, 3, (2001, 1))).astype(dtype)
    C = (rng.standard_normal((7, d)) * 100.0).astype(dtype)
    labels = rng.integers(0, 7, size=2001)
    off, on = _both(
        lambda: (
            _kernels.row_sq_norms(xp, X),
            _kernels.assigned_sq_dists(xp, X, C, labels, scale),
        )
    )
    for a, b in zip(off, on, strict=True):
        assert a.dtype == b.dtype == dtype
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("d", [2, 16, 129, 200])
@pytest.mark.parametrize("scale", [1.0, 2.0**-40])
def test_labels_with_costs_match_the_two_passes(dtype, d, scale):
    """The final pass's one loop (labels, then each row's squared distance to
    its center while the rows are in cache) gives the labels of
    ``nearest_center`` and the costs of ``assigned_sq_dists`` in the array
    code, bit for bit: short rows, and rows NumPy sums in halves."""
    rng = np.random.default_rng(8)
    X, C = _hard_case(dtype, rng, n=1500, d=d, k=6)
    X = X + (rng.standard_normal(X.shape) * 10.0 ** rng.uniform(-2, 1, (1500, 1))).astype(dtype)
    half = (0.5 * (C * C).sum(axis=1)).astype(dtype)
    Ct = np.ascontiguousarray(C.T)
    tie = _tie(X, C)
    _compiled.force(True)
    try:
        fused = _kernels.nearest_with_costs(xp, X, C, half, tie=tie, scale=scale)
    finally:
        _compiled.force(None)
    assert fused is not None
    labels, costs = fused

    def two_passes():
        lab = _kernels.nearest_center(xp, X, C, Ct, half, tie=tie)
        return lab, _kernels.assigned_sq_dists(xp, X, C, lab, scale)

    off, on = _both(two_passes)
    np.testing.assert_array_equal(labels, off[0])
    np.testing.assert_array_equal(on[0], off[0])  # the compiled labels alone
    assert costs.dtype == off[1].dtype == dtype
    np.testing.assert_array_equal(costs, off[1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kmeans_plusplus_steps_match_the_array_code(dtype):
    # the three compiled passes of a k-means++ step against the array code,
    # bit for bit: the candidates' gains (products taken by BLAS both ways),
    # the rows within reach of a candidate, the lowered distances and owners
    rng = np.random.default_rng(11)
    rows, d, pad, t = 3001, 7, 8, 5
    Xb = rng.normal(size=(rows, d)).astype(dtype)
    C2t = (2.0 * rng.normal(size=(d, pad))).astype(dtype)
    csq = rng.uniform(0.0, 20.0, t).astype(dtype)
    a = (rng.uniform(0.0, 30.0, rows) - np.sum(Xb * Xb, axis=1)).astype(dtype)
    reach = rng.uniform(0.0, 30.0, 9).astype(dtype)
    owner = rng.integers(0, 9, rows).astype(np.int32)
    closest = rng.uniform(0.0, 30.0, rows).astype(dtype)
    closest[:4] = reach[owner[:4]]  # equal: not within reach
    drop = np.maximum(rng.uniform(-10.0, 30.0, rows), 0.0).astype(dtype)
    drop[4:8] = closest[4:8]  # lowered to exactly zero
    closest[8], drop[8] = -0.0, 0.0  # maximum(-0.0, 0) is +0.0

    def steps():
        gains = _kernels.candidate_gains(xp, Xb, a, C2t, csq)
        need = _kernels.within_reach(xp, reach, owner, closest)
        lowered, owners = _kernels.lower_closest(xp, closest, owner, drop, 7)
        return gains, need, lowered, owners

    off, on = _both(steps)
    assert on[0].shape == (t, rows) and on[0].flags.c_contiguous
    assert on[1].dtype == np.bool_ and not on[1][:4].any() and on[1].any()
    for a_off, a_on in zip(off, on, strict=True):
        assert a_on.dtype == a_off.dtype
        np.testing.assert_array_equal(a_on, a_off)
        assert np.array_equal(np.signbit(a_on), np.signbit(a_off))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kmeans_plusplus_is_the_same_with_and_without_compiled_loops(dtype):
    # unshifted rows read in place: the steps' chunks are sized by their own
    # temporaries (``Data.in_place``), several a step, some scored whole and
    # some through the rows within reach; weights; the compiled passes and
    # the array code choose the same centers, bit for bit
    from kmeans_xp._init import kmeans_plusplus

    rng = np.random.default_rng(6)
    k, d = 24, 10
    X = rng.normal(size=(6000, d)) + rng.normal(scale=6.0, size=(k, d))[rng.integers(0, k, 6000)]
    X = (X - X.mean(axis=0)).astype(dtype)
    w = rng.uniform(0.5, 2.0, X.shape[0]).astype(dtype)
    data = KMeans(k, chunk_bytes=2**15)._make_data(xp, X, w, "cpu", None, k)
    assert data.in_place(24).chunk > data.with_columns(48).chunk  # in play

    def seed():
        centers, idx = kmeans_plusplus(data, k, np.random.RandomState(3))
        return np.asarray(centers), idx

    (c_off, i_off), (c_on, i_on) = _both(seed)
    np.testing.assert_array_equal(i_on, i_off)
    np.testing.assert_array_equal(c_on, c_off)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scale", [1.0, 1e3])
@pytest.mark.parametrize(("d", "k"), [*SHAPES, (64, 20)])
def test_nearest_two_matches_array_code(dtype, scale, d, k):
    # Hamerly's scoring: the same labels as the array code; the best two
    # scores from products taken center by center (other bits), both ways
    # bounds that Hamerly can use: the label's exact score at most the first
    # (up to the products' rounding), every other center's at least the second
    X, C, Ct, half, tie = _scoring_case(dtype, scale, d, k)
    off, on = _both(lambda: _kernels.nearest_two(xp, X, C, Ct, half, tie=tie))
    np.testing.assert_array_equal(on[0], off[0])
    exact = half.astype(np.float64)[:, None] - C.astype(np.float64) @ X.astype(np.float64).T
    rows = np.arange(X.shape[0])
    slack = _tie(X, C)
    for labels, best, second in (off, on):
        assert best.dtype == second.dtype == dtype
        assert np.all(exact[labels, rows] <= best + slack)
        others = exact.copy()
        others[labels, rows] = np.inf
        assert np.all(others.min(axis=0) >= second - slack)
    if dtype == np.float32 and d == 64:
        # near ties settled to another center than the computed best
        plain = np.argmin(half[:, None] - C @ X.T, axis=0)
        assert np.any(on[0] != plain)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_best_two_along_the_rows_at_every_k(dtype):
    # the compiled best two of (k, rows) products take the centers four at a
    # time and the last k % 4 one at a time: for every k, from the same
    # products, the first index of the lowest score, the lowest and the
    # second lowest (no two scores equal here, no bound: no near tie)
    rng = np.random.default_rng(7)
    for k in range(2, 14):
        X = rng.standard_normal((600, 3)).astype(dtype)  # over two strips
        C = rng.standard_normal((k, 3)).astype(dtype)
        half = (0.5 * (C * C).sum(axis=1)).astype(dtype)
        scores = half[:, None] - np.matmul(C, X.T)
        _compiled.force_strips(False)  # these products (NumPy's), not the strips'
        try:
            labels, best, second = _compiled.nearest_two(X, C, half, 0.0)
        finally:
            _compiled.force_strips(None)
        np.testing.assert_array_equal(labels, scores.argmin(axis=0), err_msg=f"k={k}")
        np.testing.assert_array_equal(best, scores.min(axis=0), err_msg=f"k={k}")
        np.testing.assert_array_equal(second, np.sort(scores, axis=0)[1], err_msg=f"k={k}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_strip_products_give_the_block_products_labels_and_sums(dtype):
    # the Lloyd loop with its products a strip at a time (BLAS's gemm called
    # from the loop) against the products of a block through NumPy: the same
    # labels, sums, weights and changes, to the bit, with and without weights
    # and old labels, duplicate centers (exact ties), k above and below d,
    # the centers given to gemm as C.T (k <= 64) and as C (k > 64), and
    # rows of more than 256 features (``lloyd_wide``: blocks of (rows, k) scores);
    # the labels alone and with their costs the same way
    if _compiled.gemm_addresses() is None:
        pytest.skip("SciPy's BLAS for compiled code is not there")
    rng = np.random.default_rng(8)
    cases = [
        (1000, 1, 2),
        (777, 2, 8),
        (3000, 16, 8),
        (513, 33, 5),
        (600, 256, 7),
        (640, 12, 12),
        (700, 40, 64),
        (800, 20, 65),
        (900, 6, 500),
        (500, 300, 7),
        (300, 700, 64),
    ]
    try:
        for m, d, k in cases:
            # the grid case: exact and near ties, settled by the near-tie rule
            X, C = _hard_case(dtype, rng, n=m, d=d, k=k)
            half = (0.5 * (C * C).sum(axis=1)).astype(dtype)
            tie = _tie(X, C)
            for w in (None, rng.random(m).astype(dtype)):
                for old in (None, rng.integers(0, k, m)):
                    _compiled.force_strips(False)
                    blocks = _compiled.lloyd_rows(X, w, old, C, C.T, half, tie, 100)
                    _compiled.force_strips(True)
                    strips = _compiled.lloyd_rows(X, w, old, C, C.T, half, tie, 100)
                    for a, b in zip(blocks, strips, strict=True):
                        np.testing.assert_array_equal(a, b, err_msg=f"{m}x{d}x{k}")
            # the labels alone, and with each row's cost (the final pass); the
            # labels with each row's best two scores (Hamerly's), which are
            # the products' (BLAS's order, either way within the bound)
            if d <= 256 and k >= 2:
                _compiled.force_strips(False)
                two_blocks = _compiled.nearest_two(X, C, half, tie)
                _compiled.force_strips(True)
                two_strips = _compiled.nearest_two(X, C, half, tie)
                np.testing.assert_array_equal(two_blocks[0], two_strips[0])
                for a, b in zip(two_blocks[1:], two_strips[1:], strict=True):
                    assert np.all(np.abs(a - b) <= tie), f"{m}x{d}x{k}"
            _compiled.force_strips(False)
            blocks = _compiled.nearest_rows(X, C, C.T, half, tie)
            costs = _compiled.nearest_with_costs(X, C, half, tie, 1.0) if d <= 256 else None
            _compiled.force_strips(True)
            np.testing.assert_array_equal(blocks, _compiled.nearest_rows(X, C, C.T, half, tie))
            if costs is not None:
                strips = _compiled.nearest_with_costs(X, C, half, tie, 1.0)
                for a, b in zip(costs, strips, strict=True):
                    np.testing.assert_array_equal(a, b, err_msg=f"{m}x{d}x{k}")
    finally:
        _compiled.force_strips(None)


def test_blas_one_thread_limits_the_compiled_loops_blas():
    # SciPy's BLAS (the strip loop's products) is loaded before the limit is
    # first set, so one thread inside the chunks holds for it too: in a fresh
    # process where nothing loaded SciPy before the first limit
    pytest.importorskip("threadpoolctl")
    if _compiled.gemm_addresses() is None:
        pytest.skip("SciPy's BLAS for compiled code is not there")
    import subprocess
    import sys

    code = (
        "import sys, threadpoolctl\n"
        "from kmeans_xp._backend import _compiled\n"
        "from kmeans_xp._backend._executor import blas_one_thread\n"
        "assert 'scipy' not in sys.modules\n"
        "with blas_one_thread:\n"
        "    _compiled.gemm_addresses()\n"
        "    info = [i for i in threadpoolctl.threadpool_info() if i['user_api'] == 'blas']\n"
        "print(len(info), all(i['num_threads'] == 1 for i in info))\n"
    )
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "2", "OMP_NUM_THREADS": "2"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.returncode == 0, out.stderr
    count, limited = out.stdout.split()
    assert int(count) >= 2 and limited == "True", out.stdout  # NumPy's and SciPy's


def _rule_label(X, i, C, half, a, b):
    # the compiled near-tie rule for two candidates a < b: h - x.c with the
    # products in float64 summed in order (a cumulative sum adds in order),
    # the first of equal scores
    x = X[i].astype(np.float64)
    sa = np.float64(half[a]) - np.cumsum(x * C[a].astype(np.float64))[-1]
    sb = np.float64(half[b]) - np.cumsum(x * C[b].astype(np.float64))[-1]
    return a if sa <= sb else b


def test_proven_pair_gives_the_near_tie_rule_where_it_decides():
    # two close centers, rows about their bisector (some on it), every scale
    # and several lengths: where the bound decides, the rule's label; exact
    # ties (equal centers, rows on the bisector) are left to the rule
    proven_pair = _compiled._pair_kernel()
    rng = np.random.default_rng(11)
    decided = undecided = 0
    for trial in range(240):
        dtype = np.float32 if trial % 3 else np.float64
        d = int(rng.choice([1, 2, 3, 16, 33, 128, 300, 784]))
        power = rng.uniform(-15, 15) if trial % 5 == 0 else rng.uniform(-3, 4)
        scale = float(10.0**power)
        ca = rng.standard_normal(d) * scale
        cb = ca + rng.standard_normal(d) * scale * float(10.0 ** rng.uniform(-9, 0))
        C = np.stack([ca, cb]).astype(dtype)
        if trial % 17 == 0:
            C[1] = C[0]
        half = (0.5 * (C.astype(np.float64) ** 2).sum(axis=1)).astype(dtype)
        mid = (C[0].astype(np.float64) + C[1]) / 2
        X = (mid + rng.standard_normal((40, d)) * scale * 0.3).astype(dtype)
        X[::5] = mid.astype(dtype)
        for i in range(X.shape[0]):
            want = _rule_label(X, i, C, half, 0, 1)
            got = proven_pair(X, i, C, half, 0, 1)
            if got < 0:
                undecided += 1
            else:
                decided += 1
                assert got == want, (trial, i, d, dtype, scale)
    assert decided > 5000 and undecided > 300


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_expand_matches_array_code(dtype):
    rng = np.random.default_rng(4)
    mask = rng.random(1001) < 0.3
    count = int(mask.sum())
    values = rng.integers(0, 100, count + 5).astype(dtype)  # longer: padded
    old = rng.integers(-100, 0, 1001).astype(dtype)

    def run():
        return (
            _assign.expand(xp, mask, values, old),
            _assign.expand(xp, mask, values, old[:1]),  # broadcast, as ``where``
            _assign.expand(xp, mask, values[: count // 2], old),  # short: the last again
        )

    off, on = _both(run)
    for a_on, a_off in zip(on, off, strict=True):
        assert a_on.dtype == a_off.dtype
        np.testing.assert_array_equal(a_on, a_off)
    assert not np.shares_memory(on[0], old)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weighted", [False, True])
def test_segment_sum_matches_scipys_one_hot_product(dtype, weighted):
    # NumPy's per-cluster sums: the compiled loop adds in sample order, as
    # scipy's one-hot product does (so Hamerly's and MiniBatch's sums have
    # Lloyd's bits either way)
    rng = np.random.default_rng(9)
    X = (rng.normal(size=(5000, 13)) * 10.0 ** rng.integers(-3, 4, (5000, 1))).astype(dtype)
    labels = rng.integers(0, 7, 5000)
    w = rng.uniform(0.1, 3.0, 5000).astype(dtype) if weighted else None
    off, on = _both(lambda: _kernels.segment_sum(xp, X, labels, 7, w))
    assert on.dtype == off.dtype == dtype
    np.testing.assert_array_equal(on, off)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_hamerly_bounds_match_the_array_code(dtype):
    # ``_hamerly._hamerly_block``'s array steps, written out: the compiled
    # pass gives the same bounds and the same rows to score, bit for bit
    rng = np.random.default_rng(8)
    n, k = 4000, 9
    lab = rng.integers(0, k, n)
    up = rng.uniform(0.0, 5.0, n).astype(dtype)
    lo = rng.uniform(0.0, 5.0, n).astype(dtype)
    lo[:50] = 0.0  # lowered below zero: clipped
    xsq = rng.uniform(0.0, 50.0, n).astype(dtype)
    move = rng.uniform(0.0, 0.5, k).astype(dtype)
    r1 = int(np.argmax(move))
    m1, m2 = move[r1], np.sort(move)[-2]
    s_half = rng.uniform(0.5, 5.0, k).astype(dtype)
    grow, coef, cmax = 1.0 + 4.0 * float(np.finfo(dtype).eps), 1e-3, 3.0
    s_half[lab[:20]] = up[:20]  # some bounds meet exactly

    up_a = (up + np.take(move, lab)) * grow
    lo_a = np.maximum(lo - np.where(lab == r1, m2, m1), 0.0)
    bound = np.maximum(np.take(s_half, lab), lo_a)
    need_a = up_a * up_a + coef * (np.sqrt(xsq) + cmax) ** 2 >= bound * bound
    got = _kernels.hamerly_bounds(
        xp, lab, up, lo, xsq, move, np.asarray(r1), m1, m2, s_half, (grow, coef, cmax)
    )
    assert got is not None
    assert 0 < int(need_a.sum()) < n
    for a_on, a_off in zip(got, (up_a, lo_a, need_a), strict=True):
        assert a_on.dtype == a_off.dtype
        np.testing.assert_array_equal(a_on, a_off)


@pytest.mark.parametrize("weighted", [False, True])
def test_piece_sums_are_the_pieces_summed_apart(weighted):
    rng = np.random.default_rng(10)
    X = rng.normal(size=(1003, 6)).astype(np.float32)
    labels = rng.integers(0, 5, 1003)
    w = rng.uniform(0.1, 3.0, 1003).astype(np.float32) if weighted else None
    got = _kernels.piece_sums(xp, X, w, labels, 5, 250)
    assert got is not None
    sums, counts = got
    assert sums.shape == (5, 5, 6) and counts.shape == (5, 5) and counts.dtype == X.dtype
    _compiled.force(False)
    try:
        for p, s in enumerate(range(0, 1003, 250)):
            wp = None if w is None else w[s : s + 250]
            ref = _kernels.segment_sum(xp, X[s : s + 250], labels[s : s + 250], 5, wp)
            ref_counts = _kernels.segment_count(xp, labels[s : s + 250], 5, wp, X.dtype)
            np.testing.assert_array_equal(sums[p], ref)
            np.testing.assert_array_equal(counts[p], ref_counts)
    finally:
        _compiled.force(None)


def _all_jitted():
    # every jitted function of the compiled loops, and the helpers they call
    fns = [
        *_compiled._kernels(),
        *_compiled._row_kernels(),
        *_compiled._statistics(),
        *_compiled._gain_kernel(),
        _compiled._bounds_kernel(),
        _compiled._expand_kernel(),
        _compiled._pair_kernel(),
    ]
    shared = [v for k, v in vars(_compiled).items() if k.startswith("_nb_") and v is not None]
    return [f for f in fns + shared if hasattr(f, "py_func")]


def test_compiled_loops_hold_no_closure():
    # Numba keys its disk cache by a function's bytecode and its closure's
    # contents, pickled; a jitted helper held in a closure pickles differently
    # in every process, so every process compiled its callers anew (7-12 s
    # before a fresh process's first fit): helpers are module globals instead
    fns = _all_jitted()
    assert len(fns) > 30
    held = [f.py_func.__name__ for f in fns if f.py_func.__closure__]
    assert not held


@pytest.mark.slow
def test_a_second_process_loads_every_compiled_loop_from_the_cache(tmp_path):
    import subprocess
    import sys

    code = (
        "import numpy as np\n"
        "from kmeans_xp import KMeans\n"
        "X = np.random.default_rng(0).random((3000, 4)).astype(np.float32)\n"
        "KMeans(5, random_state=0).fit(X)\n"
        "KMeans(5, random_state=0, algorithm='hamerly').fit(X)\n"
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path), "NUMBA_DEBUG_CACHE": "1"}
    runs = [
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
        for _ in range(2)
    ]
    for run in runs:
        assert run.returncode == 0, run.stderr
    assert "data saved" in runs[0].stdout + runs[0].stderr
    second = runs[1].stdout + runs[1].stderr
    assert "data loaded" in second
    assert "data saved" not in second, [ln for ln in second.splitlines() if "saved" in ln]
