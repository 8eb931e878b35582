"""scikit-learn's API beyond the estimators' core (issue 11, dense data).

``k_means``; a callable ``init`` on the three estimators; ``copy_x`` and
``x_squared_norms``; feature names (``feature_names_in_``,
``get_feature_names_out``, ``set_output``, scikit-learn's warnings); pandas
nullable dtypes and object arrays; MiniBatchKMeans batches drawn in
proportion to the weights (scikit-learn's draws); scikit-learn's words in the
messages people match on. Results are compared with scikit-learn's own for
the same seed wherever the draws are the same.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn import cluster as skc  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import kmeans_xp  # noqa: E402
from kmeans_xp import (  # noqa: E402
    ConvergenceWarning,
    KMeans,
    MiniBatchKMeans,
    NotFittedError,
    SphericalKMeans,
    k_means,
    kmeans_plusplus,
)
from kmeans_xp._init import weight_unit_rows  # noqa: E402
from kmeans_xp._testing import to_numpy, xp_assert_close, xp_assert_equal  # noqa: E402

try:
    import pandas as pd
except ImportError:  # pragma: no cover - pandas is optional
    pd = None

needs_pandas = pytest.mark.skipif(pd is None, reason="pandas is not installed")

ESTIMATORS = [KMeans, MiniBatchKMeans, SphericalKMeans]
SKLEARN_VERSION = tuple(int(p) for p in re.findall(r"\d+", sklearn.__version__)[:2])


def _blobs(n=300, d=3, k=4, seed=0):
    rs = np.random.RandomState(seed)
    centers = rs.uniform(-10, 10, size=(k, d))
    return centers[rs.randint(0, k, size=n)] + rs.normal(size=(n, d))


def _same_fit(a, b, rtol=1e-10):
    """Two fits (any library, or scikit-learn's) with the same result."""
    np.testing.assert_array_equal(to_numpy(a.labels_), to_numpy(b.labels_))
    np.testing.assert_allclose(
        to_numpy(a.cluster_centers_), to_numpy(b.cluster_centers_), rtol=rtol, atol=1e-12
    )
    assert a.inertia_ == pytest.approx(b.inertia_, rel=rtol)


def _pick_rows(X, n_clusters, random_state):
    """A callable init of the kind people write: k rows drawn with the RNG given."""
    return X[random_state.choice(X.shape[0], n_clusters, replace=False)]


# ---------------------------------------------------------------------------
# k_means
# ---------------------------------------------------------------------------
def test_k_means_is_exported():
    assert "k_means" in kmeans_xp.__all__
    assert kmeans_xp.k_means is k_means


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("init", ["k-means++", "random"])
def test_k_means_same_as_sklearn(init, weighted):
    X = _blobs()
    w = np.random.RandomState(1).uniform(0.5, 2.0, len(X)) if weighted else None
    got = k_means(X, 4, sample_weight=w, init=init, random_state=3)
    ref = skc.k_means(X, 4, sample_weight=w, init=init, random_state=3)
    assert isinstance(got, tuple) and len(got) == 3
    np.testing.assert_allclose(got[0], ref[0], rtol=1e-10)
    np.testing.assert_array_equal(got[1], ref[1])
    assert isinstance(got[2], float)
    assert got[2] == pytest.approx(ref[2], rel=1e-10)
    *_, n_iter = k_means(X, 4, sample_weight=w, init=init, random_state=3, return_n_iter=True)
    *_, ref_n_iter = skc.k_means(
        X, 4, sample_weight=w, init=init, random_state=3, return_n_iter=True
    )
    assert n_iter == ref_n_iter


def test_k_means_is_kmeans(backend):
    """The function is KMeans.fit: same results, in the input's namespace."""
    X = _blobs()
    Xb = backend.asarray(X)
    params = dict(n_init=2, max_iter=50, tol=1e-3, random_state=0, algorithm="hamerly")
    centers, labels, inertia, n_iter = k_means(Xb, 4, return_n_iter=True, **params)
    km = KMeans(4, **params).fit(Xb)
    xp_assert_equal(centers, km.cluster_centers_, like=Xb, dtype=km.cluster_centers_.dtype)
    xp_assert_equal(labels, km.labels_, like=km.labels_)
    assert inertia == km.inertia_ and n_iter == km.n_iter_


def test_k_means_parameters_checked_as_sklearn():
    X = _blobs(20)
    with pytest.raises(ValueError, match=re.escape("n_samples=20 should be >= n_clusters=30.")):
        k_means(X, 30)
    with pytest.raises(
        ValueError, match=r"The 'return_n_iter' parameter of k_means must be an instance of 'bool'"
    ):
        k_means(X, 2, return_n_iter="yes")
    # the estimator's parameters are KMeans's, named so (as scikit-learn's k_means does)
    with pytest.raises(ValueError, match=r"The 'tol' parameter of KMeans must be"):
        k_means(X, 2, tol=-1.0)
    with pytest.raises(ValueError, match=r"The 'copy_x' parameter of KMeans must be"):
        k_means(X, 2, copy_x="no")


# ---------------------------------------------------------------------------
# copy_x and x_squared_norms: accepted, no effect
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("copy_x", [True, False])
def test_copy_x_is_accepted_and_x_is_never_modified(backend, copy_x):
    X = _blobs() + 1e4  # far from the origin: the fit works in a shifted frame
    Xb = backend.asarray(X)
    km = KMeans(4, copy_x=copy_x, random_state=0).fit(Xb)
    np.testing.assert_array_equal(to_numpy(Xb), X)
    assert km.get_params()["copy_x"] is copy_x
    _same_fit(km, KMeans(4, random_state=0).fit(Xb), rtol=0)
    centers, _, _ = k_means(Xb, 4, copy_x=copy_x, random_state=0)
    xp_assert_equal(centers, km.cluster_centers_, like=Xb, dtype=km.cluster_centers_.dtype)
    np.testing.assert_array_equal(to_numpy(Xb), X)


def test_copy_x_message_is_sklearns():
    with pytest.raises(ValueError) as ours:
        KMeans(2, copy_x="no").fit(_blobs(20))
    with pytest.raises(ValueError) as theirs:
        skc.KMeans(2, copy_x="no").fit(_blobs(20))
    assert str(ours.value) == str(theirs.value)
    assert repr(KMeans(copy_x=False)) == "KMeans(copy_x=False)"


def test_kmeans_plusplus_accepts_x_squared_norms(backend):
    X = _blobs()
    Xb = backend.asarray(X)
    norms = backend.asarray((X * X).sum(axis=1))
    centers, idx = kmeans_plusplus(Xb, 5, x_squared_norms=norms, random_state=0)
    ref_centers, ref_idx = kmeans_plusplus(Xb, 5, random_state=0)
    xp_assert_equal(idx, ref_idx, like=ref_idx)
    xp_assert_equal(centers, ref_centers, like=Xb, dtype=Xb.dtype)
    _, sk_idx = skc.kmeans_plusplus(X, 5, x_squared_norms=(X * X).sum(axis=1), random_state=0)
    np.testing.assert_array_equal(to_numpy(idx), sk_idx)


def test_kmeans_plusplus_x_squared_norms_length_message_is_sklearns():
    X = _blobs(30)
    with pytest.raises(ValueError) as ours:
        kmeans_plusplus(X, 2, x_squared_norms=np.ones(29))
    with pytest.raises(ValueError) as theirs:
        skc.kmeans_plusplus(X, 2, x_squared_norms=np.ones(29))
    assert str(ours.value) == str(theirs.value)


# ---------------------------------------------------------------------------
# callable init
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_callable_init_same_as_sklearn(weighted):
    # called as scikit-learn calls it (same RandomState, same order, 10 runs
    # for n_init="auto"), so the same callable gives the same clustering
    X = _blobs()
    w = np.random.RandomState(2).uniform(0.5, 2.0, len(X)) if weighted else None
    km = KMeans(4, init=_pick_rows, random_state=5).fit(X, sample_weight=w)
    sk = skc.KMeans(4, init=_pick_rows, random_state=5).fit(X, sample_weight=w)
    _same_fit(km, sk)
    assert km.n_iter_ == sk.n_iter_


@pytest.mark.skipif(
    SKLEARN_VERSION < (1, 9), reason="scikit-learn draws weighted mini-batches since 1.9"
)
def test_minibatch_callable_init_same_as_sklearn():
    X = _blobs(2000, seed=3)
    params = dict(batch_size=100, init=_pick_rows, random_state=4)
    _same_fit(MiniBatchKMeans(4, **params).fit(X), skc.MiniBatchKMeans(4, **params).fit(X))


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_callable_init_is_called_with_x_k_and_the_random_state(backend, Est):
    if Est is MiniBatchKMeans and backend.lazy:
        pytest.skip("MiniBatchKMeans refuses Dask arrays")
    X = _blobs()
    Xb = backend.asarray(X)
    calls = []

    def init(X, n_clusters, random_state):
        calls.append((X, n_clusters, random_state))
        return X[:n_clusters, :]

    rs = np.random.RandomState(0)
    est = Est(4, init=init, random_state=rs, n_init=2).fit(Xb)
    assert len(calls) == 2
    for got, k, state in calls:
        assert k == 4
        assert state is rs  # the estimator's own RandomState, as in scikit-learn
        # X as validated: the input's library, device and dtype, not shifted
        assert type(got) is type(Xb)
        xp_assert_close(got[:4, :], X[:4], like=Xb, dtype=Xb.dtype, rtol=0)
    assert type(est.cluster_centers_) is type(Xb)


@pytest.mark.parametrize("Est, runs", [(KMeans, 10), (MiniBatchKMeans, 3), (SphericalKMeans, 10)])
def test_callable_init_n_init_auto(Est, runs):
    # "auto" runs a callable as many times as "random" (as scikit-learn)
    calls = []

    def init(X, n_clusters, random_state):
        calls.append(1)
        return _pick_rows(X, n_clusters, random_state)

    Est(3, init=init, random_state=0).fit(_blobs(200))
    assert len(calls) == runs


def test_callable_init_gives_the_centers_it_returns():
    X = _blobs()
    C = X[[0, 100, 200, 250]] + 0.5
    for Est in (KMeans, SphericalKMeans):
        a = Est(4, init=lambda X, n_clusters, random_state: C, n_init=1, max_iter=3).fit(X)
        b = Est(4, init=C, max_iter=3).fit(X)
        _same_fit(a, b, rtol=0)


def test_callable_init_far_from_origin():
    # the fit shifts data far from the origin; the callable sees (and returns)
    # the caller's coordinates
    X = _blobs() + np.array([1e7, -3e6, 5e5])
    seen = []

    def init(X, n_clusters, random_state):
        seen.append(float(np.abs(X).max()))
        return X[:n_clusters]

    km = KMeans(4, init=init, n_init=1).fit(X)
    assert seen[0] > 1e6
    _same_fit(km, KMeans(4, init=X[:4]).fit(X), rtol=0)


def test_callable_init_may_return_numpy_for_any_library(backend):
    if backend.name == "numpy":
        pytest.skip("NumPy X: nothing to convert")
    X = _blobs()
    Xb = backend.asarray(X)
    km = KMeans(4, init=lambda X_, n_clusters, random_state: X[:4].copy()).fit(Xb)
    ref = KMeans(4, init=backend.asarray(X[:4])).fit(Xb)
    xp_assert_equal(km.cluster_centers_, to_numpy(ref.cluster_centers_), like=Xb)


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize(
    "returned, exc, pattern",
    [
        (
            lambda X: X[:2],
            ValueError,
            r"^The shape of the initial centers \(2, 3\) does not match the number of clusters 3\.",
        ),
        (
            lambda X: X[:3, :2],
            ValueError,
            r"^The shape of the initial centers \(3, 2\) does not match the number of features "
            r"of the data 3\.",
        ),
        (lambda X: None, TypeError, r"init \(a callable\) returned NoneType None"),
        (lambda X: np.full((3, 3), np.nan), ValueError, r"array returned by init contains NaN"),
        (lambda X: X[0], ValueError, r"array returned by init must be a 2-D array"),
        (lambda X: [["a", "b", "c"]] * 3, TypeError, r"array returned by init .*text"),
    ],
    ids=["few-rows", "few-columns", "none", "nan", "1-d", "text"],
)
def test_callable_init_result_checked(Est, returned, exc, pattern):
    X = _blobs(50)
    with pytest.raises(exc, match=pattern):
        Est(3, init=lambda X, n_clusters, random_state: returned(X), n_init=1).fit(X)


def test_callable_init_of_another_library_refused(backend):
    # NumPy results are accepted on every library (moved to X's device); an
    # array of a third library is not
    if backend.name == "array_api_strict":
        pytest.skip("the foreign library here is array-api-strict")
    xs = pytest.importorskip("array_api_strict")
    X = _blobs(50)
    foreign = xs.asarray(X[:3])
    with pytest.raises(TypeError, match=r"init \(a callable\) returned an array of another"):
        KMeans(3, init=lambda X, n_clusters, random_state: foreign).fit(backend.asarray(X))


# ---------------------------------------------------------------------------
# scikit-learn's words
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("Est", ESTIMATORS)
def test_n_init_warning_is_sklearns(Est):
    X = _blobs(60)
    text = (
        "Explicit initial center position passed: performing only one init in "
        f"{Est.__name__} instead of n_init=3."
    )
    with pytest.warns(RuntimeWarning, match=f"^{re.escape(text)}$"):
        Est(3, init=X[:3], n_init=3).fit(X)
    if Est is not SphericalKMeans:
        with pytest.warns(RuntimeWarning, match=f"^{re.escape(text)}$"):
            getattr(skc, Est.__name__)(3, init=X[:3], n_init=3).fit(X)


def test_init_shape_messages_are_sklearns():
    X = _blobs(60)
    for init in (X[:2], X[:3, :2]):
        with pytest.raises(ValueError) as theirs:
            skc.KMeans(3, init=init).fit(X)
        with pytest.raises(ValueError, match=f"^{re.escape(str(theirs.value))} "):
            KMeans(3, init=init).fit(X)


def test_init_size_warning_is_sklearns():
    X = _blobs(100)
    with pytest.warns(RuntimeWarning) as ours:
        MiniBatchKMeans(5, init_size=2, random_state=0).fit(X)
    with pytest.warns(RuntimeWarning) as theirs:
        skc.MiniBatchKMeans(5, init_size=2, random_state=0).fit(X)
    assert {str(w.message) for w in ours} == {str(w.message) for w in theirs}


def test_n_samples_message_is_sklearns():
    X = _blobs(5)
    for Est in ESTIMATORS:
        with pytest.raises(ValueError, match=re.escape("n_samples=5 should be >= n_clusters=8.")):
            Est(8).fit(X)


def test_predict_with_another_library_has_sklearns_opening(backend):
    # scikit-learn's check_same_namespace words (a ValueError), and issue 2's
    # TypeError naming both libraries: the exception is both
    X = _blobs(50)
    if backend.name == "numpy":
        xs = pytest.importorskip("array_api_strict")
        other = xs.asarray(X)
    else:
        other = X
    km = KMeans(3, random_state=0).fit(backend.asarray(X))
    for method in ("predict", "transform", "score"):
        with pytest.raises(ValueError) as info:
            getattr(km, method)(other)
        assert isinstance(info.value, TypeError)
        assert str(info.value).startswith(
            f"Inputs passed to KMeans.{method}() must use the same namespace and the same "
            "device as those passed to fit(): KMeans was fitted on "
        )


# ---------------------------------------------------------------------------
# feature names and set_output
# ---------------------------------------------------------------------------
def _frame(n=120, seed=0, columns=("a", "b", "c")):
    return pd.DataFrame(_blobs(n, len(columns), seed=seed), columns=list(columns))


@needs_pandas
@pytest.mark.parametrize("Est", ESTIMATORS)
def test_feature_names_in(Est):
    df = _frame()
    est = Est(3, random_state=0).fit(df)
    np.testing.assert_array_equal(est.feature_names_in_, ["a", "b", "c"])
    assert est.feature_names_in_.dtype == object
    # a refit without names forgets them (as scikit-learn)
    est.fit(df.to_numpy())
    assert not hasattr(est, "feature_names_in_")
    # integer column names are not feature names
    est.fit(pd.DataFrame(df.to_numpy()))
    assert not hasattr(est, "feature_names_in_")


@needs_pandas
def test_feature_names_in_after_partial_fit():
    df = _frame()
    mbk = MiniBatchKMeans(3, random_state=0).partial_fit(df)
    np.testing.assert_array_equal(mbk.feature_names_in_, ["a", "b", "c"])
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        mbk.partial_fit(df.to_numpy())
    with pytest.raises(ValueError, match="The feature names should match"):
        mbk.partial_fit(df.rename(columns={"a": "z"}))


def _sk_messages(action):
    """The warnings (or the error) scikit-learn's KMeans gives for ``action``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            action(skc.KMeans(3, n_init=1, random_state=0))
        except ValueError as exc:
            return [("error", str(exc))]
    return [("warning", str(w.message)) for w in caught if w.category is UserWarning]


def _our_messages(Est, action):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            action(Est(3, n_init=1, random_state=0))
        except ValueError as exc:
            return [("error", str(exc).replace(Est.__name__, "KMeans"))]
    return [
        ("warning", str(w.message).replace(Est.__name__, "KMeans"))
        for w in caught
        if w.category is UserWarning
    ]


@needs_pandas
@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("method", ["predict", "transform", "score"])
@pytest.mark.parametrize(
    "case", ["same", "no-names", "names-not-fitted", "renamed", "reordered", "many-new"]
)
def test_feature_name_checks_as_sklearn(Est, method, case):
    df = _frame()
    wide = pd.DataFrame(_blobs(120, 9, seed=1), columns=[f"f{i}" for i in range(9)])
    fit_on, call_on = {
        "same": (df, df),
        "no-names": (df, df.to_numpy()),
        "names-not-fitted": (df.to_numpy(), df),
        "renamed": (df, df.rename(columns={"a": "z"})),
        "reordered": (df, df[["b", "a", "c"]]),
        "many-new": (
            wide,
            wide.rename(columns={f"f{i}": f"g{i}" for i in range(9)}),
        ),
    }[case]

    def action(est):
        getattr(est.fit(fit_on), method)(call_on)

    expected = _sk_messages(action)
    assert _our_messages(Est, action) == expected
    if case == "same":
        assert expected == []
    else:
        assert len(expected) == 1


@needs_pandas
def test_mixed_column_name_types_refused_as_sklearn():
    df = pd.DataFrame(_blobs(50), columns=["a", 1, "c"])
    with pytest.raises(TypeError) as theirs:
        skc.KMeans(2).fit(df)
    for Est in ESTIMATORS:
        with pytest.raises(TypeError) as ours:
            Est(2).fit(df)
        assert str(ours.value) == str(theirs.value)


@needs_pandas
@pytest.mark.parametrize("Est", ESTIMATORS)
def test_get_feature_names_out(Est):
    df = _frame()
    est = Est(3, random_state=0)
    with pytest.raises(NotFittedError):
        est.get_feature_names_out()
    est.fit(df)
    prefix = Est.__name__.lower()
    names = est.get_feature_names_out()
    np.testing.assert_array_equal(names, [f"{prefix}0", f"{prefix}1", f"{prefix}2"])
    assert names.dtype == object
    np.testing.assert_array_equal(est.get_feature_names_out(["a", "b", "c"]), names)
    with pytest.raises(ValueError, match="input_features is not equal to feature_names_in_"):
        est.get_feature_names_out(["a", "b", "x"])
    est.fit(df.to_numpy())
    with pytest.raises(
        ValueError, match=re.escape("input_features should have length equal to number of")
    ):
        est.get_feature_names_out(["a", "b"])
    if Est is not SphericalKMeans:
        sk = getattr(skc, Est.__name__)(3, random_state=0).fit(df)
        assert list(sk.get_feature_names_out()) == [f"{prefix}{i}" for i in range(3)]


@needs_pandas
@pytest.mark.parametrize("Est", ESTIMATORS)
def test_set_output_pandas(Est):
    df = _frame()
    df.index = df.index + 1000  # the output keeps the input's index
    est = Est(3, random_state=0).set_output(transform="pandas")
    out = est.fit_transform(df)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == list(est.get_feature_names_out())
    assert out.index.equals(df.index)
    np.testing.assert_allclose(out.to_numpy(), est.set_output(transform="default").transform(df))
    est.set_output(transform="pandas")
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        out = est.transform(df.to_numpy())
    assert isinstance(out, pd.DataFrame) and list(out.columns) == list(est.get_feature_names_out())
    assert isinstance(est.predict(df), np.ndarray)  # only transform's output is a frame


@needs_pandas
def test_set_output_global_config_and_pipeline():
    df = _frame()
    with sklearn.config_context(transform_output="pandas"):
        out = KMeans(3, random_state=0).fit_transform(df)
    assert isinstance(out, pd.DataFrame)
    pipe = make_pipeline(StandardScaler(), KMeans(3, random_state=0)).set_output(transform="pandas")
    out = pipe.fit_transform(df)
    assert list(out.columns) == ["kmeans0", "kmeans1", "kmeans2"]
    np.testing.assert_array_equal(pipe[-1].feature_names_in_, ["a", "b", "c"])


# ---------------------------------------------------------------------------
# pandas nullable dtypes and object arrays
# ---------------------------------------------------------------------------
@needs_pandas
@pytest.mark.parametrize("Est", ESTIMATORS)
def test_nullable_dtypes_accepted(Est):
    X = np.abs(_blobs(60, 3)).round() + 1.0
    df = pd.DataFrame(
        {
            "f": pd.array(X[:, 0], dtype="Float64"),
            "i": pd.array(X[:, 1].astype(int), dtype="Int64"),
            "b": pd.array(X[:, 2] > np.median(X[:, 2]), dtype="boolean"),
        }
    )
    ref = np.column_stack([X[:, 0], X[:, 1], (X[:, 2] > np.median(X[:, 2])).astype(float)])
    est = Est(3, random_state=0).fit(df)
    _same_fit(est, Est(3, random_state=0).fit(ref), rtol=0)
    assert est.cluster_centers_.dtype == np.float64
    np.testing.assert_array_equal(est.feature_names_in_, ["f", "i", "b"])


@needs_pandas
@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("dtype", ["Float64", "Int64", "boolean"])
def test_pd_na_reported_as_missing(Est, dtype):
    values = {"Float64": [1.0, 2.0], "Int64": [1, 2], "boolean": [True, False]}[dtype]
    col = pd.array([*values * 5, None], dtype=dtype)
    df = pd.DataFrame({"a": col, "b": pd.array(np.arange(11.0), dtype="Float64")})
    with pytest.raises(ValueError, match=re.escape("X contains missing values (NaN/pd.NA)")):
        Est(2).fit(df)
    # the same words for NaN in a pandas frame
    with pytest.raises(ValueError, match=re.escape("X contains missing values (NaN/pd.NA)")):
        Est(2).fit(pd.DataFrame({"a": [*np.arange(10.0), np.nan]}))


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_object_arrays(Est):
    X = _blobs(60)
    obj = X.astype(object)
    _same_fit(Est(3, random_state=0).fit(obj), Est(3, random_state=0).fit(X), rtol=0)
    est = Est(3, random_state=0).fit(X)
    np.testing.assert_array_equal(est.predict(obj), est.predict(X))
    np.testing.assert_array_equal(est.transform(obj), est.transform(X))
    text = obj.copy()
    text[0, 0] = "1.5"
    with pytest.raises(TypeError, match=r"holds text \('1.5'\)"):
        Est(3).fit(text)
    odd = obj.copy()
    odd[0, 0] = {"foo": "bar"}
    # scikit-learn's check_dtype_object matches NumPy's words
    with pytest.raises(TypeError, match=r"argument must be .* string.* number"):
        Est(3).fit(odd)


# ---------------------------------------------------------------------------
# weights: MiniBatchKMeans batches, weight units
# ---------------------------------------------------------------------------
def test_weight_unit_rows_integer_weights_are_repeated_rows():
    rng = np.random.RandomState(0)
    w = rng.randint(0, 5, size=40).astype(float)
    owner = np.repeat(np.arange(40), w.astype(int))
    for seed in range(5):
        got = weight_unit_rows(np.random.RandomState(seed), w, 40, 500)
        rep = weight_unit_rows(np.random.RandomState(seed), None, len(owner), 500)
        np.testing.assert_array_equal(got, owner[rep])
        assert np.all(w[got] > 0)
        # a power-of-two scale changes nothing
        scaled = weight_unit_rows(np.random.RandomState(seed), w * 2.0**-7, 40, 500)
        np.testing.assert_array_equal(scaled, got)
    # unit weights: floor(u * n) of the same uniform numbers
    u = np.random.RandomState(3).random_sample(100)
    np.testing.assert_array_equal(
        weight_unit_rows(np.random.RandomState(3), np.ones(40), 40, 100), (u * 40).astype(int)
    )


def test_minibatch_batches_follow_the_weights(monkeypatch):
    # zero-weight rows are never drawn into a batch, and the rows drawn count
    # once each (scikit-learn's way since 1.9)
    from kmeans_xp import _minibatch

    X = _blobs(500)
    w = np.zeros(500)
    w[::7] = np.arange(1, 73)
    seen = []
    real_step = _minibatch.minibatch_step

    def spy(batch, centers, counts):
        seen.append((to_numpy(batch.X), batch.weights))
        return real_step(batch, centers, counts)

    monkeypatch.setattr(_minibatch, "minibatch_step", spy)
    MiniBatchKMeans(3, batch_size=50, random_state=0, max_iter=2).fit(X, sample_weight=w)
    assert seen
    kept = X[w > 0]
    for rows, weights in seen:
        assert weights is None
        # every drawn row is a row of positive weight
        d = ((rows[:, None, :] - kept[None, :, :]) ** 2).sum(axis=2).min(axis=1)
        assert np.all(d == 0)


@pytest.mark.skipif(
    SKLEARN_VERSION < (1, 9), reason="scikit-learn draws weighted mini-batches since 1.9"
)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize(
    "params",
    [
        dict(),
        dict(init="random"),
        dict(batch_size=100, max_iter=3),
        dict(batch_size=50, tol=1e-3),
        dict(batch_size=64, compute_labels=False),
    ],
    ids=["default", "random", "short", "tol", "no-labels"],
)
def test_minibatch_same_as_sklearn(params, weighted):
    # every draw is scikit-learn's (validation rows, init rows, weighted
    # batches, reassignments), so a seed gives scikit-learn's clustering
    X = _blobs(2000, 4, 5, seed=0)
    w = np.random.RandomState(1).randint(1, 4, size=2000).astype(float) if weighted else None
    ours = MiniBatchKMeans(5, random_state=0, **params).fit(X, sample_weight=w)
    sk = skc.MiniBatchKMeans(5, random_state=0, **params).fit(X, sample_weight=w)
    assert ours.n_steps_ == sk.n_steps_ and ours.n_iter_ == sk.n_iter_
    np.testing.assert_allclose(ours.cluster_centers_, sk.cluster_centers_, rtol=1e-9, atol=1e-9)
    assert ours.inertia_ == pytest.approx(sk.inertia_, rel=1e-9)
    if params.get("compute_labels", True):
        np.testing.assert_array_equal(ours.labels_, sk.labels_)


def test_minibatch_inertia_estimate_in_the_weights_units():
    # without labels, inertia_ is the smoothed batch inertia times the total
    # weight (scikit-learn's estimate): a common factor of the weights scales it
    X = _blobs(2000, seed=2)
    w = np.random.RandomState(0).uniform(0.5, 1.5, 2000)
    params = dict(batch_size=100, compute_labels=False, random_state=0)
    a = MiniBatchKMeans(4, **params).fit(X, sample_weight=w)
    b = MiniBatchKMeans(4, **params).fit(X, sample_weight=w * 8.0)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    assert b.inertia_ == pytest.approx(8.0 * a.inertia_, rel=1e-12)
    exact = -MiniBatchKMeans(4, **params).fit(X, sample_weight=w).score(X, sample_weight=w)
    assert a.inertia_ == pytest.approx(exact, rel=0.2)


def test_minibatch_partial_fit_after_weighted_fit_keeps_units():
    # partial_fit after a weighted fit adds weights in the same units as the
    # fit's counts: weights scaled by a common factor give the same centers
    X = _blobs(1000, seed=4)
    w = np.random.RandomState(0).uniform(0.5, 1.5, 1000)
    a = MiniBatchKMeans(4, batch_size=100, random_state=0).fit(X, sample_weight=w)
    b = MiniBatchKMeans(4, batch_size=100, random_state=0).fit(X, sample_weight=w * 3.0)
    np.testing.assert_allclose(a.cluster_centers_, b.cluster_centers_, rtol=1e-10)
    a.partial_fit(X[:200], sample_weight=w[:200])
    b.partial_fit(X[:200], sample_weight=w[:200] * 3.0)
    np.testing.assert_allclose(a.cluster_centers_, b.cluster_centers_, rtol=1e-10)
    assert b.inertia_ == pytest.approx(3.0 * a.inertia_, rel=1e-10)


@pytest.mark.parametrize("Est", [KMeans, SphericalKMeans])
def test_integer_weights_equal_repeated_rows_in_order(Est):
    # k-means++ draws weight units through the running sum of the weights, so
    # integer weights and rows repeated in place give the same seeds and the
    # same clustering. (scikit-learn's check shuffles the weighted rows: see
    # EXPECTED_FAILED in test_sklearn_compat.py.)
    rng = np.random.RandomState(42)
    X = rng.rand(40, 6)
    w = rng.randint(0, 5, size=40)
    a = Est(4, random_state=0).fit(X, sample_weight=w)
    b = Est(4, random_state=0).fit(np.repeat(X, w, axis=0))
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    np.testing.assert_allclose(a.cluster_centers_, b.cluster_centers_, rtol=1e-12, atol=1e-12)
    _, idx = kmeans_plusplus(X, 6, sample_weight=w, random_state=1)
    _, idx_rep = kmeans_plusplus(np.repeat(X, w, axis=0), 6, random_state=1)
    np.testing.assert_array_equal(idx, np.repeat(np.arange(40), w)[idx_rep])
