"""One run of Lloyd's algorithm, scikit-learn's semantics. Pure Array API."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from . import _backend
from ._assign import Data, assign_pass, inertia, sq_dist_to_assigned


def new_centers(
    data: Data, old_centers: Any, labels: Any, sums: Any, counts: Any
) -> Any:
    """Weighted means; empty clusters take the points farthest from their center.

    As scikit-learn does: the k_empty points farthest from their own (old)
    center each become the center of one empty cluster and leave the sums of
    the cluster they came from. Empty clusters are rare, so that repair runs
    on the host with a few tiny transfers; the common path stays on device.
    """
    xp = data.xp
    n_empty = int(xp.sum(xp.astype(counts == 0, xp.int32)))
    if n_empty:
        sums, counts = _relocate_empty(data, old_centers, labels, sums, counts, n_empty)
    safe = xp.where(counts > 0, counts, xp.ones_like(counts))
    return sums / safe[:, None]


def _relocate_empty(
    data: Data, old_centers: Any, labels: Any, sums: Any, counts: Any, n_empty: int
) -> tuple[Any, Any]:
    xp = data.xp
    dist = sq_dist_to_assigned(data, old_centers, labels)
    far = xp.argsort(dist, descending=True, stable=True)[:n_empty]
    far_h = _backend.to_host(xp, far)
    rows_h = _backend.to_host(xp, data.take(far))
    labels_h = _backend.to_host(xp, xp.take(labels, far, axis=0))
    if data.weights is None:
        w_h = np.ones(n_empty, dtype=rows_h.dtype)
    else:
        w_h = _backend.to_host(xp, xp.take(data.weights, far, axis=0))
    sums_h = _backend.to_host(xp, sums).copy()
    counts_h = _backend.to_host(xp, counts).copy()
    empty = np.flatnonzero(counts_h == 0)
    for new_id, i in zip(empty, range(len(far_h))):
        old_id = labels_h[i]
        sums_h[old_id] -= rows_h[i] * w_h[i]
        counts_h[old_id] -= w_h[i]
        sums_h[new_id] = rows_h[i] * w_h[i]
        counts_h[new_id] = w_h[i]
    dtype = sums.dtype
    return (
        _backend.from_host(xp, sums_h, data.device, dtype),
        _backend.from_host(xp, counts_h, data.device, dtype),
    )


def lloyd_single(
    data: Data,
    centers_init: Any,
    *,
    max_iter: int,
    tol: float,
    verbose: int = 0,
    report: Callable[..., None] | None = None,
) -> tuple[Any, Any, Any, int]:
    """Run Lloyd iterations from ``centers_init``.

    Returns ``(labels, inertia, centers, n_iter)``. Stops when the labels do
    not change (strict convergence) or when the total squared center shift is
    at most ``tol`` (already scaled to the data); afterwards the labels are
    recomputed for the final centers unless they already match them.
    """
    xp = data.xp
    centers = centers_init
    labels_old = None
    strict = False
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        labels, sums, counts = assign_pass(data, centers, update=True)
        centers_new = new_centers(data, centers, labels, sums, counts)
        centers, centers_prev = centers_new, centers
        if labels_old is not None and bool(xp.all(labels == labels_old)):
            strict = True
            if report is not None:
                report(n_iter, labels, centers_prev, 0.0)
            break
        diff = centers - centers_prev
        shift = float(xp.sum(diff * diff))
        if report is not None:
            report(n_iter, labels, centers_prev, shift)
        if shift <= tol:
            break
        labels_old = labels
    if not strict:
        labels, _, _ = assign_pass(data, centers, update=False)
    return labels, inertia(data, centers, labels), centers, n_iter
