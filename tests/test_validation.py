"""Bad input (issue 2): every case raises a clear error naming the problem.

Each test asserts the exception type *and* a fragment of the message, on every
backend where the input can be built.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from kmeans_xp import KMeans, NotFittedError, kmeans_plusplus


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
@pytest.mark.parametrize("bad, word", [(np.nan, "NaN"), (np.inf, "infinity"), (-np.inf, "infinity")])
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
    with pytest.raises(ValueError, match="empty.*0 samples"):
        KMeans(1).fit(backend.asarray(np.zeros((0, 3))))


def test_empty_X_no_features(backend):
    with pytest.raises(ValueError, match="empty.*0 features"):
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


def test_object_X():
    # object arrays only exist as host (NumPy / Python) data
    X = np.empty((4, 2), dtype=object)
    X[:] = 1.0
    with pytest.raises(TypeError, match="object"):
        KMeans(2).fit(X)


def test_ragged_list_X():
    with pytest.raises((TypeError, ValueError), match=r"X (could not be converted|has dtype object)"):
        KMeans(1).fit([[1.0, 2.0], [3.0]])


def test_string_X():
    with pytest.raises(TypeError, match="dtype"):
        KMeans(1).fit(np.array([["a", "b"], ["c", "d"]]))


def test_sparse_X():
    sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(TypeError, match="sparse"):
        KMeans(1).fit(sparse.csr_matrix(np.eye(3)))


# -------------------------------------------------------------- n_clusters
@pytest.mark.parametrize("k", [0, -1])
def test_n_clusters_below_one(backend, k):
    with pytest.raises(ValueError, match=r"n_clusters must be >= 1"):
        KMeans(k).fit(backend.asarray(_blobs()))


@pytest.mark.parametrize("k", [2.0, "3", None, True])
def test_n_clusters_not_int(k):
    with pytest.raises(TypeError, match=r"n_clusters must be an int"):
        KMeans(k).fit(_blobs())


def test_n_clusters_above_n_samples(backend):
    with pytest.raises(ValueError, match=r"n_clusters=6 is larger than the number of samples n_samples=5"):
        KMeans(6).fit(backend.asarray(_blobs(5)))


def test_kmeans_plusplus_n_clusters(backend):
    X = backend.asarray(_blobs(5))
    with pytest.raises(ValueError, match=r"n_clusters=6 is larger"):
        kmeans_plusplus(X, 6)
    with pytest.raises(ValueError, match=r"n_clusters must be >= 1"):
        kmeans_plusplus(X, 0)
    with pytest.raises(ValueError, match=r"n_local_trials must be >= 1"):
        kmeans_plusplus(X, 2, n_local_trials=0)


# ------------------------------------------------------------- parameters
@pytest.mark.parametrize("init", ["kmeans++", "farthest", ""])
def test_unknown_init(backend, init):
    with pytest.raises(ValueError, match=r"unknown init .*k-means\+\+"):
        KMeans(2, init=init).fit(backend.asarray(_blobs()))


def test_callable_init():
    with pytest.raises(TypeError, match=r"init.*callable"):
        KMeans(2, init=lambda X, k, random_state: X[:k]).fit(_blobs())


@pytest.mark.parametrize("algorithm", ["full", "bogus", ""])
def test_unknown_algorithm(backend, algorithm):
    with pytest.raises(ValueError, match=r"unknown algorithm .*lloyd"):
        KMeans(2, algorithm=algorithm).fit(backend.asarray(_blobs()))


@pytest.mark.parametrize(
    "params, exc, pattern",
    [
        ({"n_init": 0}, ValueError, r"n_init must be >= 1"),
        ({"n_init": "many"}, TypeError, r"n_init must be an int"),
        ({"n_init": 1.5}, TypeError, r"n_init must be an int"),
        ({"max_iter": 0}, ValueError, r"max_iter must be >= 1"),
        ({"max_iter": 10.0}, TypeError, r"max_iter must be an int"),
        ({"tol": -1e-3}, ValueError, r"tol must be a non-negative number"),
        ({"tol": float("nan")}, ValueError, r"tol must be a non-negative number"),
        ({"tol": "small"}, ValueError, r"tol must be a non-negative number"),
        ({"random_state": "seed"}, ValueError, r"random_state must be None, an int"),
        ({"random_state": 1.5}, ValueError, r"random_state must be None, an int"),
        ({"chunk_bytes": 0}, ValueError, r"chunk_bytes must be >= 1"),
    ],
)
def test_bad_parameters(params, exc, pattern):
    with pytest.raises(exc, match=pattern):
        KMeans(2, **params).fit(_blobs())


# ------------------------------------------------------------- init array
def test_init_array_wrong_shape(backend):
    X = _blobs(d=2)
    with pytest.raises(ValueError, match=re.escape("init array has shape (2, 2), expected (n_clusters, n_features) = (3, 2)")):
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


def test_sample_weight_from_other_library(backend):
    X = _blobs()
    with pytest.raises(TypeError, match=r"same array library"):
        KMeans(3, random_state=0).fit(backend.asarray(X), sample_weight=_foreign(backend, np.ones(len(X))))


def test_predict_with_other_library(backend):
    km = _fitted(backend)
    with pytest.raises(TypeError, match=r"same array library"):
        km.predict(_foreign(backend, _blobs(5)))
    with pytest.raises(TypeError, match=r"same array library"):
        km.transform(_foreign(backend, _blobs(5)))


def test_kmeans_plusplus_weight_from_other_library(backend):
    X = _blobs()
    with pytest.raises(TypeError, match=r"same array library"):
        kmeans_plusplus(backend.asarray(X), 2, sample_weight=_foreign(backend, np.ones(len(X))))


@pytest.mark.backends("array_api_strict")
def test_mixed_devices(backend):
    # array-api-strict emulates several devices on the CPU; other CPU backends have one.
    xs = backend.xp
    X = _blobs()
    Xa = xs.asarray(X, device=xs.Device("CPU_DEVICE"))
    other = xs.Device("device1")
    with pytest.raises(ValueError, match=r"same device"):
        KMeans(3, init=xs.asarray(X[:3], device=other)).fit(Xa)
    with pytest.raises(ValueError, match=r"same device"):
        KMeans(3, random_state=0).fit(Xa, sample_weight=xs.asarray(np.ones(len(X)), device=other))
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
    with pytest.raises(ValueError, match=re.escape("sample_weight must have shape (30,) to match X, got (29,)")):
        KMeans(2, random_state=0).fit(X, sample_weight=backend.asarray(np.ones(29)))


def test_sample_weight_2d(backend):
    X = backend.asarray(_blobs(30))
    with pytest.raises(ValueError, match=re.escape("sample_weight must have shape (30,) to match X, got (30, 1)")):
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
