"""Fuzzers that keep issue 15's silent wrong results found, on every CI backend.

Small random problems (blobs, integer grids with exact ties, repeated rows;
float32 and float64; no, float or integer weights with zeros; every init:
k-means++, random, k-means||, an array; runs cut by max_iter or converged)
must give:

(a) ``labels_ == predict(X)``, and every label a nearest center (distances
    recomputed in float64 on the host, within the rounding of the dtype);
(b) ``inertia_`` the weighted inertia of ``cluster_centers_`` and ``labels_``
    recomputed in float64 on the host;
(c) Hamerly the same labels, centers (bit for bit), ``n_iter_`` and inertia
    as Lloyd.

Scale invariance: X times a power of two (exact in floating point) gives
the same labels and ``n_iter_`` and centers (inertia) scaled exactly; all
weights times a positive factor (1e-300/n ... 1e300/n) give the same
clustering, or a clear ``ValueError`` naming ``sample_weight``;
SphericalKMeans does not see a positive factor on any row or on the weights.

Thread count: the same float32 fit in fresh interpreters limited to one and
to two threads (this library's chunk threads and BLAS's) is bit-identical.

Each fuzzer runs a modest number of examples per backend (``quick``) in the
default run and more under the ``slow`` marker (``long``). JAX compiles
every new shape and Dask builds a task graph per pass: they get a few
examples of fixed shapes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

from kmeans_xp import ConvergenceWarning, KMeans, SphericalKMeans  # noqa: E402
from kmeans_xp._testing import to_numpy  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

# examples per fuzzer and backend in the slow run (``long``) and in the default run
LONG_BUDGET = {"numpy": 240, "array_api_strict": 90, "torch": 90, "jax": 18, "dask": 12}
QUICK_BUDGET = {"numpy": 20, "array_api_strict": 8, "torch": 8, "jax": 3, "dask": 2}
FIXED_SHAPES = ("jax", "dask")  # one compile / graph shape per (n, d, k)
EPS = {"float32": float(np.finfo(np.float32).eps), "float64": float(np.finfo(np.float64).eps)}
INITS = ("k-means++", "random", "k-means||", "array")
LENGTHS = pytest.mark.parametrize(
    "long", [False, pytest.param(True, marks=pytest.mark.slow)], ids=["quick", "long"]
)


def run_examples(backend, long: bool, strategy, prop, quick_everywhere: bool = False) -> None:
    """Run ``prop(case)`` on the backend's number of examples of ``strategy``.

    JAX and Dask run the scale properties in the long (slow) run only, unless
    ``quick_everywhere``: their few examples cost a minute there.
    """
    if backend.name in FIXED_SHAPES and not long and not quick_everywhere:
        pytest.skip(f"{backend.name}: in the long (slow) run only")
    n = (LONG_BUDGET if long else QUICK_BUDGET).get(backend.name, 18 if long else 3)

    @settings(
        max_examples=n,
        deadline=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
        print_blob=True,
    )
    @given(strategy)
    def run(case):
        prop(case)

    run()


def dtypes_for(backend) -> list[str]:
    return ["float32", "float64"] if backend.has_float64 else ["float32"]


# ------------------------------------------------------------- strategies
@st.composite
def shapes(draw, backend):
    if backend.name in FIXED_SHAPES:
        return 24, 3, draw(st.sampled_from([2, 4]))
    k = draw(st.integers(1, 6))
    return draw(st.integers(max(k, 2), 50)), draw(st.integers(1, 5)), k


@st.composite
def datasets(draw, n, d, kinds=("blobs", "grid", "repeated")):
    """float64 host data of one of three kinds, all representable in float32."""
    kind = draw(st.sampled_from(kinds))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.RandomState(seed)
    if kind == "grid":
        # small integers: exact ties between centers, duplicated rows
        X = rng.randint(-3, 4, size=(n, d)).astype(np.float64)
    elif kind == "repeated":
        # few distinct rows, each repeated: fewer distinct points than k happens
        distinct = rng.normal(size=(draw(st.integers(1, 4)), d))
        X = distinct[rng.randint(0, len(distinct), n)]
    else:
        k = draw(st.integers(1, 5))
        centers = rng.uniform(-4, 4, size=(k, d))
        X = centers[rng.randint(0, k, n)] + rng.normal(size=(n, d))
    scale = draw(st.sampled_from([1e-3, 1.0, 1e3]))
    offset = draw(st.sampled_from([0.0, 1e4]))
    return (offset + scale * X).astype(np.float32).astype(np.float64)


@st.composite
def weights_for(draw, n, k, kinds=("none", "float", "int")):
    """None, positive floats, or integers 0..4 with at least k positive."""
    kind = draw(st.sampled_from(kinds))
    if kind == "none":
        return None
    if kind == "float":
        return draw(hnp.arrays(np.float64, n, elements=st.floats(0.125, 8.0, width=32)))
    w = draw(hnp.arrays(np.int64, n, elements=st.integers(0, 4))).astype(np.float64)
    assume(int((w > 0).sum()) >= k)
    return w


@st.composite
def fit_cases(draw, backend):
    n, d, k = draw(shapes(backend))
    X = draw(datasets(n, d))
    w = draw(weights_for(n, k))
    dtype = draw(st.sampled_from(dtypes_for(backend)))
    init = draw(st.sampled_from(INITS))
    if init == "array":
        # rows of X (repeats allowed: empty clusters to relocate), maybe moved off the data
        rows = draw(st.lists(st.integers(0, n - 1), min_size=k, max_size=k))
        jitter = draw(st.sampled_from([0.0, 0.5]))
        noise = np.random.RandomState(n + k).normal(size=(k, d))
        init = X[rows] + jitter * noise * (X.std() + 1e-3)
    params = dict(
        init=init,
        n_init=1 if not isinstance(init, str) else draw(st.sampled_from([1, 2])),
        max_iter=draw(st.sampled_from([1, 2, 300])),
        tol=draw(st.sampled_from([0.0, 1e-4])),
        random_state=draw(st.integers(0, 2**16)),
    )
    return X, w, dtype, k, params


# ------------------------------------------------------------- host checks
def sq_dists(X, C):
    return ((X[:, None, :] - C[None, :, :]) ** 2).sum(-1)


def rounding_allowance(X, C, dtype) -> float:
    """How far from the float64 value a squared distance ||x - c||^2 may be.

    The library computes in ``dtype`` in a frame shifted by the data mean:
    a few ulps of the squared norms there, plus the rounding of the returned
    centers to ``dtype`` (a center off by delta moves r^2 by 2 r delta + delta^2).
    """
    d = X.shape[1]
    mean = X.mean(0)
    r2 = max(float(((X - mean) ** 2).sum(1).max()), float(((C - mean) ** 2).sum(1).max()))
    r2 = min(r2, max(float((X * X).sum(1).max()), float((C * C).sum(1).max())))
    delta = EPS[dtype] * float(np.abs(C).max()) * np.sqrt(d)
    far = float(np.sqrt(sq_dists(X, C).max()))
    return 64.0 * d * EPS[dtype] * (r2 + 1e-300) + 2.0 * far * delta + delta * delta


def fit(backend, X, w, dtype, k, params, **extra):
    params = dict(params, **extra)
    if not isinstance(params["init"], str):
        params["init"] = backend.asarray(params["init"].astype(dtype))
    Xb = backend.asarray(X.astype(dtype))
    wb = None if w is None else backend.asarray(w.astype(dtype))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.filterwarnings("ignore", "Explicit initial center position", RuntimeWarning)
        km = KMeans(k, **params).fit(Xb, sample_weight=wb)
    return km, Xb


def check_consistent(km, Xb, X, w, dtype) -> None:
    """(a) and (b): the returned labels, centers and inertia belong together."""
    labels = to_numpy(km.labels_)
    C = to_numpy(km.cluster_centers_).astype(np.float64)
    n, k = X.shape[0], C.shape[0]
    assert C.shape == (k, X.shape[1]) and np.all(np.isfinite(C)), C
    assert labels.shape == (n,) and labels.min() >= 0 and labels.max() < k
    np.testing.assert_array_equal(to_numpy(km.predict(Xb)), labels, err_msg="labels_ != predict(X)")
    D = sq_dists(X, C)
    allowance = rounding_allowance(X, C, dtype)
    own = D[np.arange(n), labels]
    worst = int(np.argmax(own - D.min(1)))
    assert np.all(own <= D.min(1) + allowance), (
        f"sample {worst} labelled {labels[worst]} at squared distance {own[worst]!r}, "
        f"nearest center {int(np.argmin(D[worst]))} at {D[worst].min()!r}"
    )
    wh = np.ones(n) if w is None else w
    direct = float((wh * own).sum())
    tol = 2.0 * (n + X.shape[1]) * EPS[dtype] * direct + float(wh.sum()) * allowance
    assert abs(km.inertia_ - direct) <= tol, (
        f"inertia_ {km.inertia_!r} is not the inertia of the returned centers and labels, "
        f"{direct!r}"
    )


def assert_same_fit(a, b, what: str) -> None:
    np.testing.assert_array_equal(to_numpy(a.labels_), to_numpy(b.labels_), err_msg=what)
    np.testing.assert_array_equal(
        to_numpy(a.cluster_centers_), to_numpy(b.cluster_centers_), err_msg=what
    )
    assert a.n_iter_ == b.n_iter_, what
    assert a.inertia_ == b.inertia_, what


# ------------------------------------------------------------- (a) (b) (c)
@LENGTHS
def test_fit_is_consistent_and_hamerly_equals_lloyd(backend, long):
    def prop(case):
        X, w, dtype, k, params = case
        lloyd, Xb = fit(backend, X, w, dtype, k, params, algorithm="lloyd")
        check_consistent(lloyd, Xb, X, w, dtype)
        hamerly, _ = fit(backend, X, w, dtype, k, params, algorithm="hamerly")
        assert_same_fit(hamerly, lloyd, "hamerly != lloyd")

    run_examples(backend, long, fit_cases(backend), prop, quick_everywhere=True)


# ------------------------------------------------------------- scale invariance
@LENGTHS
def test_scaling_X_by_a_power_of_two(backend, long):
    """X * 2**p: same labels and n_iter_, centers * 2**p and inertia * 4**p exactly."""

    @st.composite
    def cases(draw):
        X, w, dtype, k, params = draw(fit_cases(backend))
        # data within [1e-3, 1e4]: squared distances stay normal numbers
        p = draw(st.integers(-24, 24) if dtype == "float32" else st.integers(-200, 200))
        assume(p != 0)
        return X, w, dtype, k, params, p

    def prop(case):
        X, w, dtype, k, params, p = case
        factor = 2.0**p
        base, _ = fit(backend, X, w, dtype, k, params)
        scaled_params = dict(params)
        if not isinstance(params["init"], str):
            scaled_params["init"] = params["init"] * factor
        scaled, _ = fit(backend, X * factor, w, dtype, k, scaled_params)
        np.testing.assert_array_equal(to_numpy(scaled.labels_), to_numpy(base.labels_))
        assert scaled.n_iter_ == base.n_iter_
        np.testing.assert_array_equal(
            to_numpy(scaled.cluster_centers_), to_numpy(base.cluster_centers_) * factor
        )
        assert scaled.inertia_ == base.inertia_ * factor**2

    run_examples(backend, long, cases(), prop)


def test_scaling_tiny_float32_data_by_a_power_of_two(backend):
    """Issue 15: identical float32 rows near 1e-3, and the same times 2**-18.
    The weighted mean is one ulp off the rows: its squared shift (5e-35) and
    the inertia (1e-33) underflow float32 at 2**-36 times that. They are
    summed at a power-of-two scale: the same iterations and the inertia times
    4**-18 (at 2**-18 it stopped after 1, "converged", with inertia_ 0)."""
    X = np.tile(np.array([[0.00176405, 0.00040016]]), (8, 1))
    w = np.array([1.86279416] + [3.0] * 7)
    params = dict(init="k-means++", n_init=1, max_iter=2, tol=0.0, random_state=0)
    base, _ = fit(backend, X, w, "float32", 1, params)
    scaled, _ = fit(backend, X * 2.0**-18, w, "float32", 1, params)
    assert scaled.n_iter_ == base.n_iter_
    assert scaled.inertia_ == base.inertia_ * 4.0**-18
    np.testing.assert_array_equal(
        to_numpy(scaled.cluster_centers_), to_numpy(base.cluster_centers_) * 2.0**-18
    )


# a common factor on all weights, by name (those ending in /n are divided by n_samples)
WEIGHT_FACTORS = {
    "1e-300/n": 1e-300,
    "1e-30": 1e-30,
    "1e-5": 1e-5,
    "2**-40": 2.0**-40,
    "1e5": 1e5,
    "1e30": 1e30,
    "1e36": 1e36,  # issue 15 item 1: their sum overflows float32
    "1e37": 1e37,
    "1e300/n": 1e300,
}


def weight_factor(name: str, n: int) -> float:
    if name == "1":
        return 1.0
    return WEIGHT_FACTORS[name] / (n if name.endswith("/n") else 1)


@LENGTHS
def test_scaling_all_weights(backend, long):
    """w * c for c from 1e-300/n to 1e300/n: the same clustering, inertia * c,
    or a clear ValueError naming sample_weight (never NaN, inf or other centers).

    The weights are given in float64 whatever the dtype of X (as a caller
    would); continuous data, so that rounding cannot decide a tie.
    """

    @st.composite
    def cases(draw):
        n, d, k = draw(shapes(backend))
        # up to 1e5 apart (issue 15 item 1: data at 1e5 with weights of 1e300/n)
        X = draw(datasets(n, d, kinds=("blobs",))) * draw(st.sampled_from([1.0, 100.0]))
        w = draw(weights_for(n, k, kinds=("none", "float", "int")))
        dtype = draw(st.sampled_from(dtypes_for(backend)))
        # continuous: the spacing of the data at their magnitude at most 1e-4
        # of every column's spread (at 1e4 +- 1e-3 float32 holds a few values
        # per column: a lattice of exact ties, 3-4-5 triangles, and fewer
        # distinct rows than clusters, that the last bit of a center decides).
        # ``datasets`` rounds to float32: that is their spacing, in float64 too
        assume(np.abs(X).max() * EPS["float32"] <= 1e-4 * float(X.std(axis=0).min()))
        init = draw(st.sampled_from(["k-means++", "random", "k-means||"]))
        factor = draw(st.sampled_from(list(WEIGHT_FACTORS)))
        params = dict(init=init, n_init=1, tol=0.0, random_state=draw(st.integers(0, 2**16)))
        return X, w, dtype, k, params, factor

    def prop(case):
        X, w, dtype, k, params, factor = case
        n = X.shape[0]
        c = weight_factor(factor, n)
        w = np.ones(n) if w is None else w
        Xb = backend.asarray(X.astype(dtype))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            base = KMeans(k, **params).fit(Xb, sample_weight=backend.asarray(w))
            try:
                scaled = KMeans(k, **params).fit(Xb, sample_weight=backend.asarray(w * c))
            except ValueError as exc:
                assert "sample_weight" in str(exc), f"w * {factor}: {exc}"
                return
        np.testing.assert_array_equal(
            to_numpy(scaled.labels_), to_numpy(base.labels_), err_msg=f"w * {factor}"
        )
        # (with tol=0 a run also stops when the centers repeat exactly, which
        # their last bits decide: n_iter_ may differ by one)
        assert abs(scaled.n_iter_ - base.n_iter_) <= 1, f"w * {factor}"
        C = to_numpy(base.cluster_centers_).astype(np.float64)
        scale = float(np.abs(X).max())
        np.testing.assert_allclose(
            to_numpy(scaled.cluster_centers_).astype(np.float64),
            C,
            rtol=0,
            atol=4 * n * EPS[dtype] * scale,
            err_msg=f"w * {factor}",
        )
        allowance = rounding_allowance(X, C, dtype) * float(w.sum())
        if not np.isfinite(base.inertia_ * c):
            return  # the scaled inertia itself overflows float64
        assert scaled.inertia_ == pytest.approx(
            base.inertia_ * c, rel=4 * n * EPS[dtype], abs=allowance * c
        ), f"w * {factor}"

    run_examples(backend, long, cases(), prop)


@LENGTHS
def test_spherical_ignores_row_and_weight_scale(backend, long):
    """SphericalKMeans: rows times any positive factors (1e-170 .. 1e150 in
    float64, 1e-30 .. 1e18 in float32) and all weights times one positive
    factor change neither labels nor centers nor inertia (times the weight
    factor)."""

    @st.composite
    def cases(draw):
        n, d, k = draw(shapes(backend))
        d = max(d, 2)
        seed = draw(st.integers(0, 2**32 - 1))
        rng = np.random.RandomState(seed)
        mu = rng.normal(size=(max(k, 2), d))
        X = mu[rng.randint(0, len(mu), n)] + 0.3 * rng.normal(size=(n, d))
        dtype = draw(st.sampled_from(dtypes_for(backend)))
        lo, hi = (-170, 150) if dtype == "float64" else (-30, 18)
        # one common exponent (as for embeddings stored at another scale) or one per row
        if draw(st.booleans()):
            exps = np.full(n, float(draw(st.integers(lo, hi))))
        else:
            exps = rng.uniform(lo, hi, size=n)
        factor = draw(st.sampled_from(["1", *WEIGHT_FACTORS]))
        init = draw(st.sampled_from(["k-means++", "random"]))
        params = dict(init=init, n_init=1, tol=0.0, random_state=draw(st.integers(0, 2**16)))
        return X, exps, dtype, k, params, factor

    def prop(case):
        X, exps, dtype, k, params, factor = case
        n = X.shape[0]
        c = weight_factor(factor, n)
        Xs = X * 10.0 ** exps[:, None]
        base = SphericalKMeans(k, **params)
        scaled = SphericalKMeans(k, **params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            base.fit(backend.asarray(X.astype(dtype)))
            scaled.fit(
                backend.asarray(Xs.astype(dtype)),
                sample_weight=backend.asarray(np.full(n, c)),
            )
        what = f"rows * 10**[{exps.min():.0f}..{exps.max():.0f}], weights * {factor}"
        np.testing.assert_array_equal(
            to_numpy(scaled.labels_), to_numpy(base.labels_), err_msg=what
        )
        # (a run also stops when the centers repeat exactly: last bits decide)
        assert abs(scaled.n_iter_ - base.n_iter_) <= 1, what
        # a center is the direction of its members' sum of unit rows, which the
        # two fits round differently: the rounding of a sum relative to its
        # length is the length of its terms over that of the sum (n_j / |sum|),
        # large for members that nearly cancel out (two opposite rows)
        labels = to_numpy(base.labels_)
        U = X / np.linalg.norm(X, axis=1, keepdims=True)
        cond = np.ones(k)
        for j in range(k):
            members = labels == j
            length = float(np.linalg.norm(U[members].sum(axis=0)))
            if members.any() and length > 0:
                cond[j] = max(1.0, int(members.sum()) / length)
        diff = np.abs(
            to_numpy(scaled.cluster_centers_).astype(np.float64)
            - to_numpy(base.cluster_centers_).astype(np.float64)
        )
        np.testing.assert_array_less(
            diff, np.broadcast_to(8 * n * EPS[dtype] * cond[:, None], diff.shape), err_msg=what
        )
        assert scaled.inertia_ == pytest.approx(
            base.inertia_ * c, rel=8 * n * EPS[dtype], abs=8 * n * EPS[dtype] * c
        ), what

    run_examples(backend, long, cases(), prop)


# ------------------------------------------------------------- thread count
THREADS_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from kmeans_xp import KMeans

    # issue 15 item 4: float32 far from the origin, many iterations, k = 32
    n, seed, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    X = (np.random.RandomState(seed).uniform(size=(n, 12)) + 1e4).astype(np.float32)
    arrays, summary = {}, {}
    for algorithm in ("lloyd", "hamerly"):
        km = KMeans(32, random_state=0, algorithm=algorithm).fit(X)
        arrays[algorithm + "_labels"] = km.labels_
        arrays[algorithm + "_centers"] = km.cluster_centers_
        summary[algorithm] = [km.inertia_, km.n_iter_]
    np.savez(out, **arrays)
    print(json.dumps(summary))
    """
)


def _threads(chunks: int, blas: int) -> dict[str, str]:
    """The environment of a machine with this many threads for this library's
    chunks and for BLAS (OpenBLAS, OpenMP, MKL)."""
    b = str(blas)
    return {
        "KMEANS_XP_NUM_THREADS": str(chunks),
        "OPENBLAS_NUM_THREADS": b,
        "OMP_NUM_THREADS": b,
        "MKL_NUM_THREADS": b,
    }


@pytest.mark.parametrize(
    "configs",
    [
        {"1-thread": _threads(1, 1), "2-threads": _threads(2, 2)},
        pytest.param(
            {
                "1-thread": _threads(1, 1),
                "1-chunk-thread-2-blas": _threads(1, 2),
                "4-threads": _threads(4, 4),
            },
            marks=pytest.mark.slow,
        ),
    ],
    ids=["1-vs-2", "1-vs-mixed-vs-4"],
)
def test_same_float32_result_whatever_the_thread_count(tmp_path, configs):
    """20k x 12 float32 at 1e4, k=32 (issue 15 item 4, at a third of its n; the
    seed is one whose float32 rounding differed with the thread count): the
    same labels, centers (bitwise), inertia and n_iter_ in fresh interpreters
    with one and two threads, for Lloyd and Hamerly."""
    # the interpreters run side by side (the result may not depend on the load either)
    procs = {}
    for name, limits in configs.items():
        env = dict(os.environ, **limits)
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
        out = tmp_path / f"{name}.npz"
        procs[name] = subprocess.Popen(
            [sys.executable, "-c", THREADS_SCRIPT, "20000", "1", str(out)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
    try:
        outputs = {name: proc.communicate(timeout=300) for name, proc in procs.items()}
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    results = {}
    for name, (stdout, stderr) in outputs.items():
        assert procs[name].returncode == 0, stderr[-3000:]
        summary = json.loads(stdout.strip().splitlines()[-1])
        with np.load(tmp_path / f"{name}.npz") as f:
            results[name] = (summary, {key: f[key] for key in f.files})
    (ref_name, (ref_summary, ref_arrays)), *others = results.items()
    for name, (summary, arrays) in others:
        for algorithm in ("lloyd", "hamerly"):
            what = f"{algorithm}: {name} vs {ref_name}"
            assert summary[algorithm] == ref_summary[algorithm], (
                f"{what}: [inertia, n_iter] {summary[algorithm]} vs {ref_summary[algorithm]}"
            )
            for part in ("labels", "centers"):
                key = f"{algorithm}_{part}"
                np.testing.assert_array_equal(arrays[key], ref_arrays[key], err_msg=what)
