"""Mini-batch K-Means: ``fit`` on random batches, ``partial_fit`` on a stream.

Pure Array API, on the shared engine: a batch is a small ``Data`` whose step
is one chunked pass (``_step_block``: nearest centers, per-cluster sums and
the batch cost), and the full-data passes (mean and variance, held-out
inertia, final labels) are the passes KMeans uses. Every random number
(batch rows, initialisation, reassignments) is drawn on the host with NumPy's
``RandomState`` and moved to the device, so one seed gives the same result on
every backend. The state of a fit (center counts, the reassignment counter)
lives in the fit, not on the estimator, until it is stored at the end.
"""

from __future__ import annotations

import math
import sys
import time
import warnings
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np

from . import _backend
from ._assign import (
    Block,
    BlockOut,
    Data,
    Geometry,
    Scoring,
    assign_with_inertia,
    block_assign,
    block_update,
    column_mean_var,
    needs_offset,
    prepare_block,
    row_costs,
    scoring,
    sum_of_squares,
)
from ._init import init_random, kmeans_parallel, weight_unit_rows
from ._init import kmeans_plusplus as _kmeans_plusplus
from ._kmeans_base import BaseKMeans, InitMethod, Progress, memory_advice, one_blas_thread
from ._typing import Array, Namespace
from ._validation import (
    MINIBATCH_CONSTRAINTS,
    check_data,
    check_feature_names,
    check_n_clusters,
    get_namespace,
    is_array_init,
    prepare_sample_weight,
    reject_lazy,
)

__all__ = ["MiniBatchKMeans"]

_LAZY_HINT = (
    "use KMeans for Dask arrays, or stream the blocks with "
    "MiniBatchKMeans.partial_fit(block.compute()) for block in X.blocks"
)


# ----------------------------------------------------------------------------
# one mini-batch step: a chunked pass over the batch
# ----------------------------------------------------------------------------
def _step_block(b: Block, sc: Scoring, geometry: Geometry) -> BlockOut:
    xp = b.xp
    k = int(sc.centers.shape[0])
    lab = block_assign(xp, b.X, sc)
    cost = b.weighted_sum(row_costs(xp, b.X, sc.centers, lab, geometry))
    sums, counts = block_update(xp, b.X, b.weights, lab, k)
    return BlockOut((), (sums, counts, cost))


def minibatch_step(batch: Data, centers: Array, counts: Array) -> tuple[Array, Array, Array]:
    """One mini-batch update of ``centers`` (shifted frame) with the batch's rows.

    Each center moves to the weighted mean of everything it has absorbed so
    far: ``(c * n_c + sum of its batch rows) / (n_c + batch weight)``, where
    ``counts`` holds the weight ``n_c`` each center has seen. Centers that get
    no row keep their place. Returns ``(centers, counts, batch_cost)``, the
    cost being that of the batch against the centers before the update.
    """
    xp = batch.sxp
    _, (sums, weights, total) = batch.map(
        _step_block, None, (scoring(batch, centers), batch.geometry)
    )
    new_counts = counts + weights
    hit = weights > 0
    denom = xp.where(hit, new_counts, xp.ones_like(new_counts))
    moved = (centers * counts[:, None] + sums) / denom[:, None]
    return xp.where(hit[:, None], moved, centers), new_counts, total


def reassign_small(
    batch: Data, centers: Array, counts: Array, ratio: float, rs: np.random.RandomState
) -> tuple[Array, Array, int]:
    """Move centers that absorbed little weight onto random rows of the batch.

    A center is reassigned when its count is below ``ratio`` times the largest
    count; at most half the batch size are moved (those with the smallest
    counts). Their counts become the smallest count of the others, so they are
    not moved again at once. The decision is made on the host from the ``k``
    counts; the rows are drawn with the host ``rs``.
    """
    xp, device = batch.xp, batch.device
    sxp, sdevice = batch.sxp, batch.sdevice
    counts_h = np.array(_backend.to_host(sxp, counts), dtype=np.float64)
    b = batch.n
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
    idx = _backend.from_host(xp, source, device, _backend.index_dtype(xp, device))
    rows = _backend.to_dense(xp, _backend.take_rows(xp, batch.X, idx))
    if sxp is not xp:
        rows = sxp.asarray(_backend.to_host(xp, rows))
    rows = prepare_block(sxp, rows, batch.geometry, batch.offset)
    mask = _backend.from_host(sxp, low, sdevice)
    centers = sxp.where(mask[:, None], rows, centers)
    counts_h[low] = counts_h[~low].min()
    return centers, _backend.from_host(sxp, counts_h, sdevice, counts.dtype), m


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


@dataclass
class _StreamState:
    """What a sequence of steps carries: the weight each center has absorbed
    and the rows seen since the last reassignment check."""

    counts: Array
    since_reassign: int = 0

    def reassign_due(self, xp: Namespace, n_rows: int) -> bool:
        """Every ``10 * n_clusters`` rows, or when a center has absorbed nothing."""
        self.since_reassign += n_rows
        k = int(self.counts.shape[0])
        if self.since_reassign >= 10 * k or bool(xp.any(self.counts == 0)):
            self.since_reassign = 0
            return True
        return False


class MiniBatchKMeans(BaseKMeans):
    """Mini-batch K-Means on any Array API library, with ``partial_fit`` for streams.

    Each step draws ``batch_size`` rows at random (on the host RNG, each row
    with probability proportional to its weight, as scikit-learn), assigns
    them to their nearest center and moves every center towards the mean of
    all the rows it has absorbed so far. Much cheaper per step than
    :class:`KMeans` on large data, at the price of a somewhat higher inertia.
    ``partial_fit`` does one such step on the rows it is given, so data larger
    than memory can be streamed from disk.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters.
    init : {"k-means++", "k-means||", "random"}, callable or array of shape \
            (n_clusters, n_features), default="k-means++"
        Initialisation, computed on ``init_size`` random rows: greedy
        k-means++, k of those rows at random, a callable, or the given centers
        (an array of the same library and device as ``X``). A callable is
        called as scikit-learn calls it, on those rows:
        ``init(X_rows, n_clusters, random_state=random_state)``; see KMeans.
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
        inertia on the held-out rows is used. "auto" means 3 for "random" or a
        callable and 1 otherwise. ``partial_fit`` always uses one.
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
    feature_names_in_ : ndarray of str, shape (n_features_in_,)
        The column names of ``X``, when fitted on a data frame whose column
        names are all strings.

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

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = MINIBATCH_CONSTRAINTS
    _random_n_init: ClassVar[int] = 3

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
    def _init_size(self, k: int, n_samples: int | None) -> int:
        batch = int(self.batch_size)
        if self.init_size is None:
            init_size = max(3 * batch, 3 * k)
        else:
            init_size = int(self.init_size)
            if init_size < k:
                warnings.warn(
                    f"init_size={init_size} should be larger than n_clusters={k}. "
                    "Setting it to min(3*n_clusters, n_samples)",
                    RuntimeWarning,
                    stacklevel=3,
                )
                init_size = 3 * k
        return init_size if n_samples is None else min(init_size, n_samples)

    # ----------------------------------------------------------------- helpers
    def _sub(self, data: Data, idx: np.ndarray) -> Data:
        """The rows ``idx`` (host indices) of ``data`` as a Data of their own."""
        xp = data.xp
        ind = _backend.from_host(
            xp, idx.astype(np.int64), data.device, _backend.index_dtype(xp, data.device)
        )
        X = _backend.take_rows(xp, data.X, ind)  # sparse rows stay sparse
        w = None if data.weights is None else xp.take(data.weights, ind, axis=0)
        # the subset's own largest norm, found again (``Data.xmax``)
        return replace(data, X=X, weights=w, chunk=min(data.chunk, int(idx.shape[0])), xmax=None)

    def _init_rows(self, data: Data, size: int, rs: np.random.RandomState) -> np.ndarray:
        """Random rows for an initialisation, among the rows of positive weight
        (all rows when unweighted: the same draws as scikit-learn)."""
        if data.weights is None:
            return rs.randint(0, data.n, size)
        w = _backend.to_host(data.xp, data.weights)
        pos = np.flatnonzero(w > 0)
        if pos.shape[0] == data.n:
            return rs.randint(0, data.n, size)
        return pos[rs.randint(0, pos.shape[0], size)]

    def _init_centers(self, sub: Data, init: Any, k: int, rs: np.random.RandomState) -> Array:
        """Initial centers (shifted frame) from the rows of ``sub``.

        A callable is called as scikit-learn calls it, on those rows:
        ``init(X_sub, n_clusters, random_state=rs)``.
        """
        if callable(init):
            C = self._callable_result(sub, k)(init(sub.X, k, random_state=rs))
            return C if sub.offset is None else C - sub.offset
        if is_array_init(init):
            return init if sub.offset is None else init - sub.offset
        if init == "random":
            return init_random(sub, k, rs)
        if init == "k-means||":
            return kmeans_parallel(sub, k, rs)
        centers, _ = _kmeans_plusplus(sub, k, rs)
        return centers

    # --------------------------------------------------------------------- fit
    @one_blas_thread
    def fit(
        self, X: Array, y: object = None, sample_weight: Array | None = None
    ) -> MiniBatchKMeans:
        """Compute the clustering of ``X`` by mini-batches.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        y : ignored
        sample_weight : array of shape (n_samples,), default=None

        Returns
        -------
        self : MiniBatchKMeans
        """
        self._validate_params()
        xp0, _ = get_namespace(X)
        reject_lazy(xp0, type(self).__name__, _LAZY_HINT)
        inp = self._fit_input(X, sample_weight)
        xp, device, k, rs = inp.xp, inp.device, inp.k, inp.random_state
        n = int(inp.X.shape[0])
        init_size = self._init_size(k, n)
        batch = min(int(self.batch_size), n)
        data = self._make_data(xp, inp.X, inp.weights, device, None, k, inp.weight_scale)
        mean, var = column_mean_var(data)
        tol = float(data.sxp.mean(var)) * float(self.tol)
        offset = mean if data.shiftable and needs_offset(data.sxp, mean, var) else None
        data = data.shifted(offset)
        progress = Progress(self.verbose, inp.n_init, k)
        # batches draw rows in proportion to their weight and count each drawn
        # row once (scikit-learn's way): a drawn row is worth the mean weight,
        # ``scale`` in the caller's units (the counts are in those units)
        w_host = None if data.weights is None else _backend.to_host(xp, data.weights)
        w_host = None if w_host is None else w_host.astype(np.float64)
        scale = inp.weight_scale * (1.0 if w_host is None else float(np.sum(w_host)) / n)
        started = time.perf_counter()

        with memory_advice(data, k, self.chunk_bytes), _backend.blas_one_thread:
            # candidates are compared on held-out rows, each built on its own rows
            valid = self._sub(data, rs.randint(0, n, init_size))
            best = None
            for _ in range(inp.n_init):
                progress.init_start(InitMethod.resolve(inp.init, xp).value)
                # all the rows when init_size covers them (no draw, as scikit-learn)
                sub = (
                    data
                    if init_size >= n
                    else self._sub(data, self._init_rows(data, init_size, rs))
                )
                centers = self._init_centers(sub, inp.init, k, rs)
                value = assign_with_inertia(valid, centers).inertia
                if self.verbose:
                    progress.say(f"{progress.tag()}: held-out inertia {value:.6g}")
                if best is None or value < best[0]:
                    best = (value, centers)
            assert best is not None
            centers = best[1]

            state = _StreamState(data.sxp.zeros((k,), dtype=data.sdtype, device=data.sdevice))
            stop = _EarlyStopping(n, batch, tol, self.max_no_improvement)
            ratio = float(self.reassignment_ratio)
            n_steps = max(1, (int(self.max_iter) * n) // batch)
            units = replace(data, weights=None, weight_scale=scale)
            last = 0.0
            step = 0
            for step in range(n_steps):
                part = self._sub(units, weight_unit_rows(rs, w_host, n, batch))
                due = state.reassign_due(data.sxp, batch)
                new, state.counts, value = minibatch_step(part, centers, state.counts)
                if due and ratio > 0:
                    new, state.counts, _ = reassign_small(part, new, state.counts, ratio, rs)
                shift = 0.0
                if tol > 0 or self.verbose:
                    shift = sum_of_squares(xp, new - centers)
                centers = new
                # per drawn row, in units of the mean weight (finite whatever
                # the caller's weights); scaled back for inertia_ and the
                # progress lines
                last = float(value) / batch
                done = stop(step, last, shift)
                if self.verbose:
                    ewa = last if stop.ewa is None else stop.ewa
                    progress.say(
                        f"Minibatch step {step + 1}/{n_steps}: batch inertia "
                        f"{last * scale:.6g}, smoothed {ewa * scale:.6g}, "
                        f"center shift {shift:.3g}, "
                        f"elapsed {time.perf_counter() - started:.2f}s"
                    )
                if done:
                    break
            if self.verbose:
                how = "converged" if step + 1 < n_steps else "stopped at max_iter"
                progress.say(f"{progress.tag()}: {how} after {step + 1} steps")
            labels: Array | None = None
            inertia = 0.0
            if self.compute_labels:
                labels, inertia, _ = assign_with_inertia(data, centers)

        self._stream = state
        self._rs = rs
        self._weight_scale = scale
        self._set_centers(xp, data.sxp, centers, offset)
        self.n_steps_ = step + 1
        self.n_iter_ = math.ceil(self.n_steps_ * batch / n)
        self.n_features_in_ = data.d
        if labels is None:
            self.__dict__.pop("labels_", None)
            self.inertia_ = (last if stop.ewa is None else stop.ewa) * n * scale
        else:
            self.labels_, self.inertia_ = labels, inertia
        return self

    @one_blas_thread
    def partial_fit(
        self, X: Array, y: object = None, sample_weight: Array | None = None
    ) -> MiniBatchKMeans:
        """Update the centers with one mini-batch step on the rows of ``X``.

        The first call initialises the centers from (up to ``init_size``
        rows of) ``X``, which must then have at least ``n_clusters`` rows.
        Later calls must pass arrays of the same library, device and number
        of features. Continues from ``fit`` when called after it.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        y : ignored
        sample_weight : array of shape (n_samples,), default=None

        Returns
        -------
        self : MiniBatchKMeans
        """
        first = not hasattr(self, "cluster_centers_")
        self._validate_params()
        if first:
            xp0, _ = get_namespace(X)
            reject_lazy(xp0, type(self).__name__, _LAZY_HINT)
            inp = self._fit_input(X, sample_weight, where="the first batch")
            xp, device, k, rs, Xc = inp.xp, inp.device, inp.k, inp.random_state, inp.X
            w, scale = inp.weights, inp.weight_scale
            n = int(Xc.shape[0])
            data = self._make_data(xp, Xc, w, device, None, k, scale)
            mean, var = column_mean_var(data)
            offset = mean if data.shiftable and needs_offset(data.sxp, mean, var) else None
            data = data.shifted(offset)
            init_size = self._init_size(k, n)
            with memory_advice(data, k, self.chunk_bytes), _backend.blas_one_thread:
                if is_array_init(inp.init):
                    sub = data
                else:
                    sub = (
                        data
                        if init_size >= n
                        else self._sub(data, self._init_rows(data, init_size, rs))
                    )
                centers = self._init_centers(sub, inp.init, k, rs)
            state = _StreamState(data.sxp.zeros((k,), dtype=data.sdtype, device=data.sdevice))
            n_steps = 0
        else:
            centers_out = self.cluster_centers_
            check_feature_names(self, X, reset=False)
            xp, device = get_namespace(
                X,
                fitted=centers_out,
                estimator=type(self).__name__,
                method="partial_fit",
            )
            reject_lazy(xp, type(self).__name__, _LAZY_HINT)
            Xc = check_data(
                xp,
                X,
                device,
                dtype=centers_out.dtype,
                n_features=self.n_features_in_,
                estimator=type(self).__name__,
            )
            k = check_n_clusters(self.n_clusters, None)
            n = int(Xc.shape[0])
            sw = prepare_sample_weight(xp, sample_weight, n, Xc.dtype, device, like=Xc)
            scale = self._weight_scale
            ratio = sw.scale / scale  # into the first call's scale
            if sw.array is None:
                w = None if ratio == 1.0 else xp.full((n,), ratio, dtype=Xc.dtype, device=device)
            else:
                w = sw.array if ratio == 1.0 else sw.array * ratio
            rs, offset, state = self._rs, self._offset, self._stream
            if offset is not None and _backend.is_sparse(Xc):
                raise ValueError(
                    f"{type(self).__name__} started on dense data far from the origin, which it "
                    "shifts by their mean; sparse samples are never shifted, so partial_fit "
                    "cannot continue on sparse data: pass dense batches (X.toarray()), or "
                    "start on sparse data"
                )
            data = self._make_data(xp, Xc, w, device, offset, k, scale)
            if data.sxp is not xp:
                centers_out = data.sxp.asarray(_backend.to_host(xp, centers_out))
            centers = self._working_centers(data.sxp, centers_out)
            n_steps = self.n_steps_
        with memory_advice(data, k, self.chunk_bytes), _backend.blas_one_thread:
            due = state.reassign_due(data.sxp, n)
            centers, state.counts, value = minibatch_step(data, centers, state.counts)
            if due and float(self.reassignment_ratio) > 0:
                centers, state.counts, _ = reassign_small(
                    data, centers, state.counts, float(self.reassignment_ratio), rs
                )
            labels: Array | None = None
            inertia = 0.0
            if self.compute_labels:
                labels, inertia, _ = assign_with_inertia(data, centers)
        if first:
            self._offset, self._rs, self._weight_scale = offset, rs, scale
        self._stream = state
        self._set_centers(xp, data.sxp, centers, offset)
        self.n_steps_ = n_steps + 1
        self.n_features_in_ = data.d
        if self.verbose:
            print(
                f"partial_fit step {self.n_steps_}: batch inertia {float(value) * scale / n:.6g}",
                file=sys.stderr,
            )
        if labels is None:
            self.__dict__.pop("labels_", None)
        else:
            self.labels_, self.inertia_ = labels, inertia
        return self

    def fit_predict(self, X: Array, y: object = None, sample_weight: Array | None = None) -> Array:
        """Fit, then return the label of every sample.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        y : ignored
        sample_weight : array of shape (n_samples,), default=None

        Returns
        -------
        labels : array of shape (n_samples,)
        """
        self.fit(X, sample_weight=sample_weight)
        return self.labels_ if self.compute_labels else self.predict(X)
