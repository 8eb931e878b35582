"""Bad input (issue 2): every case raises a clear error naming the problem.

Each test asserts the exception type *and* a fragment of the message, on every
backend where the input can be built.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from kmeans_xp import KMeans, MiniBatchKMeans, NotFittedError, SphericalKMeans, kmeans_plusplus
from kmeans_xp._testing import assert_same_backend, to_numpy
from kmeans_xp._validation import (
    COMMON_CONSTRAINTS,
    KMEANS_CONSTRAINTS,
    MINIBATCH_CONSTRAINTS,
    SPHERICAL_CONSTRAINTS,
    Interval,
    InvalidParameterError,
    StrOptions,
    check_int,
    check_n_clusters,
    check_random_state,
    check_real,
    validate_params,
)

_INIT_TEXT = "a str among {'k-means++', 'k-means||', 'random'}, a callable or an array-like"
_RS_TEXT = (
    "an int in the range [0, 4294967295], an instance of 'numpy.random.mtrand.RandomState' or None"
)


def _expected(caller: str, param: str, value, allowed: str) -> str:
    return f"The {param!r} parameter of {caller} must be {allowed}. Got {value!r} instead."


def _blobs(n: int = 30, d: int = 2, seed: int = 0) -> np.ndarray:
    rng = np.random.RandomState(seed)
    return rng.normal(size=(n, d)) + 5.0 * (np.arange(n) % 3)[:, None]


def _fitted(backend, n: int = 30, d: int = 2, k: int = 3) -> KMeans:
    return KMeans(k, random_state=0).fit(backend.asarray(_blobs(n, d)))


def _foreign(backend, host: np.ndarray):
    """``host`` as an array of a library other than the backend's."""
    if backend.name == "numpy":
        xs = pytest.importorskip("array_api_strict")
        return xs.asarray(host)
    return np.asarray(host)


# --------------------------------------------------------------- X contents
@pytest.mark.parametrize(
    "bad, word", [(np.nan, "NaN"), (np.inf, "infinity"), (-np.inf, "infinity")]
)
def test_non_finite_X(backend, bad, word):
    X = _blobs()
    X[7, 1] = bad
    with pytest.raises(ValueError, match=word):
        KMeans(3, random_state=0).fit(backend.asarray(X))


@pytest.mark.parametrize("bad, word", [(np.nan, "NaN"), (np.inf, "infinity")])
def test_non_finite_X_predict_transform_score(backend, bad, word):
    km = _fitted(backend)
    X = _blobs(10)
    X[3, 0] = bad
    Xb = backend.asarray(X)
    for method in (km.predict, km.transform, km.score):
        with pytest.raises(ValueError, match=word):
            method(Xb)


def test_non_finite_X_kmeans_plusplus(backend):
    X = _blobs()
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        kmeans_plusplus(backend.asarray(X), 2, random_state=0)


def test_nan_in_float32_X(backend):
    X = _blobs().astype(np.float32)
    X[-1, -1] = np.nan
    with pytest.raises(ValueError, match=r"X contains NaN"):
        KMeans(2, random_state=0).fit(backend.asarray(X))


# ------------------------------------------------------------------ shapes
def test_empty_X_no_samples(backend):
    with pytest.raises(ValueError, match=r"empty.*0 samples"):
        KMeans(1).fit(backend.asarray(np.zeros((0, 3))))


def test_empty_X_no_features(backend):
    with pytest.raises(ValueError, match=r"empty.*0 features"):
        KMeans(1).fit(backend.asarray(np.zeros((5, 0))))


def test_1d_X(backend):
    with pytest.raises(ValueError, match=r"2-D.*got 1-D.*reshape"):
        KMeans(2).fit(backend.asarray(np.arange(10.0)))


def test_3d_X(backend):
    with pytest.raises(ValueError, match=r"2-D.*got 3-D"):
        KMeans(2).fit(backend.asarray(np.zeros((4, 2, 2))))


def test_0d_X(backend):
    with pytest.raises(ValueError, match=r"2-D.*got 0-D"):
        KMeans(1).fit(backend.asarray(np.float64(3.0)))


def test_predict_wrong_number_of_features(backend):
    km = _fitted(backend, d=2)
    for method in (km.predict, km.transform, km.score):
        with pytest.raises(ValueError, match=r"3 features.*fitted with 2 features"):
            method(backend.asarray(_blobs(5, 3)))


def test_predict_1d(backend):
    km = _fitted(backend)
    with pytest.raises(ValueError, match=r"2-D"):
        km.predict(backend.asarray(np.zeros(2)))


# ------------------------------------------------------------------ dtypes
def test_complex_X(backend):
    X = _blobs().astype(np.complex128)
    with pytest.raises(TypeError, match="complex"):
        KMeans(2).fit(backend.asarray(X))


def test_complex_X_predict(backend):
    km = _fitted(backend)
    with pytest.raises(TypeError, match="complex"):
        km.predict(backend.asarray(_blobs(5).astype(np.complex128)))


def test_object_X_of_numbers_is_converted():
    # object arrays only exist as host (NumPy / Python) data; numbers in them
    # are read as float64, as scikit-learn does
    X = _blobs()
    obj = X.astype(object)
    obj[0, 0] = 3  # mixed Python types (int and float)
    X[0, 0] = 3.0
    km = KMeans(3, random_state=0).fit(obj)
    ref = KMeans(3, random_state=0).fit(X)
    assert km.cluster_centers_.dtype == np.float64
    np.testing.assert_array_equal(km.cluster_centers_, ref.cluster_centers_)
    np.testing.assert_array_equal(km.labels_, ref.labels_)


@pytest.mark.parametrize(
    "entry, exc, pattern",
    [
        ("a", TypeError, r"X has dtype object and holds text \('a'\)"),
        ("1.5", TypeError, r"X has dtype object and holds text \('1.5'\)"),
        (b"x", TypeError, r"holds text"),
        (1 + 2j, TypeError, r"holds complex numbers"),
        (None, ValueError, r"X contains missing values \(NaN/pd.NA\)"),
        ([1.0], TypeError, r"holds list entries"),
    ],
)
def test_object_X_not_numbers(entry, exc, pattern):
    X = _blobs().astype(object)
    X[4, 1] = entry
    with pytest.raises(exc, match=pattern):
        KMeans(2).fit(X)


def test_ragged_list_X():
    with pytest.raises(
        (TypeError, ValueError), match=r"X (could not be converted|has dtype object)"
    ):
        KMeans(1).fit([[1.0, 2.0], [3.0]])


def test_string_X():
    with pytest.raises(TypeError, match="dtype"):
        KMeans(1).fit(np.array([["a", "b"], ["c", "d"]]))


# -------------------------------------------------------------- n_clusters
# Parameter errors are InvalidParameterError with scikit-learn's wording (see
# the constraint tables at the end of this file).
_K_TEXT = "an int in the range [1, inf)"


@pytest.mark.parametrize("k", [0, -1])
def test_n_clusters_below_one(backend, k):
    with pytest.raises(
        InvalidParameterError, match=re.escape(_expected("KMeans", "n_clusters", k, _K_TEXT))
    ):
        KMeans(k).fit(backend.asarray(_blobs()))


@pytest.mark.parametrize("k", [2.0, "3", None, True])
def test_n_clusters_not_int(k):
    with pytest.raises(
        InvalidParameterError, match=re.escape(_expected("KMeans", "n_clusters", k, _K_TEXT))
    ):
        KMeans(k).fit(_blobs())


def test_n_clusters_above_n_samples(backend):
    # scikit-learn's wording
    with pytest.raises(ValueError, match=re.escape("n_samples=5 should be >= n_clusters=6.")):
        KMeans(6).fit(backend.asarray(_blobs(5)))


def test_check_n_clusters_names_the_rows():
    with pytest.raises(
        ValueError, match=re.escape("n_samples=3 in the first batch should be >= n_clusters=8.")
    ):
        check_n_clusters(8, 3, "the first batch")
    assert check_n_clusters(3, 3) == 3
    assert check_n_clusters(np.int64(4), None) == 4


def test_kmeans_plusplus_n_clusters(backend):
    X = backend.asarray(_blobs(5))
    with pytest.raises(ValueError, match=re.escape("n_samples=5 should be >= n_clusters=6.")):
        kmeans_plusplus(X, 6)
    with pytest.raises(ValueError, match=r"n_clusters must be >= 1"):
        kmeans_plusplus(X, 0)
    with pytest.raises(ValueError, match=r"n_local_trials must be >= 1"):
        kmeans_plusplus(X, 2, n_local_trials=0)


# ------------------------------------------------------------- parameters
@pytest.mark.parametrize("init", ["kmeans++", "farthest", ""])
def test_unknown_init(backend, init):
    with pytest.raises(
        InvalidParameterError, match=re.escape(_expected("KMeans", "init", init, _INIT_TEXT))
    ):
        KMeans(2, init=init).fit(backend.asarray(_blobs()))


@pytest.mark.parametrize("algorithm", ["full", "bogus", ""])
def test_unknown_algorithm(backend, algorithm):
    allowed = "a str among {'auto', 'elkan', 'hamerly', 'lloyd'}"
    with pytest.raises(
        InvalidParameterError, match=re.escape(_expected("KMeans", "algorithm", algorithm, allowed))
    ):
        KMeans(2, algorithm=algorithm).fit(backend.asarray(_blobs()))


@pytest.mark.parametrize(
    "params, allowed",
    [
        ({"n_init": 1.5}, "a str among {'auto'} or an int in the range [1, inf)"),
        ({"tol": -1e-3}, "a float in the range [0.0, inf)"),
        ({"tol": "small"}, "a float in the range [0.0, inf)"),
        ({"random_state": "seed"}, _RS_TEXT),
        ({"chunk_bytes": 0.5}, "None or an int in the range [1, inf)"),
    ],
)
def test_bad_parameters(params, allowed):
    ((name, value),) = params.items()
    with pytest.raises(
        InvalidParameterError, match=re.escape(_expected("KMeans", name, value, allowed))
    ):
        KMeans(2, **params).fit(_blobs())


# ------------------------------------------------------------- init array
def test_init_array_wrong_shape(backend):
    X = _blobs(d=2)
    with pytest.raises(
        ValueError,
        match=re.escape("init array has shape (2, 2), expected (n_clusters, n_features) = (3, 2)"),
    ):
        KMeans(3, init=backend.asarray(X[:2])).fit(backend.asarray(X))
    with pytest.raises(ValueError, match=re.escape("init array has shape (3, 1)")):
        KMeans(3, init=backend.asarray(X[:3, :1])).fit(backend.asarray(X))


def test_init_array_1d(backend):
    X = _blobs(d=2)
    with pytest.raises(ValueError, match=r"init must be a 2-D array"):
        KMeans(1, init=backend.asarray(X[0])).fit(backend.asarray(X))


def test_init_array_nan(backend):
    X = _blobs(d=2)
    init = X[:3].copy()
    init[1, 0] = np.nan
    with pytest.raises(ValueError, match=r"init contains NaN"):
        KMeans(3, init=backend.asarray(init)).fit(backend.asarray(X))


def test_init_array_complex(backend):
    X = _blobs(d=2)
    with pytest.raises(TypeError, match=r"init has dtype .*complex"):
        KMeans(3, init=backend.asarray(X[:3].astype(np.complex128))).fit(backend.asarray(X))


# ----------------------------------------------------- mixed namespaces
def test_init_from_other_library(backend):
    X = _blobs()
    if backend.lazy:
        # Dask keeps its centers as NumPy arrays, so a NumPy init is accepted
        # (tested below); any other library is foreign
        xs = pytest.importorskip("array_api_strict")
        foreign = xs.asarray(X[:3])
    else:
        foreign = _foreign(backend, X[:3])
    with pytest.raises(TypeError, match=r"same array library"):
        KMeans(3, init=foreign).fit(backend.asarray(X))


@pytest.mark.backends("dask")
def test_dask_accepts_numpy_init(backend):
    X = _blobs()
    km = KMeans(3, init=X[:3]).fit(backend.asarray(X))
    ref = KMeans(3, init=X[:3]).fit(X)
    np.testing.assert_array_equal(np.asarray(km.labels_), ref.labels_)


def _weights(n: int) -> np.ndarray:
    return 1.0 + np.arange(n) % 3


def test_sample_weight_from_other_library_follows_X(backend):
    # as in scikit-learn ("everything follows X"): weights of another library
    # are copied to X's library and device; the same fit as with X's own
    X = _blobs()
    w = _weights(len(X))
    Xb = backend.asarray(X)
    km = KMeans(3, random_state=0).fit(Xb, sample_weight=_foreign(backend, w))
    ref = KMeans(3, random_state=0).fit(Xb, sample_weight=backend.asarray(w))
    assert_same_backend(km.cluster_centers_, Xb)
    np.testing.assert_array_equal(to_numpy(km.labels_), to_numpy(ref.labels_))
    np.testing.assert_array_equal(to_numpy(km.cluster_centers_), to_numpy(ref.cluster_centers_))
    assert km.score(Xb, sample_weight=_foreign(backend, w)) == ref.score(
        Xb, sample_weight=backend.asarray(w)
    )


def test_predict_with_other_library(backend):
    # the fitted centers tell the library (see also tests/test_hostile.py)
    km = _fitted(backend)
    with pytest.raises(
        TypeError, match=r"KMeans was fitted on \w+ arrays; pass \w+ input or refit"
    ):
        km.predict(_foreign(backend, _blobs(5)))
    with pytest.raises(
        TypeError, match=r"KMeans was fitted on \w+ arrays; pass \w+ input or refit"
    ):
        km.transform(_foreign(backend, _blobs(5)))


def test_kmeans_plusplus_weight_from_other_library_follows_X(backend):
    X = _blobs()
    w = _weights(len(X))
    Xb = backend.asarray(X)
    centers, idx = kmeans_plusplus(Xb, 2, sample_weight=_foreign(backend, w), random_state=0)
    ref, ref_idx = kmeans_plusplus(Xb, 2, sample_weight=backend.asarray(w), random_state=0)
    np.testing.assert_array_equal(to_numpy(centers), to_numpy(ref))
    assert_same_backend(centers, Xb)
    np.testing.assert_array_equal(to_numpy(idx), to_numpy(ref_idx))


@pytest.mark.backends("array_api_strict")
def test_mixed_devices(backend):
    # array-api-strict emulates several devices on the CPU; other CPU backends have one.
    xs = backend.xp
    X = _blobs()
    Xa = xs.asarray(X, device=xs.Device("CPU_DEVICE"))
    other = xs.Device("device1")
    with pytest.raises(ValueError, match=r"same device"):
        KMeans(3, init=xs.asarray(X[:3], device=other)).fit(Xa)
    # sample_weight follows X's device (as in scikit-learn)
    w = np.ones(len(X))
    km = KMeans(3, random_state=0).fit(Xa, sample_weight=xs.asarray(w, device=other))
    assert km.cluster_centers_.device == Xa.device
    km = KMeans(3, random_state=0).fit(Xa)
    with pytest.raises(ValueError, match=r"same device"):
        km.predict(xs.asarray(X, device=other))


@pytest.mark.backends("torch")
def test_mixed_devices_torch(backend):
    # the 'meta' device exists in every torch build; the check must fire before any compute
    torch = pytest.importorskip("torch")
    X = torch.asarray(_blobs())
    init = torch.empty((3, 2), dtype=X.dtype, device="meta")
    with pytest.raises(ValueError, match=r"same device"):
        KMeans(3, init=init).fit(X)


# ---------------------------------------------------------- sample_weight
def test_sample_weight_wrong_length(backend):
    X = backend.asarray(_blobs(30))
    with pytest.raises(
        ValueError, match=re.escape("sample_weight must have shape (30,) to match X, got (29,)")
    ):
        KMeans(2, random_state=0).fit(X, sample_weight=backend.asarray(np.ones(29)))


def test_sample_weight_2d(backend):
    X = backend.asarray(_blobs(30))
    with pytest.raises(
        ValueError, match=re.escape("sample_weight must have shape (30,) to match X, got (30, 1)")
    ):
        KMeans(2, random_state=0).fit(X, sample_weight=backend.asarray(np.ones((30, 1))))


def test_sample_weight_negative(backend):
    w = np.ones(30)
    w[4] = -0.5
    with pytest.raises(ValueError, match=r"sample_weight has negative values"):
        KMeans(2, random_state=0).fit(backend.asarray(_blobs(30)), sample_weight=backend.asarray(w))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_sample_weight_non_finite(backend, bad):
    w = np.ones(30)
    w[-1] = bad
    with pytest.raises(ValueError, match=r"sample_weight contains NaN or infinity"):
        KMeans(2, random_state=0).fit(backend.asarray(_blobs(30)), sample_weight=backend.asarray(w))


def test_sample_weight_all_zero(backend):
    with pytest.raises(ValueError, match=r"sample_weight is all zero"):
        KMeans(2, random_state=0).fit(
            backend.asarray(_blobs(30)), sample_weight=backend.asarray(np.zeros(30))
        )


def test_sample_weight_scalar_zero_and_negative():
    with pytest.raises(ValueError, match=r"sample_weight is all zero"):
        KMeans(2, random_state=0).fit(_blobs(30), sample_weight=0.0)
    with pytest.raises(ValueError, match=r"sample_weight has negative values"):
        KMeans(2, random_state=0).fit(_blobs(30), sample_weight=-1.0)


def test_sample_weight_complex(backend):
    w = np.ones(30, dtype=np.complex128)
    with pytest.raises(TypeError, match=r"sample_weight has dtype .*expected real numbers"):
        KMeans(2, random_state=0).fit(backend.asarray(_blobs(30)), sample_weight=backend.asarray(w))


def test_sample_weight_bad_in_predict_and_score(backend):
    km = _fitted(backend)
    X = backend.asarray(_blobs(10))
    with pytest.raises(ValueError, match=r"sample_weight must have shape \(10,\)"):
        km.predict(X, sample_weight=backend.asarray(np.ones(3)))
    with pytest.raises(ValueError, match=r"sample_weight has negative values"):
        km.score(X, sample_weight=backend.asarray(-np.ones(10)))


def test_kmeans_plusplus_bad_sample_weight(backend):
    X = backend.asarray(_blobs(30))
    with pytest.raises(ValueError, match=r"sample_weight is all zero"):
        kmeans_plusplus(X, 2, sample_weight=backend.asarray(np.zeros(30)))
    with pytest.raises(ValueError, match=r"sample_weight must have shape \(30,\)"):
        kmeans_plusplus(X, 2, sample_weight=backend.asarray(np.ones(31)))


# ---------------------------------------------------------------- not fitted
def test_not_fitted(backend):
    km = KMeans(2)
    X = backend.asarray(_blobs(5))
    for method in (km.predict, km.transform, km.score):
        with pytest.raises(NotFittedError, match=r"not fitted yet; call fit first"):
            method(X)
    # scikit-learn's contract: both a ValueError and an AttributeError
    with pytest.raises(ValueError):
        km.predict(X)
    with pytest.raises(AttributeError):
        km.predict(X)
    assert not hasattr(km, "labels_")


def test_failed_fit_leaves_estimator_unfitted(backend):
    X = _blobs()
    X[2, 0] = np.nan
    km = KMeans(2, random_state=0)
    with pytest.raises(ValueError, match="NaN"):
        km.fit(backend.asarray(X))
    with pytest.raises(NotFittedError):
        km.predict(backend.asarray(_blobs(4)))


# ------------------------------------- declared parameter constraints (issue 10)
ESTIMATORS = {
    "KMeans": (KMeans, KMEANS_CONSTRAINTS),
    "MiniBatchKMeans": (MiniBatchKMeans, MINIBATCH_CONSTRAINTS),
    "SphericalKMeans": (SphericalKMeans, SPHERICAL_CONSTRAINTS),
}
# (parameter, bad value, what the message says the parameter must be)
BAD_PARAMS = [
    ("tol", "x", "a float in the range [0.0, inf)"),
    ("tol", -1, "a float in the range [0.0, inf)"),
    ("tol", float("inf"), "a float in the range [0.0, inf)"),  # as scikit-learn
    ("tol", float("nan"), "a float in the range [0.0, inf)"),
    ("max_iter", 0, "an int in the range [1, inf)"),
    ("max_iter", 10.0, "an int in the range [1, inf)"),
    ("n_init", 0, "a str among {'auto'} or an int in the range [1, inf)"),
    ("n_init", "many", "a str among {'auto'} or an int in the range [1, inf)"),
    ("init", None, _INIT_TEXT),
    ("init", "bogus", _INIT_TEXT),
    ("random_state", -1, _RS_TEXT),
    ("random_state", 2**32, _RS_TEXT),
    ("random_state", 1.5, _RS_TEXT),
    (
        "verbose",
        "yes",
        "an int in the range [0, inf), an instance of 'bool' or an instance of 'numpy.bool'",
    ),
    (
        "verbose",
        -1,
        "an int in the range [0, inf), an instance of 'bool' or an instance of 'numpy.bool'",
    ),
    ("chunk_bytes", 0, "None or an int in the range [1, inf)"),
    ("n_clusters", 0, "an int in the range [1, inf)"),
    ("n_clusters", 2.5, "an int in the range [1, inf)"),
    ("n_clusters", True, "an int in the range [1, inf)"),
]
_BAD_IDS = [f"{p}={v!r}" for p, v, _ in BAD_PARAMS]


def _raised(fn) -> BaseException:
    with pytest.raises(InvalidParameterError) as info:
        fn()
    # scikit-learn's contract: both a ValueError and a TypeError
    assert isinstance(info.value, ValueError) and isinstance(info.value, TypeError)
    return info.value


@pytest.mark.parametrize("estimator", list(ESTIMATORS))
@pytest.mark.parametrize("param, value, allowed", BAD_PARAMS, ids=_BAD_IDS)
def test_bad_parameter_same_error_on_every_estimator(estimator, param, value, allowed):
    """The same mistake: the same exception type and message on all three
    estimators, raised by ``fit`` before any work (the shared base calls
    ``validate_params`` with the estimator's constraint table)."""
    cls, _ = ESTIMATORS[estimator]
    exc = _raised(lambda: cls(**{"n_clusters": 2, param: value}).fit(_blobs()))
    assert str(exc) == _expected(estimator, param, value, allowed)


@pytest.mark.parametrize("estimator", list(ESTIMATORS))
@pytest.mark.parametrize("param, value, allowed", BAD_PARAMS, ids=_BAD_IDS)
def test_validate_params_tables(estimator, param, value, allowed):
    """The same, on the constraint tables themselves: every estimator's table
    gives the shared parameters the same constraints."""
    cls, constraints = ESTIMATORS[estimator]
    params = {**cls().get_params(), param: value}
    exc = _raised(lambda: validate_params(params, constraints, caller=estimator))
    assert str(exc) == _expected(estimator, param, value, allowed)


@pytest.mark.parametrize("estimator", list(ESTIMATORS))
def test_constraint_tables_cover_every_parameter(estimator):
    cls, constraints = ESTIMATORS[estimator]
    assert set(constraints) == set(cls().get_params())
    assert {name: constraints[name] for name in COMMON_CONSTRAINTS} == COMMON_CONSTRAINTS


@pytest.mark.parametrize("estimator", list(ESTIMATORS))
def test_valid_parameters_pass(estimator):
    cls, constraints = ESTIMATORS[estimator]
    validate_params(cls().get_params(), constraints, caller=estimator)
    good = {
        "n_clusters": [1, np.int64(3)],
        "init": ["k-means++", "k-means||", "random", np.zeros((2, 2)), [[0.0, 1.0]], _blobs],
        "n_init": ["auto", 1, np.int32(5)],
        "max_iter": [1, 10**9],
        "tol": [0, 0.0, 1e-4, 1e300, np.float32(1e-3)],
        "verbose": [0, 2, True, False, np.bool_(True)],
        "random_state": [None, 0, 2**32 - 1, np.int64(7), np.random.RandomState(0)],
        "chunk_bytes": [None, 1, 2**40],
    }
    for name, values in good.items():
        for value in values:
            validate_params({name: value}, constraints, caller=estimator)


def test_own_parameters():
    validate_params({"algorithm": "elkan"}, KMEANS_CONSTRAINTS, caller="KMeans")
    exc = _raised(
        lambda: validate_params({"algorithm": "full"}, KMEANS_CONSTRAINTS, caller="KMeans")
    )
    assert str(exc) == _expected(
        "KMeans", "algorithm", "full", "a str among {'auto', 'elkan', 'hamerly', 'lloyd'}"
    )
    ok = {
        "batch_size": 1,
        "compute_labels": np.bool_(False),
        "max_no_improvement": None,
        "init_size": None,
        "reassignment_ratio": 0,
    }
    validate_params(ok, MINIBATCH_CONSTRAINTS, caller="MiniBatchKMeans")
    validate_params({"max_no_improvement": 0, "init_size": 3}, MINIBATCH_CONSTRAINTS, caller="M")
    for name, value in [
        ("batch_size", 0),
        ("compute_labels", 1),
        ("max_no_improvement", -1),
        ("init_size", 0),
        ("reassignment_ratio", -0.5),
        ("reassignment_ratio", float("inf")),
    ]:
        with pytest.raises(InvalidParameterError) as info:
            validate_params({name: value}, MINIBATCH_CONSTRAINTS, caller="MiniBatchKMeans")
        assert str(info.value).startswith(f"The {name!r} parameter of MiniBatchKMeans must be ")
    # a parameter of one estimator is unknown to the others' tables (not checked there)
    validate_params({"algorithm": "full"}, SPHERICAL_CONSTRAINTS, caller="SphericalKMeans")


def test_messages_match_scikit_learn():
    """Where scikit-learn has the same constraint, our message is its message."""
    pytest.importorskip("sklearn")
    from sklearn.cluster import MiniBatchKMeans as SkMiniBatch
    from sklearn.utils._param_validation import (
        InvalidParameterError as SkInvalidParameterError,
    )
    from sklearn.utils._param_validation import validate_parameter_constraints

    assert issubclass(InvalidParameterError, SkInvalidParameterError)
    cases = [(p, v) for p, v, _ in BAD_PARAMS if p != "init" and not isinstance(v, bool)]
    cases += [
        ("batch_size", 0),
        ("compute_labels", "yes"),
        ("max_no_improvement", -1),
        ("init_size", 0),
        ("reassignment_ratio", -1.0),
    ]
    for name, value in cases:
        if name == "chunk_bytes":
            continue  # ours only
        with pytest.raises(SkInvalidParameterError) as theirs:
            validate_parameter_constraints(
                SkMiniBatch._parameter_constraints, {name: value}, "MiniBatchKMeans"
            )
        with pytest.raises(InvalidParameterError) as ours:
            validate_params({name: value}, MINIBATCH_CONSTRAINTS, caller="MiniBatchKMeans")
        assert str(ours.value) == str(theirs.value)


def test_interval():
    Integral, Real = __import__("numbers").Integral, __import__("numbers").Real
    half_open = Interval(Real, 0, None, closed="left")
    closed_inf = Interval(Real, 0, None, closed="both")
    ints = Interval(Integral, 1, 5, closed="right")
    assert str(half_open) == "a float in the range [0.0, inf)"
    assert str(ints) == "an int in the range (1, 5]"
    assert str(Interval(Real, None, 1, closed="neither")) == "a float in the range (-inf, 1.0)"
    assert half_open.is_satisfied_by(0) and half_open.is_satisfied_by(np.float32(2.5))
    # inf only where the interval holds it; NaN and bools never
    assert not half_open.is_satisfied_by(float("inf"))
    assert closed_inf.is_satisfied_by(float("inf"))
    assert not closed_inf.is_satisfied_by(float("nan"))
    assert not half_open.is_satisfied_by(True) and not ints.is_satisfied_by(np.bool_(True))
    assert not ints.is_satisfied_by(1) and ints.is_satisfied_by(5) and not ints.is_satisfied_by(6)
    assert not ints.is_satisfied_by(3.0)
    assert str(StrOptions({"b", "a"})) == "a str among {'a', 'b'}"
    with pytest.raises(ValueError):
        Interval(Real, 1, 0, closed="both")


def test_check_helpers_raise_invalid_parameter_error():
    with pytest.raises(InvalidParameterError, match=r"n_init must be an int, got bool True"):
        check_int(True, "n_init", 1)
    with pytest.raises(InvalidParameterError, match=r"n_init must be >= 1, got 0"):
        check_int(0, "n_init", 1)
    with pytest.raises(InvalidParameterError, match=r"tol must be a finite number >= 0.0, got inf"):
        check_real(float("inf"), "tol")
    for seed in (-1, 2**32, "seed", True):
        with pytest.raises(
            InvalidParameterError,
            match=r"random_state must be None, an int in the range \[0, 4294967295\]",
        ):
            check_random_state(seed)
    rs = np.random.RandomState(3)
    assert check_random_state(rs) is rs
    assert check_random_state(2**32 - 1).randint(10) == np.random.RandomState(2**32 - 1).randint(10)
