"""Spherical (cosine) K-Means. Pure Array API: the algorithm takes ``xp``.

Samples and centers are scaled to unit length; a sample goes to the center of
largest cosine similarity, and a center is the normalised (weighted) sum of
its samples, which maximises the summed similarity of its cluster. The
assignment reuses the chunked block primitives of :mod:`kmeans_xp._assign`
(for unit-length centers ``0.5 * ||c||^2 - x.c`` is ``0.5 - cos``).
"""

from __future__ import annotations

import sys
import time
import warnings
from typing import Any, Callable

import numpy as np

from . import _backend
from ._assign import block_assign, block_update, chunk_size_for, row_slices
from ._base import BaseEstimator, ClusterMixin, TransformerMixin
from ._validation import (
    ConvergenceWarning,
    check_data,
    check_init_array,
    check_init_n_init,
    check_int,
    check_n_clusters,
    check_is_fitted,
    check_random_state,
    check_real,
    check_sample_weight,
    get_namespace,
    is_array_init,
    reject_lazy,
)

__all__ = ["SphericalKMeans", "normalize_rows"]

_INITS = ("k-means++", "random")


def normalize_rows(xp: Any, X: Any) -> Any:
    """Rows of ``X`` scaled to unit Euclidean length; all-zero rows stay zero."""
    norms = xp.sqrt(xp.sum(X * X, axis=1))
    safe = xp.where(norms > 0, norms, xp.ones_like(norms))
    return X / safe[:, None]


def _block_cos(xp: Any, Xb: Any, centers: Any, labels: Any) -> Any:
    """Cosine of every (unit) row with its assigned (unit) center."""
    return xp.sum(Xb * xp.take(centers, labels, axis=0), axis=1)


def cosine_pass(
    xp: Any, Xn: Any, w: Any, centers: Any, chunk: int, *, update: bool
) -> tuple[Any, Any, Any, Any]:
    """Labels (largest cosine), weighted (1 - cos) total, and per-cluster sums.

    ``Xn`` and ``centers`` have unit rows (or zero rows). Returns
    ``(labels, inertia, sums, weights)``; the last two are None unless
    ``update``.
    """
    k = int(centers.shape[0])
    centers_t = xp.permute_dims(centers, (1, 0))
    # constant half squared norms: argmin(0.5 - x.c) is argmax cos(x, c) for
    # unit centers, whatever rounding left in their norms
    half = xp.full((k,), 0.5, dtype=centers.dtype, device=_backend.device_of(centers))
    labels = []
    total = sums = weights = None
    for a, b in row_slices(int(Xn.shape[0]), chunk):
        Xb = Xn[a:b, ...]
        wb = None if w is None else w[a:b]
        lab = block_assign(xp, Xb, centers_t, half)
        dist = 1.0 - _block_cos(xp, Xb, centers, lab)
        part = xp.sum(dist) if wb is None else xp.sum(dist * wb)
        total = part if total is None else total + part
        if update:
            s, c = block_update(xp, Xb, wb, lab, k)
            sums = s if sums is None else sums + s
            weights = c if weights is None else weights + c
        labels.append(lab)
    return (labels[0] if len(labels) == 1 else xp.concat(labels)), total, sums, weights


def _cos_to_assigned(xp: Any, Xn: Any, centers: Any, labels: Any, chunk: int) -> Any:
    out = [
        _block_cos(xp, Xn[a:b, ...], centers, labels[a:b])
        for a, b in row_slices(int(Xn.shape[0]), chunk)
    ]
    return out[0] if len(out) == 1 else xp.concat(out)


def _relocate_empty(
    xp: Any, Xn: Any, w: Any, centers: Any, labels: Any, sums: Any, weights: Any,
    chunk: int, device: Any,
) -> tuple[Any, Any]:
    """Give each empty cluster one of the samples least similar to its center.

    The samples with the smallest cosine to their own (old) center, earliest
    first among ties, each become the only member of one empty cluster and
    leave the sums of the cluster they came from. Rare, so done on the host
    with small transfers.
    """
    weights_h = np.array(_backend.to_host(xp, weights), dtype=np.float64)
    empty = np.flatnonzero(weights_h == 0)
    if empty.size == 0:
        return sums, weights
    cos = _cos_to_assigned(xp, Xn, centers, labels, chunk)
    far = xp.argsort(cos, stable=True)[: int(empty.size)]
    rows_h = _backend.to_host(xp, xp.take(Xn, far, axis=0))
    lab_h = _backend.to_host(xp, xp.take(labels, far, axis=0))
    if w is None:
        w_h = np.ones(rows_h.shape[0], dtype=rows_h.dtype)
    else:
        w_h = _backend.to_host(xp, xp.take(w, far, axis=0))
    sums_h = np.array(_backend.to_host(xp, sums))
    for new_id, row, old_id, wi in zip(empty, rows_h, lab_h, w_h):
        sums_h[old_id] -= row * wi
        weights_h[old_id] -= wi
        sums_h[new_id] = row * wi
        weights_h[new_id] = wi
    return (
        _backend.from_host(xp, sums_h, device, sums.dtype),
        _backend.from_host(xp, weights_h, device, weights.dtype),
    )


def spherical_lloyd(
    xp: Any,
    Xn: Any,
    w: Any,
    centers: Any,
    *,
    max_iter: int,
    tol: float,
    chunk: int,
    device: Any,
    report: Callable[[int, float, float], None] | None = None,
) -> tuple[Any, float, Any, int]:
    """Lloyd iterations for the cosine objective from unit ``centers``.

    Stops when the labels do not change, or when the total squared shift of
    the (unit) centers is at most ``tol``; the labels and inertia returned are
    those of the final centers. Returns ``(labels, inertia, centers, n_iter)``.
    """
    labels_old = None
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        labels, value, sums, weights = cosine_pass(xp, Xn, w, centers, chunk, update=True)
        sums, weights = _relocate_empty(xp, Xn, w, centers, labels, sums, weights, chunk, device)
        norms = xp.sqrt(xp.sum(sums * sums, axis=1))
        # a cluster whose members cancel out (zero sum) keeps its old center
        new = xp.where(
            (norms > 0)[:, None], sums / xp.where(norms > 0, norms, xp.ones_like(norms))[:, None],
            centers,
        )
        if labels_old is not None and bool(xp.all(labels == labels_old)):
            if report is not None:
                report(n_iter, float(value), 0.0)
            centers = new
            break
        diff = new - centers
        shift = float(xp.sum(diff * diff))
        if report is not None:
            report(n_iter, float(value), shift)
        centers = new
        if shift <= tol:
            break
        labels_old = labels
    # labels and inertia of the final centers (one more pass, as cheap as a step)
    labels, value, _, _ = cosine_pass(xp, Xn, w, centers, chunk, update=False)
    return labels, float(value), centers, n_iter


class SphericalKMeans(ClusterMixin, TransformerMixin, BaseEstimator):
    """Spherical K-Means: clustering by cosine similarity, on any Array API library.

    Samples are scaled to unit length and grouped around unit-length centers;
    each sample goes to the center of largest cosine similarity and each
    center is the normalised weighted sum of its samples. The objective,
    ``inertia_``, is the weighted sum of cosine distances ``1 - cos(x, c)``
    of the samples to their centers. This is the usual K-Means for text
    embeddings and other data where only the direction matters: scaling a
    sample by a positive factor changes nothing.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters.
    init : {"k-means++", "random"} or array of shape (n_clusters, n_features)
        Initialisation on the normalised samples: greedy k-means++ (the
        Euclidean distance between unit vectors is ``sqrt(2 - 2 cos)``, so
        this is k-means++ for the cosine distance), k samples at random, or
        the given centers (normalised; an array of the same library and
        device as ``X``).
    n_init : "auto" or int, default="auto"
        Number of initialisations; the run with the lowest inertia is kept.
        "auto" means 10 for "random" and 1 otherwise.
    max_iter : int, default=300
        Maximum number of iterations of one run.
    tol : float, default=1e-4
        A run stops when the total squared shift of the centers is at most
        ``tol`` times the mean per-feature variance of the normalised samples.
    verbose : int, default=0
        Print one line per iteration (inertia, center shift, elapsed) on stderr.
    random_state : None, int or numpy.random.RandomState
        Seed of the host random number generator; the same seed gives the
        same initial centers on every backend.
    chunk_bytes : int or None, default=None
        Memory budget in bytes for one row chunk's temporaries (see KMeans).

    Attributes
    ----------
    cluster_centers_ : array of shape (n_clusters, n_features)
        Unit-length centers.
    labels_ : array of shape (n_samples,)
    inertia_ : float
        Weighted sum of ``1 - cos`` between the samples and their centers.
    n_iter_ : int
    n_features_in_ : int

    See Also
    --------
    KMeans : the Euclidean version.

    Notes
    -----
    A sample of all zeros has no direction: it stays a zero vector, at cosine
    distance 1 from every center. ``transform`` returns cosine distances.
    Not available for Dask arrays (a lazy backend).

    Examples
    --------
    >>> import numpy as np
    >>> from kmeans_xp import SphericalKMeans
    >>> X = np.array([[1.0, 0.1], [5.0, 0.2], [0.1, 1.0], [0.3, 7.0]])
    >>> skm = SphericalKMeans(n_clusters=2, random_state=0).fit(X)
    >>> bool(skm.labels_[0] == skm.labels_[1] and skm.labels_[2] == skm.labels_[3])
    True
    >>> np.linalg.norm(skm.cluster_centers_, axis=1).round(6).tolist()
    [1.0, 1.0]
    >>> bool(skm.predict(np.array([[100.0, 3.0]]))[0] == skm.labels_[0])
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
        chunk_bytes: int | None = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.verbose = verbose
        self.random_state = random_state
        self.chunk_bytes = chunk_bytes

    def _check_params(self, n_samples: int) -> tuple[int, int]:
        k = check_n_clusters(self.n_clusters, n_samples)
        check_int(self.max_iter, "max_iter", 1)
        check_real(self.tol, "tol", 0.0)
        if self.chunk_bytes is not None:
            check_int(self.chunk_bytes, "chunk_bytes", 1)
        n_init = check_init_n_init(self.init, self.n_init, _INITS, random_n_init=10)
        return k, n_init

    def _initial_centers(
        self, xp: Any, Xn: Any, w: Any, k: int, rs: np.random.RandomState, device: Any
    ) -> Any:
        if self.init == "random":
            if w is None:
                p = None
            else:
                w_h = np.asarray(_backend.to_host(xp, w), dtype=np.float64)
                p = w_h / w_h.sum()
            seeds = rs.choice(int(Xn.shape[0]), size=k, replace=False, p=p)
            return xp.take(Xn, _backend.from_host(xp, seeds.astype(np.int64), device), axis=0)
        from ._estimator import kmeans_plusplus

        centers, _ = kmeans_plusplus(Xn, k, sample_weight=w, random_state=rs)
        return centers

    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> "SphericalKMeans":
        """Compute the spherical clustering of ``X`` (n_samples, n_features)."""
        init = self.init
        xp, device = get_namespace(X, sample_weight, init if is_array_init(init) else None)
        reject_lazy(xp, type(self).__name__)
        X = check_data(xp, X, device)
        n, d = int(X.shape[0]), int(X.shape[1])
        k, n_init = self._check_params(n)
        w = check_sample_weight(xp, sample_weight, n, X.dtype, device)
        centers0 = None
        if is_array_init(init):
            C = check_init_array(xp, init, k, d, X.dtype, device)
            if not bool(xp.all(xp.sum(C * C, axis=1) > 0)):
                raise ValueError("init has a row of zeros, which has no direction")
            centers0 = normalize_rows(xp, C)
        rs = check_random_state(self.random_state)

        Xn = normalize_rows(xp, X)
        tol = float(xp.mean(xp.var(Xn, axis=0))) * float(self.tol)
        chunk = chunk_size_for(xp, Xn, device, k, self.chunk_bytes)
        report = self._reporter() if self.verbose else None
        best = None
        for _ in range(n_init):
            start = centers0 if centers0 is not None else self._initial_centers(
                xp, Xn, w, k, rs, device
            )
            labels, value, centers, n_iter = spherical_lloyd(
                xp, Xn, w, start, max_iter=int(self.max_iter), tol=tol, chunk=chunk,
                device=device, report=report,
            )
            if best is None or value < best[0]:
                best = (value, labels, centers, n_iter)
        value, labels, centers, n_iter = best
        n_distinct = int(xp.unique_values(labels).shape[0])
        if n_distinct < k:
            warnings.warn(
                f"Number of distinct clusters ({n_distinct}) found smaller than "
                f"n_clusters ({k}). Possibly due to samples with the same direction in X.",
                ConvergenceWarning,
                stacklevel=2,
            )
        self.cluster_centers_ = centers
        self.labels_ = labels
        self.inertia_ = value
        self.n_iter_ = n_iter
        self.n_features_in_ = d
        return self

    def _reporter(self) -> Callable[[int, float, float], None]:
        start = time.perf_counter()

        def report(n_iter: int, value: float, shift: float) -> None:
            print(
                f"Iteration {n_iter}: inertia {value:.6g}, center shift {shift:.3g}, "
                f"elapsed {time.perf_counter() - start:.2f}s",
                file=sys.stderr,
            )

        return report

    def _prepare(self, X: Any, sample_weight: Any = None) -> tuple[Any, Any, Any, int]:
        check_is_fitted(self)
        centers = self.cluster_centers_
        xp, device = get_namespace(X, sample_weight, centers)
        X = check_data(
            xp, X, device, dtype=centers.dtype, n_features=self.n_features_in_,
            estimator=type(self).__name__,
        )
        w = check_sample_weight(xp, sample_weight, int(X.shape[0]), X.dtype, device)
        Xn = normalize_rows(xp, X)
        return xp, Xn, w, chunk_size_for(xp, Xn, device, int(centers.shape[0]), self.chunk_bytes)

    def predict(self, X: Any, sample_weight: Any = None) -> Any:
        """Index of the center of largest cosine similarity for each sample."""
        xp, Xn, _, chunk = self._prepare(X, sample_weight)
        labels, _, _, _ = cosine_pass(xp, Xn, None, self.cluster_centers_, chunk, update=False)
        return labels

    def fit_predict(self, X: Any, y: Any = None, sample_weight: Any = None) -> Any:
        """Fit, then return the label of every sample."""
        return self.fit(X, sample_weight=sample_weight).labels_

    def transform(self, X: Any) -> Any:
        """Cosine distance ``1 - cos`` of each sample to each center, (n_samples, n_clusters)."""
        xp, Xn, _, chunk = self._prepare(X)
        centers_t = xp.permute_dims(self.cluster_centers_, (1, 0))
        out = [1.0 - xp.matmul(Xn[a:b, ...], centers_t) for a, b in row_slices(int(Xn.shape[0]), chunk)]
        return out[0] if len(out) == 1 else xp.concat(out)

    def fit_transform(self, X: Any, y: Any = None, sample_weight: Any = None) -> Any:
        """Fit, then return the cosine distances of ``X`` to the centers."""
        return self.fit(X, sample_weight=sample_weight).transform(X)

    def score(self, X: Any, y: Any = None, sample_weight: Any = None) -> float:
        """Opposite of the weighted sum of cosine distances to the closest centers."""
        xp, Xn, w, chunk = self._prepare(X, sample_weight)
        _, value, _, _ = cosine_pass(xp, Xn, w, self.cluster_centers_, chunk, update=False)
        return -float(value)
