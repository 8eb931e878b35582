"""Chunked nearest-center assignment and the passes built on it.

Pure Array API: every function takes the namespace ``xp``. Distances are
computed as ``0.5*||c||^2 - x.c`` (same argmin as ``||x - c||^2``) for one row
chunk at a time, so no (n_samples, n_clusters) array is ever allocated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from . import _backend


@dataclass
class Data:
    """The samples of one fit, with what every pass needs.

    ``offset`` is the per-feature mean subtracted chunk by chunk (never from
    the caller's array) when the data sit far from the origin, so float32
    dot products stay accurate; centers are kept in the same shifted frame.
    """

    xp: Any
    X: Any
    weights: Any  # None for unit weights
    offset: Any  # None when no shift is applied
    device: Any
    chunk: int  # rows per chunk

    @property
    def n(self) -> int:
        return int(self.X.shape[0])

    @property
    def d(self) -> int:
        return int(self.X.shape[1])

    @property
    def dtype(self) -> Any:
        return self.X.dtype

    def bounds(self) -> Iterator[tuple[int, int]]:
        for start in range(0, self.n, self.chunk):
            yield start, min(self.n, start + self.chunk)

    def rows(self, start: int, stop: int) -> Any:
        """Rows start:stop in the shifted frame (a new array when shifted)."""
        block = self.X[start:stop, ...]
        if self.offset is not None:
            block = block - self.offset
        return block

    def weights_of(self, start: int, stop: int) -> Any:
        return None if self.weights is None else self.weights[start:stop]

    def take(self, indices: Any) -> Any:
        """Rows at ``indices`` in the shifted frame."""
        rows = self.xp.take(self.X, indices, axis=0)
        if self.offset is not None:
            rows = rows - self.offset
        return rows


def chunk_size_for(xp: Any, X: Any, device: Any, n_cols: int, budget: int | None) -> int:
    itemsize = 8 if X.dtype == getattr(xp, "float64", None) else 4
    row_bytes = itemsize * (int(n_cols) + int(X.shape[1]))
    return _backend.chunk_rows(xp, device, int(X.shape[0]), row_bytes, budget)


def needs_offset(xp: Any, mean: Any, var: Any) -> bool:
    """Shift the data when their mean is large against their spread."""
    return bool(xp.sum(mean * mean) > xp.sum(var))


def half_sq_norms(xp: Any, C: Any) -> Any:
    return 0.5 * xp.sum(C * C, axis=1)


def block_scores(xp: Any, Xb: Any, centers_t: Any, half_csq: Any) -> Any:
    """(rows, k) scores 0.5*||c||^2 - x.c: argmin is the nearest center."""
    return half_csq[None, :] - xp.matmul(Xb, centers_t)


def block_assign(xp: Any, Xb: Any, centers_t: Any, half_csq: Any) -> Any:
    return xp.argmin(block_scores(xp, Xb, centers_t, half_csq), axis=1)


def block_update(xp: Any, Xb: Any, wb: Any, labels: Any, k: int) -> tuple[Any, Any]:
    """Per-cluster weighted sums (k, d) and weight totals (k,) of one block."""
    values = Xb if wb is None else Xb * wb[:, None]
    sums = _backend.segment_sum(xp, values, labels, k)
    counts = _backend.segment_count(xp, labels, k, wb, Xb.dtype)
    return sums, counts


def assign_pass(
    data: Data, centers: Any, *, update: bool
) -> tuple[Any, Any, Any]:
    """Labels of every sample; with ``update``, per-cluster sums and weights."""
    xp = data.xp
    k = int(centers.shape[0])
    centers_t = xp.permute_dims(centers, (1, 0))
    half_csq = half_sq_norms(xp, centers)
    labels = []
    sums = counts = None
    for start, stop in data.bounds():
        Xb = data.rows(start, stop)
        lab = block_assign(xp, Xb, centers_t, half_csq)
        labels.append(lab)
        if update:
            s, c = block_update(xp, Xb, data.weights_of(start, stop), lab, k)
            sums = s if sums is None else sums + s
            counts = c if counts is None else counts + c
    all_labels = labels[0] if len(labels) == 1 else xp.concat(labels)
    return all_labels, sums, counts


def sq_dist_to_assigned(data: Data, centers: Any, labels: Any) -> Any:
    """Exact squared distance of every sample to its assigned center, (n,)."""
    xp = data.xp
    out = []
    for start, stop in data.bounds():
        diff = data.rows(start, stop) - xp.take(centers, labels[start:stop], axis=0)
        out.append(xp.sum(diff * diff, axis=1))
    return out[0] if len(out) == 1 else xp.concat(out)


def inertia(data: Data, centers: Any, labels: Any) -> Any:
    """Weighted sum of squared distances to the assigned centers (0-d array)."""
    xp = data.xp
    total = None
    for start, stop in data.bounds():
        diff = data.rows(start, stop) - xp.take(centers, labels[start:stop], axis=0)
        d2 = xp.sum(diff * diff, axis=1)
        wb = data.weights_of(start, stop)
        part = xp.sum(d2) if wb is None else xp.sum(d2 * wb)
        total = part if total is None else total + part
    return total


def transform(data: Data, centers: Any) -> Any:
    """Euclidean distances (n, k) from every sample to every center."""
    xp = data.xp
    centers_t = xp.permute_dims(centers, (1, 0))
    csq = xp.sum(centers * centers, axis=1)
    out = []
    for start, stop in data.bounds():
        Xb = data.rows(start, stop)
        xsq = xp.sum(Xb * Xb, axis=1)
        d2 = xsq[:, None] + csq[None, :] - 2.0 * xp.matmul(Xb, centers_t)
        out.append(xp.sqrt(xp.clip(d2, 0.0, None)))
    return out[0] if len(out) == 1 else xp.concat(out)
