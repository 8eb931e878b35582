"""Kernels: nearest centers, products, per-cluster sums, row subsets.

One function per primitive: a native path where the library has a faster one,
and a fallback written against the Array API standard alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from array_api_compat import (
    is_cupy_namespace,
    is_jax_namespace,
    is_numpy_namespace,
    is_torch_namespace,
)
from array_api_compat import device as _device_of

from ._capabilities import device_of

__all__ = [
    "nearest_center",
    "nearest_two",
    "nonzero_rows",
    "products_by_column",
    "segment_count",
    "segment_sum",
]


def nonzero_rows(xp: Any, mask: Any) -> tuple[Any, int]:
    """Indices where the 1-D ``mask`` is set, and how many there are.

    JAX compiles every operation again for every new shape, so there the
    indices are padded (with valid repeats) to the next power of two: a
    handful of shapes instead of one per count. Callers use only the first
    ``count`` results.
    """
    if is_jax_namespace(xp):
        import jax.numpy as jnp

        count = int(jnp.sum(mask))
        size = 1 << max(0, count - 1).bit_length()
        size = min(size, int(mask.shape[0]))
        fill = jnp.argmax(mask) if count else 0
        return jnp.nonzero(mask, size=size, fill_value=fill)[0], count
    idx = xp.nonzero(mask)[0]
    return idx, int(idx.shape[0])


def nearest_center(xp: Any, Xb: Any, centers_t: Any, half_csq: Any) -> Any:
    """Index of the smallest score ``0.5*||c||^2 - x.c`` per row (ties: first)."""
    if is_numpy_namespace(xp):
        scores = np.matmul(Xb, centers_t)
        np.subtract(half_csq, scores, out=scores)
        return scores.argmin(axis=1)
    return xp.argmin(half_csq[None, :] - xp.matmul(Xb, centers_t), axis=1)


def products_by_column(xp: Any, Xb: Any, Ct: Any) -> Any:
    """``(Xb @ Ct)`` transposed, (m, rows), stored row by row: passes that
    follow then run along the long axis. The product itself is taken as
    (rows, m), the shape BLAS is fastest on for a few columns."""
    P = xp.matmul(Xb, Ct)
    if is_numpy_namespace(xp):
        return np.ascontiguousarray(P.T)
    if is_cupy_namespace(xp):
        import cupy

        return cupy.ascontiguousarray(P.T)
    if is_torch_namespace(xp):
        return P.T.contiguous()
    return xp.permute_dims(P, (1, 0))


def nearest_two(xp: Any, Xb: Any, centers_t: Any, half_csq: Any) -> tuple[Any, Any, Any]:
    """Per row: index of the smallest score (as ``nearest_center``), the
    smallest score and the second smallest (k >= 2)."""
    if is_numpy_namespace(xp):
        scores = np.matmul(Xb, centers_t)
        np.subtract(half_csq, scores, out=scores)
        a = scores.argmin(axis=1)
        rows = np.arange(scores.shape[0])
        best = scores[rows, a]
        scores[rows, a] = np.finfo(scores.dtype).max
        return a, best, scores.min(axis=1)
    scores = half_csq[None, :] - xp.matmul(Xb, centers_t)
    a = xp.argmin(scores, axis=1)
    ids = xp.arange(int(scores.shape[1]), dtype=a.dtype, device=device_of(a))
    mine = ids[None, :] == a[:, None]
    best = xp.min(scores, axis=1)
    second = xp.min(xp.where(mine, xp.finfo(scores.dtype).max, scores), axis=1)
    return a, best, second


# --------------------------------------------------------------------------
# segment sum: per-cluster sums of rows
# --------------------------------------------------------------------------
def segment_sum(
    xp: Any, values: Any, labels: Any, n_segments: int, weights: Any = None
) -> Any:
    """Sum the rows of ``values`` (n, d) into ``n_segments`` rows by ``labels``.

    Repeated labels accumulate (a true scatter-add); with ``weights`` each row
    is multiplied by its weight first. Returns an array of shape
    (n_segments, d) in the dtype of ``values``.
    """
    if is_numpy_namespace(xp):
        return _segment_sum_numpy(values, labels, n_segments, weights)
    if weights is not None:
        values = values * weights[:, None]
    if is_torch_namespace(xp):
        import torch

        out = torch.zeros(
            (n_segments, values.shape[1]), dtype=values.dtype, device=values.device
        )
        out.index_add_(0, labels, values)
        return out
    if is_cupy_namespace(xp):
        import cupy
        import cupyx

        out = cupy.zeros((n_segments, values.shape[1]), dtype=values.dtype)
        cupyx.scatter_add(out, labels, values)
        return out
    if is_jax_namespace(xp):
        import jax

        return jax.ops.segment_sum(values, labels, num_segments=n_segments)
    return _segment_sum_onehot(xp, values, labels, n_segments)


def segment_count(xp: Any, labels: Any, n_segments: int, weights: Any, dtype: Any) -> Any:
    """Per-segment count (or weight sum when ``weights`` is given)."""
    if is_numpy_namespace(xp):
        return np.bincount(labels, weights=weights, minlength=n_segments).astype(
            dtype, copy=False
        )
    if is_torch_namespace(xp):
        import torch

        if weights is None:
            return torch.bincount(labels, minlength=n_segments).to(dtype)
        return torch.bincount(labels, weights=weights, minlength=n_segments).to(dtype)
    if is_cupy_namespace(xp):
        import cupy

        return cupy.bincount(labels, weights=weights, minlength=n_segments).astype(dtype)
    if is_jax_namespace(xp):
        import jax
        import jax.numpy as jnp

        w = jnp.ones(labels.shape, dtype=dtype) if weights is None else weights
        return jax.ops.segment_sum(w, labels, num_segments=n_segments)
    ids = xp.arange(n_segments, dtype=labels.dtype, device=_device_of(labels))
    onehot = xp.astype(labels[:, None] == ids[None, :], dtype)
    if weights is None:
        return xp.sum(onehot, axis=0)
    return xp.matmul(weights[None, :], onehot)[0, :]


def _segment_sum_numpy(
    values: np.ndarray, labels: np.ndarray, k: int, weights: np.ndarray | None = None
) -> np.ndarray:
    n, d = values.shape
    try:
        from scipy.sparse import csc_matrix
    except ImportError:  # pragma: no cover - scipy comes with scikit-learn
        csc_matrix = None
    if csc_matrix is not None and n:
        # (k, n) one-hot as a sparse matrix times values: one compiled
        # scatter-add pass, in sample order for every cluster.
        data = np.ones(n, dtype=values.dtype) if weights is None else weights
        onehot = csc_matrix((data, labels, np.arange(n + 1)), shape=(k, n))
        return np.asarray(onehot @ values, dtype=values.dtype)
    if weights is not None:
        values = values * weights[:, None]
    # sort rows by label and add contiguous runs (exact for repeated labels,
    # much faster than np.add.at)
    out = np.zeros((k, d), dtype=values.dtype)
    if n == 0:
        return out
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    starts = np.flatnonzero(np.r_[True, sorted_labels[1:] != sorted_labels[:-1]])
    out[sorted_labels[starts]] = np.add.reduceat(values[order], starts, axis=0)
    return out


def _segment_sum_onehot(xp: Any, values: Any, labels: Any, k: int) -> Any:
    # Pure-standard fallback: (k, n) one-hot matrix times values. The caller
    # passes one row chunk at a time, so the one-hot block stays bounded.
    ids = xp.arange(k, dtype=labels.dtype, device=_device_of(labels))
    onehot_t = xp.astype(ids[:, None] == labels[None, :], values.dtype)
    return xp.matmul(onehot_t, values)


