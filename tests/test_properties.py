"""Property tests (issue 6), with hypothesis.

For random data, k and weights:

* labels are the argmin of the distances to the returned centers;
* each center is the weighted mean of its points (non-empty clusters);
* inertia equals the direct weighted sum of squared distances;
* inertia never increases from one Lloyd iteration to the next;
* permuting the rows permutes the labels and leaves the centers unchanged;
* integer sample weights w give the result of repeating each row w times.

NumPy and array-api-strict get the full budget; the other backends a small
one, on a few fixed shapes (JAX compiles every new shape, Dask builds graphs).
The default run (``quick``) takes a twentieth of it (not Dask: tests/test_fuzz.py
checks the fit invariants there); the ``slow`` run (``long``) the full budget.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

from kmeans_xp import ConvergenceWarning, KMeans, _lloyd  # noqa: E402
from kmeans_xp._testing import to_numpy  # noqa: E402

FULL_BUDGET = {"numpy": 500, "array_api_strict": 200}
SMALL_BUDGET = 10
LAZY_BUDGET = 4  # Dask: every fit builds and runs task graphs on the cluster
QUICK = 20  # the default run takes 1/QUICK of the budget (at least 2 examples)
LENGTHS = pytest.mark.parametrize(
    "long", [False, pytest.param(True, marks=pytest.mark.slow)], ids=["quick", "long"]
)
MAX_ITER = 300
EPS = {"float32": float(np.finfo(np.float32).eps), "float64": float(np.finfo(np.float64).eps)}


def is_small(backend) -> bool:
    return backend.name not in FULL_BUDGET


def check(backend, strategy, prop, long: bool = True, quick_on_lazy: bool = False) -> None:
    """Run ``prop(case)`` on examples of ``strategy`` with the backend's budget
    (``long``) or a twentieth of it. Dask's passes cost ~40 ms each: its quick run
    is skipped unless ``quick_on_lazy`` (the long run has its full budget)."""
    if backend.lazy and not long and not quick_on_lazy:
        pytest.skip("Dask: in the long (slow) run only")
    budget = FULL_BUDGET.get(backend.name, LAZY_BUDGET if backend.lazy else SMALL_BUDGET)

    @settings(
        max_examples=budget if long else max(2, budget // QUICK),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        print_blob=True,
    )
    @given(strategy)
    def run(case):
        prop(case)

    run()


# ------------------------------------------------------------- strategies
@st.composite
def grid_data(draw, n, d):
    # small integers: many exact ties and duplicated rows
    values = draw(hnp.arrays(np.int64, (n, d), elements=st.integers(-3, 3)))
    return values.astype(np.float64)


@st.composite
def blob_data(draw, n, d, k):
    seed = draw(st.integers(0, 2**32 - 1))
    scale = draw(st.sampled_from([1e-3, 1.0, 1e3]))
    offset = draw(st.sampled_from([0.0, 1e4]))
    rng = np.random.RandomState(seed)
    centers = rng.uniform(-4, 4, size=(k, d))
    X = centers[rng.randint(0, k, n)] + rng.normal(size=(n, d))
    return offset + scale * X


@st.composite
def problems(draw, small: bool, kinds=("grid", "blobs"), weight_kinds=("none", "float", "int")):
    """(X float64, k, sample weights or None)."""
    if small:
        n, d, k = 40, 3, 3
    else:
        k = draw(st.integers(1, 5))
        n = draw(st.integers(k, 60))
        d = draw(st.integers(1, 4))
    kind = draw(st.sampled_from(kinds))
    X = draw(grid_data(n, d)) if kind == "grid" else draw(blob_data(n, d, max(k, 2)))
    wk = draw(st.sampled_from(weight_kinds))
    if wk == "none":
        w = None
    elif wk == "int":
        w = draw(hnp.arrays(np.int64, n, elements=st.integers(1, 4))).astype(np.float64)
    else:
        w = draw(hnp.arrays(np.float64, n, elements=st.floats(0.1, 10.0)))
    return X, k, w


def distinct_rows(draw, X, k):
    """Indices of k rows of X with distinct values (assume there are k)."""
    _, first = np.unique(X, axis=0, return_index=True)
    assume(len(first) >= k)
    order = draw(st.permutations(sorted(first.tolist())))
    return np.asarray(order[:k])


def dtypes_for(backend):
    return ["float32", "float64"] if backend.has_float64 else ["float32"]


def sq_dists(X, C):
    return ((X[:, None, :] - C[None, :, :]) ** 2).sum(-1)


def slack(X, C, dtype):
    """Rounding allowance for a squared distance ||x - c||^2.

    A few ulps of the squared norms involved (in the raw or the centered
    frame), plus the rounding of the returned centers to ``dtype``: a center
    off by delta changes a squared distance r^2 by up to 2 r delta + delta^2.
    """
    d = X.shape[1]
    centered = X - X.mean(0)
    r2 = max(float((X * X).sum(1).max()), float((C * C).sum(1).max()))
    r2 = min(
        r2, float((centered * centered).sum(1).max()) + float(((C - X.mean(0)) ** 2).sum(1).max())
    )
    delta = EPS[dtype] * float(np.abs(C).max()) * np.sqrt(d)
    far = float(np.sqrt(sq_dists(X, C).max()))
    return 64.0 * d * EPS[dtype] * (r2 + 1e-300) + 2.0 * far * delta + delta * delta


def fit(backend, X, k, w, dtype, **params):
    Xb = backend.asarray(X.astype(dtype))
    wb = None if w is None else backend.asarray(w.astype(dtype))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        km = KMeans(k, **params).fit(Xb, sample_weight=wb)
    return km, Xb, wb


# ------------------------------------------------------------- properties
@LENGTHS
def test_fit_invariants(backend, long):
    """argmin labels, centers = weighted means, inertia = direct sum."""

    @st.composite
    def cases(draw):
        X, k, w = draw(problems(is_small(backend)))
        dtype = draw(st.sampled_from(dtypes_for(backend)))
        init = draw(st.sampled_from(["k-means++", "random"]))
        seed = draw(st.integers(0, 2**16))
        return X, k, w, dtype, init, seed

    def prop(case):
        X, k, w, dtype, init, seed = case
        km, Xb, wb = fit(
            backend,
            X,
            k,
            w,
            dtype,
            init=init,
            n_init=1,
            random_state=seed,
            tol=0.0,
            max_iter=MAX_ITER,
        )
        assume(km.n_iter_ < MAX_ITER)  # converged: labels and centers agree
        Xh = X.astype(dtype).astype(np.float64)
        wh = np.ones(len(X)) if w is None else w.astype(dtype).astype(np.float64)
        labels = to_numpy(km.labels_)
        C = to_numpy(km.cluster_centers_).astype(np.float64)
        assert C.shape == (k, X.shape[1]) and np.all(np.isfinite(C))
        assert labels.shape == (len(X),) and labels.min() >= 0 and labels.max() < k
        D = sq_dists(Xh, C)
        tol = slack(Xh, C, dtype)
        own = D[np.arange(len(X)), labels]
        assert np.all(own <= D.min(axis=1) + tol), "a sample is not with its nearest center"
        # predict agrees (up to ties)
        pred = to_numpy(km.predict(Xb))
        assert np.all(D[np.arange(len(X)), pred] <= D.min(axis=1) + tol)
        for j in range(k):
            m = labels == j
            if wh[m].sum() > 0:
                mean = (wh[m, None] * Xh[m]).sum(0) / wh[m].sum()
                spread = np.abs(Xh).max() + 1.0
                # a sum of at most n terms: n roundings of the largest value
                np.testing.assert_allclose(
                    C[j], mean, rtol=0, atol=2 * len(X) * EPS[dtype] * spread
                )
        direct = float((wh * own).sum())
        assert km.inertia_ == pytest.approx(direct, rel=1e3 * EPS[dtype], abs=tol * wh.sum())
        assert km.score(Xb, sample_weight=wb) == pytest.approx(
            -direct, rel=1e3 * EPS[dtype], abs=tol * wh.sum()
        )

    check(backend, cases(), prop, long)


@LENGTHS
def test_inertia_never_increases(backend, long):
    """Stopping after t = 1, 2, ... iterations: inertia is non-increasing in t."""

    @st.composite
    def cases(draw):
        X, k, w = draw(problems(is_small(backend)))
        dtype = draw(st.sampled_from(dtypes_for(backend)))
        idx = distinct_rows(draw, X, k)
        # some initial centers off the data, some on it
        jitter = draw(st.sampled_from([0.0, 0.3]))
        rng = np.random.RandomState(len(X))
        init = X[idx] + jitter * rng.normal(size=(k, X.shape[1])) * (np.std(X) + 1.0)
        return X, k, w, dtype, init

    def prop(case):
        X, k, w, dtype, init = case
        values = []
        for t in range(1, 7):
            km, _, _ = fit(
                backend,
                X,
                k,
                w,
                dtype,
                init=backend.asarray(init.astype(dtype)),
                tol=0.0,
                max_iter=t,
            )
            values.append(km.inertia_)
        Xh = X.astype(dtype).astype(np.float64)
        allowance = slack(Xh, init, dtype) * (len(X) if w is None else float(w.sum()))
        allowance += 1e3 * EPS[dtype] * values[0]
        for before, after in itertools.pairwise(values):
            assert after <= before + allowance, values

    check(backend, cases(), prop, long)


@LENGTHS
def test_permuting_rows_permutes_labels(backend, long):
    """Rows (and weights) permuted: labels permuted, centers unchanged."""
    if not backend.has_float64:
        pytest.skip("needs float64 to make rounding differences negligible")

    @st.composite
    def cases(draw):
        X, k, w = draw(problems(is_small(backend), kinds=("blobs",)))
        idx = distinct_rows(draw, X, k)
        perm = np.asarray(draw(st.permutations(range(len(X)))))
        return X, k, w, X[idx], perm

    def prop(case):
        X, k, w, init, perm = case
        a, _, _ = fit(backend, X, k, w, "float64", init=backend.asarray(init), tol=0.0)
        b, _, _ = fit(
            backend,
            X[perm],
            k,
            None if w is None else w[perm],
            "float64",
            init=backend.asarray(init),
            tol=0.0,
        )
        np.testing.assert_array_equal(to_numpy(b.labels_), to_numpy(a.labels_)[perm])
        scale = np.abs(X).max() + 1.0
        np.testing.assert_allclose(
            to_numpy(b.cluster_centers_),
            to_numpy(a.cluster_centers_),
            rtol=1e-9,
            atol=1e-12 * scale,
        )
        assert b.inertia_ == pytest.approx(a.inertia_, rel=1e-9, abs=1e-12 * scale**2)
        # (n_iter_ may differ by one: with tol=0 a run also stops when the
        # centers repeat exactly, and the row order changes their last bits)

    check(backend, cases(), prop, long)


@LENGTHS
def test_integer_weights_equal_repeated_rows(backend, long, monkeypatch):
    """sample_weight w (integers) == each row repeated w times, in runs where
    no cluster empties: an empty cluster takes the farthest sample with its
    weight (scikit-learn's rule), so a row of weight w moves whole where its
    repeated copies move one at a time (scikit-learn's fits differ there too)."""
    if not backend.has_float64:
        pytest.skip("needs float64 to make rounding differences negligible")
    small = is_small(backend)
    relocations = []
    relocate = _lloyd.relocate_empty

    def counted(*args, **kwargs):
        relocations.append(args[-1])
        return relocate(*args, **kwargs)

    monkeypatch.setattr(_lloyd, "relocate_empty", counted)

    @st.composite
    def cases(draw):
        X, k, _ = draw(problems(small, kinds=("blobs",), weight_kinds=("none",)))
        if small:  # a fixed total, so the repeated data keep one shape
            w = np.asarray(draw(st.permutations([1, 2, 3, 4] * (len(X) // 4))), dtype=np.int64)
        else:
            w = draw(hnp.arrays(np.int64, len(X), elements=st.integers(1, 4)))
        idx = distinct_rows(draw, X, k)
        return X, k, w, X[idx]

    def prop(case):
        X, k, w, init = case
        relocations.clear()
        a, _, _ = fit(
            backend, X, k, w.astype(np.float64), "float64", init=backend.asarray(init), tol=0.0
        )
        b, _, _ = fit(
            backend,
            np.repeat(X, w, axis=0),
            k,
            None,
            "float64",
            init=backend.asarray(init),
            tol=0.0,
        )
        assume(not relocations)
        np.testing.assert_array_equal(to_numpy(b.labels_), np.repeat(to_numpy(a.labels_), w))
        scale = np.abs(X).max() + 1.0
        np.testing.assert_allclose(
            to_numpy(b.cluster_centers_),
            to_numpy(a.cluster_centers_),
            rtol=1e-9,
            atol=1e-12 * scale,
        )
        assert b.inertia_ == pytest.approx(a.inertia_, rel=1e-9, abs=1e-12 * scale**2)

    check(backend, cases(), prop, long)
