"""One run of Lloyd's algorithm, scikit-learn's semantics. Pure Array API."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from . import _backend
from ._assign import Data, assign, farthest, inertia_and_sizes, lloyd_pass

Report = Callable[[int, Any, Any, float], None]


def new_centers(
    data: Data, old_centers: Any, labels: Any, sums: Any, counts: Any
) -> Any:
    """Weighted means; empty clusters take the points farthest from their center.

    As scikit-learn does: the points farthest from their own (old) center each
    become the center of one empty cluster and leave the sums of the cluster
    they came from. Empty clusters are rare, so that repair runs on the host
    with a few tiny transfers; the common path stays on the device.
    """
    sxp = data.sxp
    n_empty = int(sxp.sum(sxp.astype(counts == 0, sxp.int64)))
    if n_empty:
        sums, counts = _relocate_empty(data, old_centers, labels, sums, counts, n_empty)
    safe = sxp.where(counts > 0, counts, sxp.ones_like(counts))
    # a cluster still empty (no sample could be spared) keeps its center
    return sxp.where((counts > 0)[:, None], sums / safe[:, None], old_centers)


def _relocate_empty(
    data: Data, old_centers: Any, labels: Any, sums: Any, counts: Any, n_empty: int
) -> tuple[Any, Any]:
    sxp = data.sxp
    # extra candidates: a sample of zero weight, or the last weight of its
    # cluster, is not moved (it would leave a cluster empty or centered on 0)
    m = min(data.n, n_empty + int(counts.shape[0]))
    rows, far_labels, far_w = farthest(data, old_centers, labels, m)
    rows_h = _backend.to_host(sxp, rows)
    labels_h = _backend.to_host(sxp, far_labels)
    w_h = _backend.to_host(sxp, far_w)
    sums_h = _backend.to_host(sxp, sums).copy()
    counts_h = _backend.to_host(sxp, counts).copy()
    empty = list(np.flatnonzero(counts_h == 0))
    # what is left of a cluster below this share of its weight is rounding
    floor = np.sqrt(np.finfo(counts_h.dtype).eps) * counts_h
    for i in range(rows_h.shape[0]):
        if not empty:
            break
        old_id = labels_h[i]
        if not w_h[i] > 0 or counts_h[old_id] - w_h[i] <= floor[old_id]:
            continue
        new_id = empty.pop(0)
        sums_h[old_id] -= rows_h[i] * w_h[i]
        counts_h[old_id] -= w_h[i]
        sums_h[new_id] = rows_h[i] * w_h[i]
        counts_h[new_id] = w_h[i]
    return (
        _backend.from_host(sxp, sums_h, data.device, sums.dtype),
        _backend.from_host(sxp, counts_h, data.device, counts.dtype),
    )


class LloydStep:
    """One Lloyd iteration: assign every sample, sum per cluster."""

    def __init__(self, data: Data) -> None:
        self.data = data

    def __call__(self, centers: Any, labels_old: Any) -> tuple[Any, Any, Any, int]:
        return lloyd_pass(self.data, centers, labels_old)

    def moved(self, old: Any, new: Any) -> None:
        """Told how the centers moved (bound-based steps use it)."""


def lloyd_single(
    data: Data,
    centers_init: Any,
    *,
    max_iter: int,
    tol: float,
    report: Report | None = None,
    step: Any = None,
) -> tuple[Any, float, Any, int, int]:
    """Run Lloyd iterations from ``centers_init`` (in the small namespace).

    Returns ``(labels, inertia, centers, n_iter, n_nonempty)``. Stops when no
    label changes (strict convergence) or when the total squared center shift
    is at most ``tol`` (already scaled to the data); afterwards the labels are
    recomputed for the final centers unless they already match them.
    ``step`` computes one iteration's labels and sums (Lloyd's by default; the
    Hamerly step gives the same labels with fewer distance computations).
    """
    sxp = data.sxp
    step = LloydStep(data) if step is None else step
    centers = centers_init
    labels = None
    strict = False
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        labels_old = labels
        labels, sums, counts, changed = step(centers, labels_old)
        labels = _backend.persist(data.xp, labels)
        centers_prev, centers = centers, new_centers(data, centers, labels, sums, counts)
        if labels_old is not None and changed == 0:
            strict = True
            if report is not None:
                report(n_iter, labels, centers_prev, 0.0)
            break
        diff = centers - centers_prev
        shift = float(sxp.sum(diff * diff))
        if report is not None:
            report(n_iter, labels, centers_prev, shift)
        if shift <= tol:
            break
        step.moved(centers_prev, centers)
    if not strict:
        labels = _backend.persist(data.xp, assign(data, centers))
    value, n_nonempty = inertia_and_sizes(data, centers, labels)
    return labels, value, centers, n_iter, n_nonempty
