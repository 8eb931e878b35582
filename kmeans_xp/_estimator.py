"""Public estimator: parameter checks, the n_init loop, results in the input's namespace."""

from __future__ import annotations

import numbers
from dataclasses import replace
import sys
import time
import warnings
from contextlib import contextmanager
from typing import Any, Iterator

import numpy as np

from . import _backend
from ._assign import Data, assign, chunk_size_for, column_mean_var, inertia_and_sizes, needs_offset
from ._assign import transform as _transform
from ._base import BaseEstimator, ClusterMixin, TransformerMixin
from ._init import init_random, kmeans_parallel
from ._init import kmeans_plusplus as _kmeans_plusplus
from ._hamerly import HamerlyStep
from ._lloyd import LloydStep, lloyd_single
from ._validation import (
    ConvergenceWarning,
    NotFittedError,
    check_data,
    check_init_array,
    check_init_n_init,
    check_int,
    check_n_clusters,
    is_array_init,
    check_random_state,
    check_sample_weight,
    get_namespace,
)

_INITS = ("k-means++", "k-means||", "random")
_ALGORITHMS = ("lloyd", "hamerly", "elkan", "auto")


@contextmanager
def _memory_advice(data: Data, k: int, chunk_bytes: int | None) -> Iterator[None]:
    """Turn the array library's out-of-memory error into one that says how to fit."""
    try:
        yield
    except Exception as exc:
        if not _backend.is_out_of_memory(exc):
            raise
        itemsize = 8 if data.dtype == getattr(data.xp, "float64", None) else 4
        budget = data.chunk * (k + data.d) * itemsize
        raise MemoryError(
            f"out of memory on {data.device!r} with {data.chunk} rows per chunk "
            f"(about {budget / 2**20:.0f} MiB of temporaries for {k} clusters); pass a "
            f"smaller memory budget, for example chunk_bytes={max(1, min(budget // 8, 2**28))} "
            f"(now {chunk_bytes if chunk_bytes is not None else 'automatic'}), or free "
            "device memory"
        ) from exc


class KMeans(ClusterMixin, TransformerMixin, BaseEstimator):
    """K-Means clustering on any Array API library (NumPy, CuPy, torch, JAX, Dask).

    The same seed gives the same initial centers on every backend; results come
    back in the namespace, dtype and device of the input.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters.
    init : {"k-means++", "k-means||", "random"} or array of shape (n_clusters, n_features)
        Initialisation: greedy k-means++, k-means|| (scalable k-means++: a few
        oversampling passes over the data, then weighted k-means++ on the
        candidates), k samples drawn at random, or the given centers (an array
        of the same library and device as ``X``; for a Dask ``X``, a NumPy
        array is accepted too). For Dask arrays "k-means++" is replaced by
        "k-means||", which needs 5 passes over the data instead of n_clusters;
        for greedy k-means++ on Dask, pass ``kmeans_plusplus(X, k)[0]``.
    n_init : "auto" or int, default="auto"
        Number of initialisations; the run with the lowest inertia is kept.
        "auto" means 1 for k-means++, k-means|| or an array, 10 for random.
    max_iter : int, default=300
        Maximum number of iterations of one run.
    tol : float, default=1e-4
        Relative tolerance: a run stops when the total squared center shift is at
        most ``tol`` times the mean per-feature variance of ``X``.
    verbose : int, default=0
        Print one line per iteration (inertia, center shift, elapsed) on stderr.
    random_state : None, int or numpy.random.RandomState
        Seed of the host random number generator.
    algorithm : {"lloyd", "hamerly", "auto"}, default="lloyd"
        The iteration used. "hamerly" keeps per-sample distance bounds and skips
        the samples that cannot change cluster: the same labels and centers as
        "lloyd", with fewer distance computations. "elkan" is accepted as an
        alias of "hamerly" (scikit-learn's name for its bounded algorithm).
        "auto" picks "hamerly" for 8 or more clusters on NumPy, CuPy, torch and
        array-api-strict, and "lloyd" otherwise (JAX's eager mode recompiles for
        every subset size, and Dask's cost is the pass itself). On JAX
        "hamerly" gives the same results but is slower than "lloyd".
    chunk_bytes : int or None, default=None
        Memory budget in bytes for one row chunk's temporaries. None picks a
        cache-sized block on the CPU and a fraction of free memory on a GPU.

    Attributes
    ----------
    cluster_centers_ : array of shape (n_clusters, n_features)
    labels_ : array of shape (n_samples,)
    inertia_ : float
        Weighted sum of squared distances of samples to their closest center.
    n_iter_ : int
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from kmeans_xp import KMeans
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [10, 2], [10, 4], [10, 0]])
    >>> km = KMeans(n_clusters=2, random_state=0).fit(X)
    >>> sorted(km.cluster_centers_.tolist())
    [[1.0, 2.0], [10.0, 2.0]]
    >>> km.predict(np.array([[0, 0], [12, 3]])).tolist() == [km.labels_[0], km.labels_[3]]
    True
    """

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        init: Any = "k-means++",
        n_init: Any = "auto",
        max_iter: int = 300,
        tol: float = 1e-4,
        verbose: int = 0,
        random_state: Any = None,
        algorithm: str = "lloyd",
        chunk_bytes: int | None = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.verbose = verbose
        self.random_state = random_state
        self.algorithm = algorithm
        self.chunk_bytes = chunk_bytes

    # ------------------------------------------------------------------ checks
    def _check_params(self, n_samples: int) -> tuple[int, int]:
        k = check_n_clusters(self.n_clusters, n_samples)
        check_int(self.max_iter, "max_iter", 1)
        if isinstance(self.tol, bool) or not isinstance(self.tol, numbers.Real) or not (
            self.tol >= 0
        ):
            raise ValueError(f"tol must be a non-negative number, got {self.tol!r}")
        if self.algorithm not in _ALGORITHMS:
            raise ValueError(
                f"unknown algorithm {self.algorithm!r}; expected one of {list(_ALGORITHMS)}"
            )
        if self.chunk_bytes is not None:
            check_int(self.chunk_bytes, "chunk_bytes", 1)
        n_init = check_init_n_init(self.init, self.n_init, _INITS, random_n_init=10)
        return k, n_init

    def _make_data(self, xp: Any, X: Any, w: Any, device: Any, offset: Any, k: int) -> Data:
        chunk = chunk_size_for(xp, X, device, k, self.chunk_bytes)
        return Data(
            xp=xp, X=X, weights=w, offset=offset, device=device, chunk=chunk, chunk_cols=k
        )

    def _check_fitted(self) -> None:
        if not hasattr(self, "cluster_centers_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet; call fit first"
            )

    # --------------------------------------------------------------------- fit
    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> "KMeans":
        """Compute the clustering of ``X`` (n_samples, n_features)."""
        init = self.init
        # Dask keeps its centers as NumPy arrays: a NumPy init is its own kind
        host_init = (
            is_array_init(init) and isinstance(init, np.ndarray) and _backend.is_lazy_array(X)
        )
        xp, device = get_namespace(
            X, sample_weight, init if is_array_init(init) and not host_init else None
        )
        if host_init:
            init = xp.asarray(init)
        X = check_data(xp, X, device)
        n, d = int(X.shape[0]), int(X.shape[1])
        k, n_init = self._check_params(n)
        w = check_sample_weight(xp, sample_weight, n, X.dtype, device)
        if is_array_init(init):
            init = check_init_array(xp, init, k, d, X.dtype, device)
        rs = check_random_state(self.random_state)

        X = _backend.prepare_rows(xp, X)
        sxp = _backend.small_namespace(xp)
        data = self._make_data(xp, X, w, device, None, k)
        mean, var = column_mean_var(data)
        tol = float(sxp.mean(var)) * float(self.tol)
        offset = mean if needs_offset(sxp, mean, var) else None
        data = replace(data, offset=offset)
        if is_array_init(init) and sxp is not xp:
            init = sxp.asarray(_backend.to_host(xp, init))
        method = init
        if isinstance(init, str) and init == "k-means++" and _backend.is_lazy(xp):
            method = "k-means||"

        with _memory_advice(data, k, self.chunk_bytes):
            inertia, labels, centers, n_iter, n_distinct = self._best_run(
                data, init, method, k, n_init, rs, tol
            )

        if n_distinct < k:
            warnings.warn(
                f"Number of distinct clusters ({n_distinct}) found smaller than "
                f"n_clusters ({k}). Possibly due to duplicate points in X.",
                ConvergenceWarning,
                stacklevel=2,
            )
        if offset is not None:
            centers = centers + offset
        self._offset = offset
        self.cluster_centers_ = centers if sxp is xp else xp.asarray(centers)
        self.labels_ = labels
        self.inertia_ = inertia
        self.n_iter_ = n_iter
        self.n_features_in_ = d
        return self

    def _best_run(
        self, data: Data, init: Any, method: Any, k: int, n_init: int,
        rs: np.random.RandomState, tol: float,
    ) -> tuple[float, Any, Any, int, int]:
        """``n_init`` runs from successive initialisations; the lowest inertia wins."""
        report = self._reporter(data) if self.verbose else None
        best = None
        for _ in range(n_init):
            if is_array_init(init):
                centers0 = init if data.offset is None else init - data.offset
            elif method == "random":
                centers0 = init_random(data, k, rs)
            elif method == "k-means||":
                centers0 = kmeans_parallel(data, k, rs)
            else:
                centers0, _ = _kmeans_plusplus(data, k, rs)
            labels, inertia, centers, n_iter, n_distinct = lloyd_single(
                data, centers0, max_iter=self.max_iter, tol=tol, report=report,
                step=self._step(data, k),
            )
            if best is None or inertia < best[0]:
                best = (inertia, labels, centers, n_iter, n_distinct)
        return best

    def _step(self, data: Data, k: int) -> Any:
        algorithm = self.algorithm
        if algorithm == "auto":
            algorithm = "hamerly" if k >= 8 and _backend.prunes_well(data.xp) else "lloyd"
        if algorithm in ("hamerly", "elkan") and k > 1:
            return HamerlyStep(data)
        return LloydStep(data)

    def _reporter(self, data: Data):
        start = time.perf_counter()

        def report(n_iter: int, labels: Any, centers: Any, shift: float) -> None:
            value, _ = inertia_and_sizes(data, centers, labels)
            print(
                f"Iteration {n_iter}: inertia {value:.6g}, center shift {shift:.3g}, "
                f"elapsed {time.perf_counter() - start:.2f}s",
                file=sys.stderr,
            )

        return report

    # ------------------------------------------------------------- after fit
    def _prepare(self, X: Any, sample_weight: Any = None) -> tuple[Any, Data]:
        self._check_fitted()
        centers = self.cluster_centers_
        xp, device = get_namespace(X, sample_weight, centers)
        X = check_data(
            xp, X, device, dtype=centers.dtype, n_features=self.n_features_in_,
            estimator=type(self).__name__,
        )
        X = _backend.prepare_rows(xp, X)
        w = check_sample_weight(xp, sample_weight, int(X.shape[0]), X.dtype, device)
        data = self._make_data(xp, X, w, device, self._offset, int(centers.shape[0]))
        if data.sxp is not xp:
            centers = data.sxp.asarray(_backend.to_host(xp, centers))
        shifted = centers if self._offset is None else centers - self._offset
        return shifted, data

    def predict(self, X: Any, sample_weight: Any = None) -> Any:
        """Index of the closest center for each sample."""
        centers, data = self._prepare(X, sample_weight)
        with _memory_advice(data, int(centers.shape[0]), self.chunk_bytes):
            return assign(data, centers)

    def fit_predict(self, X: Any, y: Any = None, sample_weight: Any = None) -> Any:
        return self.fit(X, sample_weight=sample_weight).labels_

    def transform(self, X: Any) -> Any:
        """Euclidean distance of each sample to each center, (n_samples, n_clusters)."""
        centers, data = self._prepare(X)
        with _memory_advice(data, int(centers.shape[0]), self.chunk_bytes):
            return _transform(data, centers)

    def fit_transform(self, X: Any, y: Any = None, sample_weight: Any = None) -> Any:
        return self.fit(X, sample_weight=sample_weight).transform(X)

    def score(self, X: Any, y: Any = None, sample_weight: Any = None) -> float:
        """Opposite of the weighted inertia of ``X`` against the fitted centers."""
        centers, data = self._prepare(X, sample_weight)
        with _memory_advice(data, int(centers.shape[0]), self.chunk_bytes):
            value, _ = inertia_and_sizes(data, centers, assign(data, centers))
        return -value


def kmeans_plusplus(
    X: Any,
    n_clusters: int,
    *,
    sample_weight: Any = None,
    random_state: Any = None,
    n_local_trials: int | None = None,
) -> tuple[Any, Any]:
    """Greedy k-means++ seeding, as scikit-learn's ``kmeans_plusplus``.

    Returns ``(centers, indices)`` in the namespace and on the device of ``X``.

    Examples
    --------
    >>> import numpy as np
    >>> from kmeans_xp import kmeans_plusplus
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [10, 2], [10, 4], [10, 0]])
    >>> centers, indices = kmeans_plusplus(X, n_clusters=2, random_state=0)
    >>> centers.shape, indices.shape
    ((2, 2), (2,))
    """
    xp, device = get_namespace(X, sample_weight)
    X = check_data(xp, X, device)
    n = int(X.shape[0])
    k = check_n_clusters(n_clusters, n)
    if n_local_trials is not None:
        check_int(n_local_trials, "n_local_trials", 1)
    w = check_sample_weight(xp, sample_weight, n, X.dtype, device)
    X = _backend.prepare_rows(xp, X)
    chunk = chunk_size_for(xp, X, device, 16, None)
    data = Data(xp=xp, X=X, weights=w, offset=None, device=device, chunk=chunk, chunk_cols=16)
    centers, idx = _kmeans_plusplus(data, k, check_random_state(random_state), n_local_trials)
    if data.sxp is not xp:
        centers = xp.asarray(centers)
    return centers, _backend.from_host(xp, idx, device)
