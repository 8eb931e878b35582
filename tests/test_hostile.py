"""Hostile input (issue 15): crashes, side effects, misleading messages and
weights that overflow, on every backend each case concerns.

The input preparation lives in ``kmeans_xp._backend._inputs`` (torch grad and
meta tensors, masked arrays, pandas, Dask unknown chunks) and in
``kmeans_xp._validation`` (object arrays, cast overflow, tiny values, sample
weights, the fitted namespace).
"""

from __future__ import annotations

import copy
import math
import re

import numpy as np
import pytest
from array_api_compat import array_namespace

from kmeans_xp import KMeans, MiniBatchKMeans, SphericalKMeans, _backend, kmeans_plusplus
from kmeans_xp._validation import get_namespace, prepare_sample_weight

ESTIMATORS = [KMeans, MiniBatchKMeans, SphericalKMeans]
EST_IDS = [e.__name__ for e in ESTIMATORS]


def _blobs(n: int = 60, d: int = 3, seed: int = 0) -> np.ndarray:
    rng = np.random.RandomState(seed)
    return rng.normal(size=(n, d)) + 6.0 * (np.arange(n) % 3)[:, None]


def _host(backend, a) -> np.ndarray:
    return _backend.to_host(backend.xp, a)


def _fit(backend, cls=KMeans, X=None, dtype=None, k: int = 3):
    """A fit from given initial centers (quick on JAX: no k-means++ to compile)."""
    X = _blobs() if X is None else X
    Xb = backend.asarray(X, dtype=dtype)
    init = backend.asarray(X[:k], dtype=dtype)
    return cls(k, init=init, n_init=1, random_state=0).fit(Xb)


def _eager_only(backend, cls) -> None:
    if backend.lazy and cls is not KMeans:
        pytest.skip(f"{cls.__name__} runs on eager arrays only (a TypeError on Dask)")


def _foreign(backend, host: np.ndarray):
    """``host`` as an array of a library other than the backend's."""
    if backend.name == "numpy":
        xs = pytest.importorskip("array_api_strict")
        return xs.asarray(host)
    return np.asarray(host)


# ------------------------------------------------------------ torch autograd
@pytest.mark.backends("torch", "torch_cuda")
@pytest.mark.parametrize("cls", ESTIMATORS, ids=EST_IDS)
def test_requires_grad_input_gives_detached_results(backend, cls):
    X = _blobs()
    init = X[[0, 1, 2]]
    Xg = backend.asarray(X).requires_grad_(True)
    wg = backend.asarray(np.linspace(1.0, 2.0, len(X))).requires_grad_(True)
    ig = backend.asarray(init).requires_grad_(True)
    km = cls(3, init=ig, n_init=1, random_state=0).fit(Xg, sample_weight=wg)
    ref = cls(3, init=backend.asarray(init), n_init=1, random_state=0).fit(
        backend.asarray(X), sample_weight=backend.asarray(np.linspace(1.0, 2.0, len(X)))
    )
    for name in ("cluster_centers_", "labels_"):
        got = getattr(km, name)
        assert not got.requires_grad and got.grad_fn is None, name
        np.testing.assert_array_equal(_host(backend, got), _host(backend, getattr(ref, name)))
    assert isinstance(km.inertia_, float) and km.inertia_ == ref.inertia_
    for out in (km.predict(Xg), km.transform(Xg)):
        assert not out.requires_grad and out.grad_fn is None
    assert isinstance(km.score(Xg), float)
    # a graph-free model copies (deepcopy of a tensor in a graph raises)
    clone = copy.deepcopy(km)
    np.testing.assert_array_equal(
        _host(backend, clone.cluster_centers_), _host(backend, km.cluster_centers_)
    )
    # the user's tensors keep their grad flag (not modified)
    assert Xg.requires_grad and wg.requires_grad and ig.requires_grad


@pytest.mark.backends("torch")
def test_requires_grad_kmeans_plusplus(backend):
    Xg = backend.asarray(_blobs()).requires_grad_(True)
    centers, _ = kmeans_plusplus(Xg, 3, random_state=0)
    assert not centers.requires_grad and centers.grad_fn is None


# ---------------------------------------------------------------- torch meta
@pytest.mark.backends("torch")
@pytest.mark.parametrize("cls", ESTIMATORS, ids=EST_IDS)
def test_meta_tensor_refused(backend, cls):
    torch = pytest.importorskip("torch")
    X = torch.empty((30, 2), dtype=torch.float64, device="meta")
    with pytest.raises(
        ValueError, match=r"X is a torch tensor on the 'meta' device: meta tensors have no data"
    ):
        cls(2).fit(X)


@pytest.mark.backends("torch")
def test_meta_tensor_refused_kmeans_plusplus_and_weights(backend):
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match=r"meta tensors have no data"):
        kmeans_plusplus(torch.empty((30, 2), device="meta"), 2)
    w = torch.empty((30,), dtype=torch.float64, device="meta")
    X = torch.empty((30, 2), dtype=torch.float64, device="meta")
    with pytest.raises(ValueError, match=r"X is a torch tensor on the 'meta' device"):
        KMeans(2).fit(X, sample_weight=w)


@pytest.mark.needs_backends("numpy", "torch")
def test_weights_of_another_library_are_checked_before_they_follow_X():
    # sample_weight follows X (copied through the host): a masked array's mask
    # or a meta tensor's missing data must not be lost on the way
    torch = pytest.importorskip("torch")
    X = torch.asarray(_blobs())
    masked = np.ma.masked_array(np.ones(len(X)), mask=np.arange(len(X)) == 5)
    with pytest.raises(ValueError, match=r"sample_weight is a masked array with 1 masked value"):
        KMeans(3, random_state=0).fit(X, sample_weight=masked)
    meta = torch.empty((len(X),), dtype=torch.float64, device="meta")
    with pytest.raises(ValueError, match=r"sample_weight is a torch tensor on the 'meta' device"):
        KMeans(3, random_state=0).fit(_blobs(), sample_weight=meta)


# ------------------------------------------------------------- masked arrays
@pytest.mark.parametrize("cls", ESTIMATORS, ids=EST_IDS)
@pytest.mark.parametrize("mask", ["nomask", "all_false"])
def test_masked_array_without_masked_values_is_its_data(cls, mask):
    X = _blobs()
    Xm = (
        np.ma.masked_array(X)
        if mask == "nomask"
        else np.ma.masked_array(X, mask=np.zeros_like(X, bool))
    )
    km = cls(3, random_state=0).fit(Xm)
    ref = cls(3, random_state=0).fit(X)
    assert type(km.cluster_centers_) is np.ndarray
    np.testing.assert_array_equal(km.cluster_centers_, ref.cluster_centers_)
    np.testing.assert_array_equal(km.labels_, ref.labels_)
    np.testing.assert_array_equal(km.predict(Xm[:7]), ref.predict(X[:7]))
    w = np.ma.masked_array(np.linspace(1, 2, len(X)))
    ref_w = cls(3, random_state=0).fit(X, sample_weight=np.linspace(1, 2, len(X)))
    np.testing.assert_array_equal(
        cls(3, random_state=0).fit(Xm, sample_weight=w).labels_, ref_w.labels_
    )


@pytest.mark.parametrize("cls", ESTIMATORS, ids=EST_IDS)
def test_masked_values_refused(cls):
    X = _blobs()
    mask = np.zeros_like(X, bool)
    mask[3, 1] = mask[10, 0] = True
    with pytest.raises(ValueError, match=r"X is a masked array with 2 masked value\(s\)"):
        cls(3, random_state=0).fit(np.ma.masked_array(X, mask=mask))
    km = cls(3, random_state=0).fit(X)
    with pytest.raises(ValueError, match=r"X is a masked array with 2 masked value\(s\)"):
        km.predict(np.ma.masked_array(X, mask=mask))
    w = np.ma.masked_array(np.ones(len(X)), mask=np.arange(len(X)) == 5)
    with pytest.raises(ValueError, match=r"sample_weight is a masked array with 1 masked value"):
        cls(3, random_state=0).fit(X, sample_weight=w)


# ---------------------------------------------------------------- pandas
@pytest.mark.parametrize("dtype", ["Float64", "Int64", "Float32"])
def test_pandas_nullable_with_na_refused(dtype):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame((_blobs() * 10).round()).astype(dtype)
    df.iloc[4, 1] = pd.NA
    with pytest.raises(
        ValueError, match=re.escape("X contains missing values (NaN/pd.NA) (n_missing=1)")
    ):
        KMeans(3, random_state=0).fit(df)
    km = KMeans(3, random_state=0).fit(df.fillna(0))
    with pytest.raises(ValueError, match=re.escape("X contains missing values (NaN/pd.NA)")):
        km.predict(df)
    w = pd.Series(np.ones(len(df))).astype("Float64")
    w.iloc[2] = pd.NA
    with pytest.raises(
        ValueError, match=re.escape("sample_weight contains missing values (NaN/pd.NA)")
    ):
        KMeans(3, random_state=0).fit(df.fillna(0), sample_weight=w)


@pytest.mark.parametrize(
    "dtype, np_dtype", [("Float64", np.float64), ("Int64", np.int64), ("Float32", np.float32)]
)
def test_pandas_nullable_without_na_accepted(dtype, np_dtype):
    pd = pytest.importorskip("pandas")
    X = (_blobs() * 10).round()
    df = pd.DataFrame(X).astype(dtype)
    km = KMeans(3, random_state=0).fit(df, sample_weight=pd.Series(np.ones(len(X))).astype("Int64"))
    ref = KMeans(3, random_state=0).fit(X.astype(np_dtype))
    assert km.cluster_centers_.dtype == ref.cluster_centers_.dtype
    np.testing.assert_array_equal(km.cluster_centers_, ref.cluster_centers_)
    np.testing.assert_array_equal(km.labels_, ref.labels_)
    np.testing.assert_array_equal(km.predict(df), ref.labels_)


def test_pandas_object_column_of_numbers():
    pd = pytest.importorskip("pandas")
    X = _blobs()
    df = pd.DataFrame(X)
    df[1] = df[1].astype(object)
    np.testing.assert_array_equal(
        KMeans(3, random_state=0).fit(df).labels_, KMeans(3, random_state=0).fit(X).labels_
    )
    df.iloc[0, 1] = "a"
    with pytest.raises(TypeError, match=r"X has dtype object and holds text \('a'\)"):
        KMeans(3, random_state=0).fit(df)


# ---------------------------------------------------------- Dask unknown chunks
@pytest.mark.backends("dask")
def test_dask_unknown_chunk_sizes(backend):
    X = _blobs(90)
    Xd = backend.asarray(X)
    keep = X[:, 0] > 1.0
    Xf = Xd[Xd[:, 0] > 1.0]
    assert math.isnan(Xf.shape[0])
    init = X[keep][[0, 1, 2]]
    km = KMeans(3, init=init, n_init=1).fit(Xf)
    ref = KMeans(3, init=init, n_init=1).fit(X[keep])
    np.testing.assert_array_equal(np.asarray(km.labels_), ref.labels_)
    # block sums are added in another order than NumPy's
    np.testing.assert_allclose(np.asarray(km.cluster_centers_), ref.cluster_centers_, rtol=1e-12)
    np.testing.assert_array_equal(np.asarray(km.predict(Xf)), ref.labels_)
    # weights selected the same way: unknown chunks too, computed alike
    w = _weights(len(X))
    wd = backend.asarray(w)[Xd[:, 0] > 1.0]
    km = KMeans(3, init=init, n_init=1).fit(Xf, sample_weight=wd)
    ref = KMeans(3, init=init, n_init=1).fit(X[keep], sample_weight=w[keep])
    np.testing.assert_array_equal(np.asarray(km.labels_), ref.labels_)
    assert km.inertia_ == pytest.approx(ref.inertia_, rel=1e-12)
    # the caller's arrays are not modified
    assert math.isnan(Xf.shape[0]) and math.isnan(wd.shape[0])


# -------------------------------------------- model fitted on another library
def test_fitted_namespace_message_get_namespace(backend):
    km = _fit(backend)
    centers = km.cluster_centers_
    kind = _backend.backend_name(array_namespace(centers))
    foreign = _foreign(backend, _blobs(5))
    other = _backend.backend_name(array_namespace(foreign))
    with pytest.raises(
        TypeError,
        match=re.escape(
            f"KMeans was fitted on {kind} arrays; pass {kind} input or refit (got {other} input)"
        ),
    ):
        get_namespace(foreign, None, fitted=centers, estimator="KMeans")
    # a list takes the fitted namespace; the fitted library's arrays pass
    xp, _ = get_namespace([[0.0, 1.0, 2.0]], fitted=centers, estimator="KMeans")
    assert xp is array_namespace(centers)
    get_namespace(backend.asarray(_blobs(5)), fitted=centers, estimator="KMeans")


@pytest.mark.parametrize("cls", ESTIMATORS, ids=EST_IDS)
def test_predict_with_other_library_says_fitted_on(backend, cls):
    _eager_only(backend, cls)
    km = _fit(backend, cls)
    kind = _backend.backend_name(array_namespace(km.cluster_centers_))
    foreign = _foreign(backend, _blobs(5))
    for method in (km.predict, km.transform, km.score):
        with pytest.raises(
            TypeError,
            match=re.escape(
                f"{cls.__name__} was fitted on {kind} arrays; pass {kind} input or refit"
            ),
        ):
            method(foreign)


# ------------------------------------------------------------- tiny values
@pytest.mark.parametrize(
    "scale, dtype", [(1e-170, "float64"), (1e-310, "float64"), (1e-22, "float32")]
)
def test_values_too_small_refused(backend, scale, dtype):
    if dtype == "float64" and not backend.has_float64:
        pytest.skip("no float64 on this device")
    X = backend.asarray(_blobs() * scale, dtype=dtype)
    pattern = rf"X has values too small for {dtype}: squared distances would underflow"
    with pytest.raises(ValueError, match=pattern):
        KMeans(3, random_state=0).fit(X)
    with pytest.raises(ValueError, match=pattern):
        kmeans_plusplus(X, 3, random_state=0)


def test_tiny_values_fine_where_they_do_not_underflow(backend):
    # all rows equal (no difference at all) and predict of close samples near a
    # model fitted at a normal scale are valid
    km = _fit(backend, X=np.full((10, 2), 1e-300), k=1)
    assert km.inertia_ == 0.0
    km = _fit(backend)
    labels = _host(backend, km.predict(backend.asarray(_blobs(4) * 1e-170)))
    assert labels.shape == (4,)


# ------------------------------------------------- overflow on the float32 cast
_CAST_OVERFLOW = (
    r"X has finite values too large for float32 \(the model was fitted on float32 data\): "
    r"the largest \|value\| 1e\+39 overflows"
)


def test_cast_overflow_to_float32_named(backend):
    km = _fit(backend, dtype=np.float32)
    if not backend.has_float64:
        pytest.skip("no float64 input on this device")
    big = _blobs(5)
    big[2, 1] = 1e39  # finite in float64, inf in float32
    for method in (km.predict, km.transform, km.score):
        with pytest.raises(
            ValueError,
            match=_CAST_OVERFLOW,
        ):
            method(backend.asarray(big))


# ---------------------------------------------------------- sample weights
def _weights(n: int) -> np.ndarray:
    return (np.arange(n) % 7 + 1).astype(np.float64)  # integers 1..7


def test_prepare_sample_weight_scales_before_the_cast(backend):
    xp, dev = backend.xp, backend.device
    if not backend.has_float64:
        pytest.skip("float64 weights need float64")
    n = 50
    base = _weights(n)
    for factor in (2.0**200, 2.0**-1000, 1e300 / n, 1e-300 / n, 1e36):
        for dtype in (xp.float32, xp.float64):
            sw = prepare_sample_weight(xp, backend.asarray(base * factor), n, dtype, dev)
            assert isinstance(sw.scale, float)
            mantissa, _ = math.frexp(sw.scale)
            assert mantissa == 0.5  # a power of two: the division is exact
            assert sw.array.dtype == dtype
            got = _host(backend, sw.array).astype(np.float64)
            assert 1.0 <= got.max() < 2.0
            assert np.isfinite(got.sum())
            if factor in (2.0**200, 2.0**-1000):
                # integer weights times a power of two: exact, the same array
                np.testing.assert_array_equal(got, base / 4.0)
                assert sw.scale == 4.0 * factor
            np.testing.assert_allclose(got * sw.scale, base * factor, rtol=1e-6)


def test_prepare_sample_weight_sum_overflows_float64(backend):
    if not backend.has_float64:
        pytest.skip("float64 weights need float64")
    n = 40
    w = np.full(n, 1e308)
    w[::2] = 5e307
    with np.errstate(over="ignore"):
        assert not np.isfinite(w.sum())
    sw = prepare_sample_weight(
        backend.xp, backend.asarray(w), n, backend.xp.float64, backend.device
    )
    got = _host(backend, sw.array)
    assert np.isfinite(got.sum())
    np.testing.assert_array_equal(got * sw.scale, w)


def test_prepare_sample_weight_uniform_and_none(backend):
    xp, dev = backend.xp, backend.device
    dtype = xp.float32
    sw = prepare_sample_weight(xp, None, 5, dtype, dev)
    assert sw.array is None and sw.scale == 1.0
    for value in (1.0, 3.5, 1e-30):
        sw = prepare_sample_weight(
            xp, backend.asarray(np.full(6, value), dtype=np.float32), 6, dtype, dev
        )
        assert sw.array is None and sw.scale == float(np.float32(value))
        sw = prepare_sample_weight(xp, value, 6, dtype, dev)
        assert sw.array is None and sw.scale == value


def test_prepare_sample_weight_too_spread_refused(backend):
    xp, dev = backend.xp, backend.device
    w = np.ones(10)
    w[3] = 1e-40  # below float32's smallest normal relative to the largest
    w[4] = 0.0  # zeros are fine
    src = np.float64 if backend.has_float64 else np.float32
    with pytest.raises(ValueError, match=r"sample_weight spans too wide a range for float32"):
        prepare_sample_weight(xp, backend.asarray(w.astype(src)), 10, xp.float32, dev)
    if backend.has_float64:
        sw = prepare_sample_weight(xp, backend.asarray(w), 10, xp.float64, dev)
        got = _host(backend, sw.array)
        assert got[3] == 1e-40 and got[4] == 0.0


@pytest.mark.parametrize(
    "w, exc, pattern",
    [
        (np.r_[np.ones(9), np.nan], ValueError, r"sample_weight contains NaN or infinity"),
        (np.r_[np.ones(9), -1.0], ValueError, r"sample_weight has negative values"),
        (np.zeros(10), ValueError, r"sample_weight is all zero"),
        (
            np.ones(9),
            ValueError,
            re.escape("sample_weight must have shape (10,) to match X, got (9,)"),
        ),
        (
            np.ones(10, dtype=np.complex128),
            TypeError,
            r"sample_weight has dtype .*expected real numbers",
        ),
    ],
)
def test_prepare_sample_weight_errors(backend, w, exc, pattern):
    with pytest.raises(exc, match=pattern):
        prepare_sample_weight(
            backend.xp, backend.asarray(w), 10, backend.xp.float32, backend.device
        )


def test_prepare_sample_weight_scalar_errors():
    import array_api_compat.numpy as xp

    for value, pattern in [
        (0.0, "all zero"),
        (-2, "negative"),
        (float("inf"), "NaN or infinity"),
        (1j, "expected real numbers"),
    ]:
        with pytest.raises((ValueError, TypeError), match=pattern):
            prepare_sample_weight(xp, value, 4, xp.float64, "cpu")


@pytest.mark.parametrize("cls", ESTIMATORS, ids=EST_IDS)
@pytest.mark.parametrize(
    "dtype, factor",
    [
        ("float32", 2.0**200),
        ("float32", 2.0**-200),
        ("float64", 2.0**1020),
        ("float64", 2.0**-1060),
    ],
)
def test_weights_that_overflow_the_dtype_change_nothing(backend, cls, dtype, factor):
    """Weights times a power of two (1e60, 1e-60 with float32 data; 1e307, whose
    sum overflows float64, and subnormal 1e-319 with float64 data): the same
    clustering, ``inertia_`` times the factor."""
    _eager_only(backend, cls)
    if not backend.has_float64:
        pytest.skip("the weights are float64")
    X = _blobs()
    init = X[[0, 1, 2]]
    w = _weights(len(X))
    Xb = backend.asarray(X, dtype=dtype)
    ib = backend.asarray(init, dtype=dtype)
    ref = cls(3, init=ib, n_init=1, max_iter=20, random_state=0).fit(
        Xb, sample_weight=backend.asarray(w)
    )
    km = cls(3, init=ib, n_init=1, max_iter=20, random_state=0).fit(
        Xb, sample_weight=backend.asarray(w * factor)
    )
    np.testing.assert_array_equal(_host(backend, km.labels_), _host(backend, ref.labels_))
    np.testing.assert_array_equal(
        _host(backend, km.cluster_centers_), _host(backend, ref.cluster_centers_)
    )
    assert km.inertia_ == ref.inertia_ * factor


@pytest.mark.parametrize("cls", ESTIMATORS, ids=EST_IDS)
def test_uniform_weights_change_nothing(backend, cls):
    """Uniform weights of 1e300 / n, 1e-300 / n (float64) or 1e37 (float32
    data): the unweighted clustering, ``inertia_`` times the weight."""
    _eager_only(backend, cls)
    X = _blobs()
    n = len(X)
    init = X[[0, 1, 2]]
    cases = [("float32", 1e37)]
    if backend.has_float64:
        cases += [("float64", 1e300 / n), ("float64", 1e-300 / n)]
    for dtype, value in cases:
        Xb = backend.asarray(X, dtype=dtype)
        ib = backend.asarray(init, dtype=dtype)
        ref = cls(3, init=ib, n_init=1, max_iter=20, random_state=0).fit(Xb)
        w = backend.asarray(np.full(n, value), dtype=dtype)
        km = cls(3, init=ib, n_init=1, max_iter=20, random_state=0).fit(Xb, sample_weight=w)
        np.testing.assert_array_equal(_host(backend, km.labels_), _host(backend, ref.labels_))
        np.testing.assert_array_equal(
            _host(backend, km.cluster_centers_), _host(backend, ref.cluster_centers_)
        )
        weight = float(np.asarray(value, dtype=dtype))
        assert km.inertia_ == pytest.approx(ref.inertia_ * weight, rel=1e-12)
