"""Lloyd's iterations, one empty-cluster relocation, the ``Step`` protocol.

Pure Array API. ``run_lloyd`` drives any :class:`Step` (Lloyd's pass, or the
Hamerly step that gives the same labels with fewer distance computations) for
both geometries (Euclidean means, or normalised sums for cosine).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple, Protocol

import numpy as np

from . import _backend
from ._assign import (
    Data,
    Geometry,
    PassResult,
    assign_with_inertia,
    farthest,
    inertia_and_sizes,
    lloyd_pass,
    on_center_cost,
    sum_of_squares,
)
from ._typing import Array, Namespace

# report(n_iter, labels, centers the labels were computed for, center shift)
Report = Callable[[int, Array, Array, float], None]


class Step(Protocol):
    """One iteration's assignment pass: labels and per-cluster sums."""

    def __call__(self, centers: Array, labels_old: Array | None) -> PassResult: ...

    def moved(self, old: Array, new: Array) -> None:
        """Told how the centers moved (bound-based steps use it)."""


class LloydStep:
    """One Lloyd iteration: assign every sample, sum per cluster."""

    def __init__(self, data: Data) -> None:
        # larger chunks where the rows are read in place, each taken in
        # blocks of the budget's rows (``Data.for_lloyd``)
        self.data = data.for_lloyd()
        self.block_rows = data.chunk if self.data.chunk > data.chunk else None

    def __call__(self, centers: Array, labels_old: Array | None) -> PassResult:
        return lloyd_pass(self.data, centers, labels_old, self.block_rows)

    def moved(self, old: Array, new: Array) -> None:
        pass


class Update(NamedTuple):
    """New centers, and whether an empty cluster was given a sample."""

    centers: Array
    relocated: bool


def unit_sums(sxp: Namespace, sums: Array) -> tuple[Array, Array]:
    """Per-cluster sums scaled to unit length (robust to any scale), and
    whether each had a direction."""
    big = sxp.max(sxp.abs(sums), axis=1)
    safe = sxp.where(big > 0, big, sxp.ones_like(big))
    scaled = sums / safe[:, None]
    norms = sxp.sqrt(sxp.sum(scaled * scaled, axis=1))
    ok = norms > 0
    return scaled / sxp.where(ok, norms, sxp.ones_like(norms))[:, None], ok


def new_centers(data: Data, old: Array, labels: Array, sums: Array, counts: Array) -> Update:
    """Centers from the per-cluster sums; empty clusters take the samples
    farthest from their center (``relocate_empty``).

    Euclidean: weighted means. Cosine: the normalised sums (a cluster whose
    members cancel out keeps its center). A cluster still empty (no sample
    could be spared) keeps its center.
    """
    sxp = data.sxp
    n_empty = int(sxp.count_nonzero(counts == 0))
    relocated = False
    if n_empty:
        sums, counts, relocated = relocate_empty(data, old, labels, sums, counts, n_empty)
    if data.geometry is Geometry.COSINE:
        unit, ok = unit_sums(sxp, sums)
        centers = sxp.where(((counts > 0) & ok)[:, None], unit, old)
    elif not n_empty:  # the common case: every cluster has weight (same bits)
        centers = sums / counts[:, None]
    else:
        filled = counts > 0
        safe = sxp.where(filled, counts, sxp.ones_like(counts))
        centers = sxp.where(filled[:, None], sums / safe[:, None], old)
    return Update(centers, relocated)


def relocate_empty(
    data: Data, old: Array, labels: Array, sums: Array, counts: Array, n_empty: int
) -> tuple[Array, Array, bool]:
    """Give each empty cluster one of the samples farthest from its center.

    As scikit-learn does: the samples of largest cost against their own (old)
    center, farthest first (earliest first among ties), each become the only
    member of one empty cluster and leave the sums of the cluster they came
    from. A sample of zero weight, or the last weight of its cluster, is not
    moved (it would leave a cluster empty or centered on nothing). Empty
    clusters are rare, so this runs on the host with a few tiny transfers.
    A sample whose cost is rounding (it sits on its center) is not moved:
    the empty clusters take its cluster's center instead. scikit-learn moves
    it, which gives the same duplicate center up to the rounding of the
    donor's new mean, and that rounding can send the samples back and forth
    between the copies for ever. Returns the sums, the counts, and whether
    anything changed (a sample moved, or an empty cluster took a center): a
    copied center is a change too, or the run could stop "converged" with
    labels that name the donor while ``predict`` names the copy (the lowest
    index among equal centers).
    """
    sxp = data.sxp
    m = min(data.n, n_empty + int(counts.shape[0]))
    far = farthest(data, old, labels, m)
    cost_h = _backend.to_host(sxp, far.costs)
    rows_h = _backend.to_host(sxp, far.rows)
    labels_h = _backend.to_host(sxp, far.labels)
    w_h = _backend.to_host(sxp, far.weights)
    sums_h = _backend.to_host(sxp, sums).copy()
    counts_h = _backend.to_host(sxp, counts).copy()
    empty = list(np.flatnonzero(counts_h == 0))
    # what is left of a cluster below this share of its weight is rounding
    floor = np.sqrt(np.finfo(counts_h.dtype).eps) * counts_h
    negligible = on_center_cost(data)
    moved = False
    for i in range(rows_h.shape[0]):
        if not empty:
            break
        if not cost_h[i] > negligible:
            # the rest sit on their centers: moving one would only duplicate
            # its center, so the empty clusters take that center (the same
            # sums, so the same mean to the last bit) and no sample moves;
            # the next pass assigns the samples against the copies
            for new_id in empty:
                sums_h[new_id] = sums_h[labels_h[i]]
                counts_h[new_id] = counts_h[labels_h[i]]
            moved = True
            break
        old_id = labels_h[i]
        if not w_h[i] > 0 or counts_h[old_id] - w_h[i] <= floor[old_id]:
            continue
        new_id = empty.pop(0)
        sums_h[old_id] -= rows_h[i] * w_h[i]
        counts_h[old_id] -= w_h[i]
        sums_h[new_id] = rows_h[i] * w_h[i]
        counts_h[new_id] = w_h[i]
        moved = True
    return (
        _backend.from_host(sxp, sums_h, data.sdevice, sums.dtype),
        _backend.from_host(sxp, counts_h, data.sdevice, counts.dtype),
        moved,
    )


class RunResult(NamedTuple):
    """One run from one initialisation. ``converged``: stopped before
    ``max_iter`` (no label changed, or the center shift reached ``tol``)."""

    labels: Array
    inertia: float
    centers: Array
    n_iter: int
    n_nonempty: int
    converged: bool
    strict: bool  # converged because no label changed


def same_clustering(xp: Namespace, a: Array, b: Array, k: int) -> bool:
    """Whether labels ``b`` (in ``xp``, the data's namespace) name the same
    clusters as ``a`` up to a renaming (each cluster of ``a`` has one label in
    ``b``), as scikit-learn's ``_is_same_clustering``: on the host, for the
    choice between runs."""
    ah = _backend.to_host(xp, a).astype(np.int64)
    bh = _backend.to_host(xp, b).astype(np.int64)
    mapping = np.full(k, -1, dtype=np.int64)
    mapping[ah] = bh
    return bool(np.array_equal(mapping[ah], bh))


def better_run(xp: Namespace, run: RunResult, best: RunResult | None, k: int) -> bool:
    """Whether ``run`` replaces ``best`` among restarts: a lower inertia and
    not the same clustering (scikit-learn's rule). The same partition reached
    from two seeds, with its centers in another order, keeps the first: which
    inertia is lower is then rounding, which would decide the names of the
    clusters by the last bits of the data (rows or weights scaled, another
    backend's summation order)."""
    if best is None:
        return True
    return run.inertia < best.inertia and not same_clustering(xp, best.labels, run.labels, k)


def run_lloyd(
    data: Data,
    centers_init: Array,
    *,
    max_iter: int,
    tol: float,
    report: Report | None = None,
    step: Step | None = None,
) -> RunResult:
    """Lloyd iterations from ``centers_init`` (in the small namespace).

    Stops when no label changes and no cluster was relocated (strict
    convergence), or when the total squared center shift is at most ``tol``
    (already scaled to the data). The labels and inertia returned always
    belong to the centers returned: unless the last pass already assigned
    them, they are recomputed for the final centers.
    """
    sxp = data.sxp
    step = LloydStep(data) if step is None else step
    centers = centers_init
    labels = None
    strict = converged = False
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        labels_old = labels
        res = step(centers, labels_old)
        labels = _backend.persist(data.xp, res.labels)
        centers_prev = centers
        centers, relocated = new_centers(data, centers, labels, res.sums, res.counts)
        if labels_old is not None and res.n_changed == 0 and not relocated:
            strict = converged = True
            if report is not None:
                report(n_iter, labels, centers_prev, 0.0)
            break
        # (scale-free: a shift of one ulp of tiny float32 data squares to nothing)
        shift = sum_of_squares(sxp, centers - centers_prev)
        if report is not None:
            report(n_iter, labels, centers_prev, shift)
        if shift <= tol:
            converged = True
            break
        step.moved(centers_prev, centers)
    if strict:
        value, n_nonempty = inertia_and_sizes(data, centers, labels)
        labels = _backend.rows_in(data.xp, labels)  # a pass's: maybe NumPy
    else:  # the labels of the final centers and their cost, in one pass
        labels, value, n_nonempty = assign_with_inertia(data, centers)
        labels = _backend.persist(data.xp, labels)
    return RunResult(labels, value, centers, n_iter, n_nonempty, converged, strict)
