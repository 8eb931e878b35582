"""Mini-batch K-Means: ``fit`` on random batches, ``partial_fit`` on a stream.

Pure Array API: the algorithm takes the namespace ``xp`` and is built on the
block primitives of :mod:`kmeans_xp._assign` (``block_assign``,
``block_update``, hence ``_backend.segment_sum``). Every random number (batch
rows, initialisation, reassignments) is drawn on the host with NumPy's
``RandomState`` and moved to the device, so one seed gives the same result on
every backend.
"""

from __future__ import annotations

import math
import sys
import time
import warnings
from typing import Any

import numpy as np

from . import _backend
from ._assign import (
    Data,
    assign,
    block_assign,
    block_update,
    chunk_size_for,
    half_sq_norms,
    inertia_and_sizes,
    needs_offset,
    row_slices,
    shifted,
    transform,
)
from ._base import BaseEstimator, ClusterMixin, TransformerMixin
from ._validation import (
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

__all__ = ["MiniBatchKMeans"]

_INITS = ("k-means++", "random")
_LAZY_HINT = (
    "use KMeans for Dask arrays, or stream the blocks with "
    "MiniBatchKMeans.partial_fit(block.compute()) for block in X.blocks"
)


# ----------------------------------------------------------------------------
# passes over the rows of an in-memory array, one chunk at a time
# ----------------------------------------------------------------------------
def _data(xp: Any, X: Any, w: Any, offset: Any, chunk: int) -> Data:
    return Data(xp=xp, X=X, weights=w, offset=offset, device=_backend.device_of(X), chunk=chunk)


def _labels_inertia(
    xp: Any, X: Any, w: Any, offset: Any, centers: Any, chunk: int
) -> tuple[Any, float]:
    """Nearest center of every row and the weighted inertia (the shared passes
    of ``_assign``; ``centers`` are in the shifted frame, ``X - offset``)."""
    data = _data(xp, X, w, offset, chunk)
    labels = assign(data, centers)
    value, _ = inertia_and_sizes(data, centers, labels)
    return labels, value


def _distances(xp: Any, X: Any, offset: Any, centers: Any, chunk: int) -> Any:
    """Euclidean distances (n, k) from every row to every center."""
    return transform(_data(xp, X, None, offset, chunk), centers)


def minibatch_step(
    xp: Any, Xb: Any, wb: Any, offset: Any, centers: Any, counts: Any, chunk: int
) -> tuple[Any, Any, Any]:
    """One mini-batch update of ``centers`` (shifted frame) with the rows ``Xb``.

    Each center moves to the weighted mean of everything it has absorbed so
    far: ``(c * n_c + sum of its batch rows) / (n_c + batch weight)``, where
    ``counts`` holds the weight ``n_c`` each center has seen. Centers that get
    no row keep their place. Returns ``(centers, counts, batch_inertia)``, the
    inertia being that of the batch against the centers before the update.
    """
    k = int(centers.shape[0])
    centers_t = xp.permute_dims(centers, (1, 0))
    half_csq = half_sq_norms(xp, centers)
    sums = weights = total = None
    for a, b in row_slices(int(Xb.shape[0]), chunk):
        Xc = shifted(Xb[a:b, ...], offset)
        wc = None if wb is None else wb[a:b]
        lab = block_assign(xp, Xc, centers_t, half_csq)
        diff = Xc - xp.take(centers, lab, axis=0)
        d2 = xp.sum(diff * diff, axis=1)
        part = xp.sum(d2) if wc is None else xp.sum(d2 * wc)
        s, c = block_update(xp, Xc, wc, lab, k)
        total = part if total is None else total + part
        sums = s if sums is None else sums + s
        weights = c if weights is None else weights + c
    new_counts = counts + weights
    hit = weights > 0
    denom = xp.where(hit, new_counts, xp.ones_like(new_counts))
    moved = (centers * counts[:, None] + sums) / denom[:, None]
    return xp.where(hit[:, None], moved, centers), new_counts, total


def reassign_small(
    xp: Any,
    Xb: Any,
    offset: Any,
    centers: Any,
    counts: Any,
    ratio: float,
    rs: np.random.RandomState,
    device: Any,
) -> tuple[Any, Any, int]:
    """Move centers that absorbed little weight onto random rows of the batch.

    A center is reassigned when its count is below ``ratio`` times the largest
    count; at most half the batch size are moved (those with the smallest
    counts). Their counts become the smallest count of the others, so they are
    not moved again at once. The decision is made on the host from the ``k``
    counts; the rows are drawn with the host ``rs``.
    """
    counts_h = np.array(_backend.to_host(xp, counts), dtype=np.float64)
    b = int(Xb.shape[0])
    low = counts_h < ratio * counts_h.max()
    cap = int(0.5 * b)
    if int(low.sum()) > cap:
        smallest = np.zeros_like(low)
        smallest[np.argsort(counts_h, kind="stable")[:cap]] = True
        low &= smallest
    m = int(low.sum())
    if m == 0:
        return centers, counts, 0
    picks = rs.choice(b, size=m, replace=False)
    source = np.zeros(counts_h.shape[0], dtype=np.int64)
    source[low] = picks
    rows = shifted(xp.take(Xb, _backend.from_host(xp, source, device), axis=0), offset)
    mask = _backend.from_host(xp, low, device)
    centers = xp.where(mask[:, None], rows, centers)
    counts_h[low] = counts_h[~low].min()
    return centers, _backend.from_host(xp, counts_h, device, counts.dtype), m


class _EarlyStopping:
    """Stop on a small center shift or when the smoothed batch inertia stalls.

    The batch inertia (per sample) is smoothed by an exponentially weighted
    average whose weight is ``2 * batch_size / (n_samples + 1)``; training
    stops after ``max_no_improvement`` steps without a new minimum of the
    average, or as soon as the squared center shift is at most ``tol`` (when
    ``tol > 0``). The first step is ignored: its inertia is that of the
    initial centers.
    """

    def __init__(self, n_samples: int, batch_size: int, tol: float, patience: int | None):
        self.alpha = min(1.0, 2.0 * batch_size / (n_samples + 1))
        self.tol = tol
        self.patience = patience
        self.ewa: float | None = None
        self.best: float | None = None
        self.stalled = 0

    def __call__(self, step: int, batch_inertia: float, shift: float) -> bool:
        if step == 0:
            return False
        if self.ewa is None:
            self.ewa = batch_inertia
        else:
            self.ewa = (1.0 - self.alpha) * self.ewa + self.alpha * batch_inertia
        if self.tol > 0.0 and shift <= self.tol:
            return True
        if self.best is None or self.ewa < self.best:
            self.best = self.ewa
            self.stalled = 0
        else:
            self.stalled += 1
        return self.patience is not None and self.stalled >= self.patience


class MiniBatchKMeans(ClusterMixin, TransformerMixin, BaseEstimator):
    """Mini-batch K-Means on any Array API library, with ``partial_fit`` for streams.

    Each step draws ``batch_size`` rows at random (on the host RNG), assigns
    them to their nearest center and moves every center towards the mean of
    all the rows it has absorbed so far. Much cheaper per step than
    :class:`KMeans` on large data, at the price of a somewhat higher inertia.
    ``partial_fit`` does one such step on the rows it is given, so data larger
    than memory can be streamed from disk.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters.
    init : {"k-means++", "random"} or array of shape (n_clusters, n_features)
        Initialisation, computed on ``init_size`` random rows: greedy
        k-means++, k of those rows at random, or the given centers (an array
        of the same library and device as ``X``).
    max_iter : int, default=100
        Maximum number of passes over the data (in expectation): ``fit`` does
        at most ``max_iter * n_samples // batch_size`` steps.
    batch_size : int, default=1024
        Number of rows per step (capped at ``n_samples``).
    verbose : int, default=0
        Print one line per step (batch inertia, smoothed inertia, center
        shift, elapsed) on stderr.
    compute_labels : bool, default=True
        Compute ``labels_`` and the exact ``inertia_`` with a full pass after
        ``fit`` (on the given rows after ``partial_fit``). When False,
        ``inertia_`` after ``fit`` is estimated from the smoothed batch inertia.
    random_state : None, int or numpy.random.RandomState
        Seed of the host random number generator (batches, initialisation,
        reassignments). The same seed gives the same result on every backend.
    tol : float, default=0.0
        Stop when the squared center shift of one step is at most ``tol``
        times the mean per-feature variance of ``X``; 0 disables this test.
    max_no_improvement : int or None, default=10
        Stop after this many steps without improvement of the smoothed batch
        inertia; None disables this test.
    init_size : int or None, default=None
        Number of random rows the initialisation uses (and, in ``fit``, the
        size of the held-out rows on which the ``n_init`` candidates are
        compared). None means ``3 * batch_size`` (at least ``3 * n_clusters``).
    n_init : "auto" or int, default="auto"
        Number of initialisations tried by ``fit``; the one with the lowest
        inertia on the held-out rows is used. "auto" means 3 for "random" and
        1 otherwise. ``partial_fit`` always uses one.
    reassignment_ratio : float, default=0.01
        Centers whose absorbed weight falls below this fraction of the largest
        one are moved onto random rows of the batch (checked every
        ``10 * n_clusters`` rows, and whenever a center has absorbed nothing).
        0 disables reassignment.
    chunk_bytes : int or None, default=None
        Memory budget in bytes for one row chunk's temporaries (see KMeans).

    Attributes
    ----------
    cluster_centers_ : array of shape (n_clusters, n_features)
    labels_ : array of shape (n_samples,)
        Only with ``compute_labels=True``.
    inertia_ : float
        Weighted sum of squared distances to the closest center.
    n_iter_ : int
        Passes over the data done by ``fit`` (steps times batch size over
        ``n_samples``, rounded up).
    n_steps_ : int
        Mini-batch steps done (by ``fit``, or counted by ``partial_fit``).
    n_features_in_ : int

    See Also
    --------
    KMeans : the full-batch (Lloyd) algorithm.

    Notes
    -----
    Not available for Dask arrays (a lazy backend): the per-step updates need
    eager arrays. Stream Dask blocks through ``partial_fit`` instead.

    Examples
    --------
    >>> import numpy as np
    >>> from kmeans_xp import MiniBatchKMeans
    >>> rng = np.random.RandomState(0)
    >>> X = np.concatenate([rng.normal(0, 1, (500, 2)), rng.normal(10, 1, (500, 2))])
    >>> mbk = MiniBatchKMeans(n_clusters=2, batch_size=100, random_state=0).fit(X)
    >>> sorted(round(float(c)) for c in mbk.cluster_centers_[:, 0])
    [0, 10]
    >>> bool(mbk.predict(np.array([[0.0, 0.0]]))[0] != mbk.predict(np.array([[10.0, 10.0]]))[0])
    True

    Streaming: ``partial_fit`` one block at a time, for example from a file
    opened with ``np.load(path, mmap_mode="r")`` that does not fit in memory:

    >>> shuffled = X[rng.permutation(len(X))]
    >>> stream = MiniBatchKMeans(n_clusters=2, random_state=0)
    >>> for start in range(0, len(shuffled), 250):
    ...     stream = stream.partial_fit(shuffled[start:start + 250])
    >>> stream.n_steps_
    4
    >>> sorted(round(float(c)) for c in stream.cluster_centers_[:, 0])
    [0, 10]
    """

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        init: Any = "k-means++",
        max_iter: int = 100,
        batch_size: int = 1024,
        verbose: int = 0,
        compute_labels: bool = True,
        random_state: Any = None,
        tol: float = 0.0,
        max_no_improvement: int | None = 10,
        init_size: int | None = None,
        n_init: Any = "auto",
        reassignment_ratio: float = 0.01,
        chunk_bytes: int | None = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.init = init
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.verbose = verbose
        self.compute_labels = compute_labels
        self.random_state = random_state
        self.tol = tol
        self.max_no_improvement = max_no_improvement
        self.init_size = init_size
        self.n_init = n_init
        self.reassignment_ratio = reassignment_ratio
        self.chunk_bytes = chunk_bytes

    # ------------------------------------------------------------------ checks
    def _check_params(self, n_samples: int | None, where: str = "X") -> tuple[int, int, int]:
        """Validate every parameter; returns (n_clusters, n_init, init_size).

        ``n_samples`` None (a later ``partial_fit`` call) skips the checks
        against the number of rows.
        """
        k = check_n_clusters(self.n_clusters, n_samples, where)
        check_int(self.max_iter, "max_iter", 1)
        batch = check_int(self.batch_size, "batch_size", 1)
        check_real(self.tol, "tol", 0.0)
        check_real(self.reassignment_ratio, "reassignment_ratio", 0.0)
        if self.max_no_improvement is not None:
            check_int(self.max_no_improvement, "max_no_improvement", 0)
        if not isinstance(self.compute_labels, (bool, np.bool_)):
            raise TypeError(f"compute_labels must be a bool, got {self.compute_labels!r}")
        if self.chunk_bytes is not None:
            check_int(self.chunk_bytes, "chunk_bytes", 1)
        n_init = check_init_n_init(self.init, self.n_init, _INITS, random_n_init=3)
        if self.init_size is None:
            init_size = max(3 * batch, 3 * k)
        else:
            init_size = check_int(self.init_size, "init_size", 1)
            if init_size < k:
                warnings.warn(
                    f"init_size={init_size} should be larger than n_clusters={k}; "
                    f"using init_size={3 * k}",
                    RuntimeWarning,
                    stacklevel=3,
                )
                init_size = 3 * k
        return k, n_init, (init_size if n_samples is None else min(init_size, n_samples))

    # ----------------------------------------------------------------- helpers
    def _init_centers(
        self, xp: Any, Xs: Any, ws: Any, init: Any, k: int, rs: np.random.RandomState,
        device: Any,
    ) -> Any:
        """Initial centers (shifted frame) from the rows ``Xs`` (shifted frame)."""
        if is_array_init(init):
            return init
        m = int(Xs.shape[0])
        if init == "random":
            if ws is None:
                p = None
            else:
                w_h = np.asarray(_backend.to_host(xp, ws), dtype=np.float64)
                p = w_h / w_h.sum()
            seeds = rs.choice(m, size=k, replace=False, p=p)
            return xp.take(Xs, _backend.from_host(xp, seeds.astype(np.int64), device), axis=0)
        from ._estimator import kmeans_plusplus

        centers, _ = kmeans_plusplus(Xs, k, sample_weight=ws, random_state=rs)
        return centers

    def _rows(self, xp: Any, X: Any, w: Any, idx: np.ndarray, device: Any) -> tuple[Any, Any]:
        ind = _backend.from_host(xp, idx.astype(np.int64), device)
        return xp.take(X, ind, axis=0), (None if w is None else xp.take(w, ind, axis=0))

    def _reassign_due(self, xp: Any, counts: Any, n_rows: int) -> bool:
        """Every ``10 * n_clusters`` rows, or when a center has absorbed nothing."""
        self._n_since_reassign += n_rows
        k = int(counts.shape[0])
        if self._n_since_reassign >= 10 * k or bool(xp.any(counts == 0)):
            self._n_since_reassign = 0
            return True
        return False

    # --------------------------------------------------------------------- fit
    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> "MiniBatchKMeans":
        """Compute the clustering of ``X`` (n_samples, n_features) by mini-batches."""
        init = self.init
        xp, device = get_namespace(X, sample_weight, init if is_array_init(init) else None)
        reject_lazy(xp, type(self).__name__, _LAZY_HINT)
        X = check_data(xp, X, device)
        n, d = int(X.shape[0]), int(X.shape[1])
        k, n_init, init_size = self._check_params(n)
        batch = min(int(self.batch_size), n)
        w = check_sample_weight(xp, sample_weight, n, X.dtype, device)
        if is_array_init(init):
            init = check_init_array(xp, init, k, d, X.dtype, device)
        rs = check_random_state(self.random_state)

        mean = xp.mean(X, axis=0)
        var = xp.var(X, axis=0)
        tol = float(xp.mean(var)) * float(self.tol)
        offset = mean if needs_offset(xp, mean, var) else None
        if is_array_init(init) and offset is not None:
            init = init - offset
        chunk = chunk_size_for(xp, X, device, k, self.chunk_bytes)
        start = time.perf_counter()

        # candidates are compared on held-out rows, each built on its own rows
        valid_X, valid_w = self._rows(xp, X, w, rs.randint(0, n, init_size), device)
        best = None
        for i in range(n_init):
            init_X, init_w = self._rows(xp, X, w, rs.randint(0, n, init_size), device)
            init_X = shifted(init_X, offset)
            centers = self._init_centers(xp, init_X, init_w, init, k, rs, device)
            _, value = _labels_inertia(xp, valid_X, valid_w, offset, centers, chunk)
            value = float(value)
            if self.verbose:
                print(f"Init {i + 1}/{n_init}: held-out inertia {value:.6g}", file=sys.stderr)
            if best is None or value < best[0]:
                best = (value, centers)
        centers = best[1]

        counts = xp.zeros((k,), dtype=X.dtype, device=device)
        self._n_since_reassign = 0
        stop = _EarlyStopping(n, batch, tol, self.max_no_improvement)
        ratio = float(self.reassignment_ratio)
        n_steps = max(1, (int(self.max_iter) * n) // batch)
        last = 0.0
        step = 0
        for step in range(n_steps):
            Xb, wb = self._rows(xp, X, w, rs.randint(0, n, batch), device)
            due = self._reassign_due(xp, counts, batch)
            new, counts, value = minibatch_step(xp, Xb, wb, offset, centers, counts, chunk)
            if due and ratio > 0:
                new, counts, _ = reassign_small(xp, Xb, offset, new, counts, ratio, rs, device)
            shift = 0.0
            if tol > 0 or self.verbose:
                diff = new - centers
                shift = float(xp.sum(diff * diff))
            centers = new
            last = float(value) / batch
            done = stop(step, last, shift)
            if self.verbose:
                ewa = last if stop.ewa is None else stop.ewa
                print(
                    f"Minibatch step {step + 1}/{n_steps}: batch inertia {last:.6g}, "
                    f"smoothed {ewa:.6g}, center shift {shift:.3g}, "
                    f"elapsed {time.perf_counter() - start:.2f}s",
                    file=sys.stderr,
                )
            if done:
                break

        self._offset = offset
        self._counts = counts
        self._rs = rs
        self.cluster_centers_ = centers if offset is None else centers + offset
        self.n_steps_ = step + 1
        self.n_iter_ = int(math.ceil(self.n_steps_ * batch / n))
        self.n_features_in_ = d
        if not self._store_labels(xp, X, w, offset, centers, chunk):
            self.inertia_ = (last if stop.ewa is None else stop.ewa) * n
        return self

    def partial_fit(
        self, X: Any, y: Any = None, sample_weight: Any = None
    ) -> "MiniBatchKMeans":
        """Update the centers with one mini-batch step on the rows of ``X``.

        The first call initialises the centers from (up to ``init_size``
        rows of) ``X``, which must then have at least ``n_clusters`` rows.
        Later calls must pass arrays of the same library, device and number
        of features. Continues from ``fit`` when called after it.
        """
        first = not hasattr(self, "cluster_centers_")
        init = self.init
        if first:
            xp, device = get_namespace(X, sample_weight, init if is_array_init(init) else None)
            reject_lazy(xp, type(self).__name__, _LAZY_HINT)
            X = check_data(xp, X, device)
        else:
            centers_out = self.cluster_centers_
            xp, device = get_namespace(X, sample_weight, centers_out)
            reject_lazy(xp, type(self).__name__, _LAZY_HINT)
            X = check_data(
                xp, X, device, dtype=centers_out.dtype, n_features=self.n_features_in_,
                estimator=type(self).__name__,
            )
        n, d = int(X.shape[0]), int(X.shape[1])
        k, _, init_size = self._check_params(n if first else None, "the first batch")
        w = check_sample_weight(xp, sample_weight, n, X.dtype, device)
        if first:
            rs = check_random_state(self.random_state)
            mean = xp.mean(X, axis=0)
            offset = mean if needs_offset(xp, mean, xp.var(X, axis=0)) else None
            if is_array_init(init):
                init = check_init_array(xp, init, k, d, X.dtype, device)
                centers = init if offset is None else init - offset
            else:
                if init_size < n:
                    Xs, ws = self._rows(xp, X, w, rs.randint(0, n, init_size), device)
                else:
                    Xs, ws = X, w
                centers = self._init_centers(xp, shifted(Xs, offset), ws, init, k, rs, device)
            counts = xp.zeros((k,), dtype=X.dtype, device=device)
            self._n_since_reassign = 0
            self._offset = offset
            self._rs = rs
            self.n_steps_ = 0
        else:
            rs = self._rs
            offset = self._offset
            counts = self._counts
            centers = self.cluster_centers_ if offset is None else self.cluster_centers_ - offset
        chunk = chunk_size_for(xp, X, device, k, self.chunk_bytes)
        due = self._reassign_due(xp, counts, n)
        centers, counts, value = minibatch_step(xp, X, w, offset, centers, counts, chunk)
        if due and float(self.reassignment_ratio) > 0:
            centers, counts, _ = reassign_small(
                xp, X, offset, centers, counts, float(self.reassignment_ratio), rs, device
            )
        self._counts = counts
        self.cluster_centers_ = centers if offset is None else centers + offset
        self.n_steps_ += 1
        self.n_features_in_ = d
        if self.verbose:
            print(
                f"partial_fit step {self.n_steps_}: batch inertia {float(value) / n:.6g}",
                file=sys.stderr,
            )
        self._store_labels(xp, X, w, offset, centers, chunk)
        return self

    def _store_labels(
        self, xp: Any, X: Any, w: Any, offset: Any, centers: Any, chunk: int
    ) -> bool:
        """With ``compute_labels``, set ``labels_`` and ``inertia_`` for ``X``
        (True); otherwise drop stale labels (False)."""
        if not self.compute_labels:
            self.__dict__.pop("labels_", None)
            return False
        self.labels_, self.inertia_ = _labels_inertia(xp, X, w, offset, centers, chunk)
        return True

    # ------------------------------------------------------------- after fit
    def _prepare(self, X: Any, sample_weight: Any = None) -> tuple[Any, Any, Any, Any, int]:
        check_is_fitted(self)
        centers = self.cluster_centers_
        xp, device = get_namespace(X, sample_weight, centers)
        X = check_data(
            xp, X, device, dtype=centers.dtype, n_features=self.n_features_in_,
            estimator=type(self).__name__,
        )
        w = check_sample_weight(xp, sample_weight, int(X.shape[0]), X.dtype, device)
        chunk = chunk_size_for(xp, X, device, int(centers.shape[0]), self.chunk_bytes)
        offset = self._offset
        shifted = centers if offset is None else centers - offset
        return xp, X, w, shifted, chunk

    def predict(self, X: Any, sample_weight: Any = None) -> Any:
        """Index of the closest center for each sample."""
        xp, X, w, centers, chunk = self._prepare(X, sample_weight)
        labels, _ = _labels_inertia(xp, X, None, self._offset, centers, chunk)
        return labels

    def fit_predict(self, X: Any, y: Any = None, sample_weight: Any = None) -> Any:
        """Fit, then return the label of every sample."""
        self.fit(X, sample_weight=sample_weight)
        return self.labels_ if self.compute_labels else self.predict(X)

    def transform(self, X: Any) -> Any:
        """Euclidean distance of each sample to each center, (n_samples, n_clusters)."""
        xp, X, _, centers, chunk = self._prepare(X)
        return _distances(xp, X, self._offset, centers, chunk)

    def fit_transform(self, X: Any, y: Any = None, sample_weight: Any = None) -> Any:
        """Fit, then return the distances of ``X`` to the centers."""
        return self.fit(X, sample_weight=sample_weight).transform(X)

    def score(self, X: Any, y: Any = None, sample_weight: Any = None) -> float:
        """Opposite of the weighted inertia of ``X`` against the fitted centers."""
        xp, X, w, centers, chunk = self._prepare(X, sample_weight)
        _, value = _labels_inertia(xp, X, w, self._offset, centers, chunk)
        return -float(value)
