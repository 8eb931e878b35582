"""Chunked nearest-center assignment and the passes built on it.

Pure Array API: every function takes the namespace ``xp`` (or gets it from
``Data``). Distances are computed as ``0.5*||c||^2 - x.c`` (the same argmin as
``||x - c||^2``) for one row chunk at a time, so no (n_samples, n_clusters)
array is ever allocated. Every pass is a map over row chunks with a small
reduction (``_backend.map_rows``), which is also how it runs on Dask.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial
from typing import Any, Iterator

from . import _backend


@dataclass
class Data:
    """The samples of one fit, with what every pass needs.

    ``offset`` is the per-feature mean subtracted chunk by chunk (never from
    the caller's array) when the data sit far from the origin, so float32
    dot products stay accurate; centers are kept in the same shifted frame.
    ``sxp`` is the namespace of the small arrays (centers, statistics).
    """

    xp: Any
    X: Any
    weights: Any  # None for unit weights
    offset: Any  # None when no shift is applied (in sxp)
    device: Any
    chunk: int  # rows per chunk
    sxp: Any = None
    chunk_cols: int = 0  # the per-row score columns ``chunk`` was sized for

    def with_columns(self, n_cols: int) -> "Data":
        """The same data with chunks sized for ``n_cols`` score columns per row
        (same memory budget): larger chunks when a pass needs fewer columns."""
        if not self.chunk_cols:
            return self
        rows = self.chunk * (self.chunk_cols + self.d) // (int(n_cols) + self.d)
        limit = self.n if not _backend.is_lazy(self.xp) else max(self.X.chunks[0])
        return replace(self, chunk=int(max(1, min(limit, rows))), chunk_cols=int(n_cols))

    def __post_init__(self) -> None:
        if self.sxp is None:
            self.sxp = _backend.small_namespace(self.xp)

    @property
    def n(self) -> int:
        return int(self.X.shape[0])

    @property
    def d(self) -> int:
        return int(self.X.shape[1])

    @property
    def dtype(self) -> Any:
        return self.X.dtype

    def map(
        self,
        fn: Any,
        rows: tuple[Any, ...] = (),
        shared: tuple[Any, ...] = (),
        *,
        combine: Any = _backend.add_stats,
        out_specs: tuple[tuple[tuple[int, ...], Any], ...] = (),
        parallel: bool = True,
        join: bool = True,
    ) -> tuple[Any, Any]:
        """``map_rows`` over (X, weights, *rows) with (offset, *shared).

        ``parallel=False`` keeps host chunks on one thread: for block functions
        made of many small operations, which would mostly wait for the GIL.
        ``join=False`` (in memory only): the list of each chunk's outputs.
        """
        return _backend.map_rows(
            self.xp,
            fn,
            (self.X, self.weights, *rows),
            (self.offset, *shared),
            chunk=self.chunk,
            combine=combine,
            out_specs=out_specs,
            threads=None if parallel else 1,
            join=join,
        )


def row_slices(n: int, chunk: int) -> Iterator[tuple[int, int]]:
    """(start, stop) of consecutive row chunks of at most ``chunk`` rows."""
    for start in range(0, n, chunk):
        yield start, min(n, start + chunk)


def shifted(Xb: Any, offset: Any) -> Any:
    return Xb if offset is None else Xb - offset


def expand(xp: Any, mask: Any, values: Any, old: Any) -> Any:
    """``old`` with the rows where the 1-D ``mask`` is set replaced, in order,
    by the rows of ``values`` (a gather, so it works without index assignment;
    ``values`` may have more rows than ``mask`` has set entries)."""
    pos = xp.cumulative_sum(xp.astype(mask, _backend.index_dtype(xp))) - 1
    pos = xp.minimum(xp.maximum(pos, 0), int(values.shape[0]) - 1)
    picked = xp.take(values, pos, axis=0)
    if picked.ndim > 1:
        mask = xp.reshape(mask, (int(mask.shape[0]),) + (1,) * (picked.ndim - 1))
    return xp.where(mask, picked, old)


def chunk_size_for(xp: Any, X: Any, device: Any, n_cols: int, budget: int | None) -> int:
    itemsize = 8 if X.dtype == getattr(xp, "float64", None) else 4
    row_bytes = itemsize * (int(n_cols) + int(X.shape[1]))
    n = X.shape[0]
    if _backend.is_lazy(xp):
        n = max(X.chunks[0])
    return _backend.chunk_rows(xp, device, int(n), row_bytes, budget)


def _sum_block(xp: Any, Xb: Any, wb: Any, offset: Any) -> Any:
    return (), (xp.sum(Xb, axis=0),)


def _sq_dev_block(xp: Any, Xb: Any, wb: Any, offset: Any, mean: Any) -> Any:
    dev = Xb - mean
    return (), (xp.sum(dev * dev, axis=0),)


def column_mean_var(data: Data) -> tuple[Any, Any]:
    """Per-feature mean and variance (unweighted), two chunked passes, so no
    temporary the size of X is made. In the small namespace."""
    _, (total,) = data.map(_sum_block)
    mean = total / data.n
    _, (sq,) = data.map(_sq_dev_block, (), (mean,))
    return mean, sq / data.n


def needs_offset(xp: Any, mean: Any, var: Any) -> bool:
    """Shift the data when their mean is large against their spread."""
    return bool(xp.sum(mean * mean) > xp.sum(var))


def half_sq_norms(xp: Any, C: Any) -> Any:
    return 0.5 * xp.sum(C * C, axis=1)


def block_assign(xp: Any, Xb: Any, centers_t: Any, half_csq: Any) -> Any:
    """Nearest center of each row: argmin of ``0.5*||c||^2 - x.c``."""
    return _backend.nearest_center(xp, Xb, centers_t, half_csq)


def block_update(xp: Any, Xb: Any, wb: Any, labels: Any, k: int) -> tuple[Any, Any]:
    """Per-cluster weighted sums (k, d) and weight totals (k,) of one block."""
    sums = _backend.segment_sum(xp, Xb, labels, k, wb)
    counts = _backend.segment_count(xp, labels, k, wb, Xb.dtype)
    return sums, counts


def centers_args(sxp: Any, centers: Any) -> tuple[Any, Any]:
    """(centers transposed, half squared norms): what assignment blocks need."""
    return sxp.permute_dims(centers, (1, 0)), half_sq_norms(sxp, centers)


def _lloyd_block(
    xp: Any, Xb: Any, wb: Any, old_b: Any, offset: Any, centers_t: Any, half_csq: Any
) -> tuple[tuple[Any], tuple[Any, Any, Any]]:
    Xb = shifted(Xb, offset)
    k = int(centers_t.shape[1])
    lab = block_assign(xp, Xb, centers_t, half_csq)
    sums, counts = block_update(xp, Xb, wb, lab, k)
    if old_b is None:
        changed = int(lab.shape[0])
    else:
        changed = xp.sum(xp.astype(lab != old_b, _backend.index_dtype(xp)))
    return (lab,), (sums, counts, changed)


def _label_block(
    xp: Any, Xb: Any, wb: Any, offset: Any, centers_t: Any, half_csq: Any
) -> tuple[tuple[Any], tuple[()]]:
    return (block_assign(xp, shifted(Xb, offset), centers_t, half_csq),), ()


def _no_stats(xp: Any, a: Any, b: Any) -> tuple[()]:
    return ()


def _sq_norm_block(xp: Any, Xb: Any, wb: Any, offset: Any) -> Any:
    Xb = shifted(Xb, offset)
    return (xp.sum(Xb * Xb, axis=1),), ()


def row_sq_norms(data: Data) -> Any:
    """Squared norm of every (shifted) sample, kept (persisted on Dask)."""
    (xsq,), _ = data.map(_sq_norm_block, combine=_no_stats, out_specs=(((), data.dtype),))
    return _backend.persist(data.xp, xsq)


def label_spec(data: Data) -> tuple[tuple[tuple[int, ...], Any], ...]:
    """Shape tail and dtype of a labels output (used by the Dask path)."""
    return (((), data.sxp.int64),)


def lloyd_pass(data: Data, centers: Any, labels_old: Any) -> tuple[Any, Any, Any, int]:
    """Assign every sample and sum per cluster: (labels, sums, counts, n_changed)."""
    (labels,), (sums, counts, changed) = data.map(
        _lloyd_block,
        (labels_old,),
        centers_args(data.sxp, centers),
        out_specs=label_spec(data),
    )
    return labels, sums, counts, int(changed)


def assign(data: Data, centers: Any) -> Any:
    """Labels of every sample for ``centers`` (in the data's namespace)."""
    (labels,), _ = data.map(
        _label_block, (), centers_args(data.sxp, centers), combine=_no_stats,
        out_specs=label_spec(data),
    )
    return labels


def _inertia_block(
    xp: Any, Xb: Any, wb: Any, lab: Any, offset: Any, centers: Any
) -> tuple[tuple[()], tuple[Any, Any]]:
    diff = shifted(Xb, offset) - xp.take(centers, lab, axis=0)
    d2 = xp.sum(diff * diff, axis=1)
    total = xp.sum(d2) if wb is None else xp.sum(d2 * wb)
    k = int(centers.shape[0])
    sizes = _backend.segment_count(xp, lab, k, None, Xb.dtype)
    return (), (total, sizes)


def inertia_and_sizes(data: Data, centers: Any, labels: Any) -> tuple[float, int]:
    """Weighted sum of squared distances to the assigned centers (computed
    directly, not from the expanded form) and the number of non-empty clusters."""
    _, (total, sizes) = data.map(_inertia_block, (labels,), (centers,))
    sxp = data.sxp
    return float(total), int(sxp.sum(sxp.astype(sizes > 0, sxp.int64)))


def _farthest_block(
    xp: Any, Xb: Any, wb: Any, lab: Any, offset: Any, centers: Any, m: Any
) -> tuple[tuple[()], tuple[Any, Any, Any, Any]]:
    Xb = shifted(Xb, offset)
    diff = Xb - xp.take(centers, lab, axis=0)
    d2 = xp.sum(diff * diff, axis=1)
    w = xp.ones_like(d2) if wb is None else wb
    return (), _top(xp, d2, Xb, lab, w, int(m))


def _top(xp: Any, d2: Any, rows: Any, lab: Any, w: Any, m: int) -> tuple[Any, Any, Any, Any]:
    # the m largest distances, earliest sample first among equal distances
    order = xp.argsort(d2, descending=True, stable=True)[:m]
    return (
        xp.take(d2, order),
        xp.take(rows, order, axis=0),
        xp.take(lab, order),
        xp.take(w, order),
    )


def _merge_top(xp: Any, a: tuple[Any, ...], b: tuple[Any, ...], m: int) -> tuple[Any, ...]:
    d2, rows, lab, w = (xp.concat([x, y]) for x, y in zip(a, b))
    return _top(xp, d2, rows, lab, w, m)


def farthest(data: Data, centers: Any, labels: Any, m: int) -> tuple[Any, Any, Any]:
    """The m samples farthest from their assigned center: (rows, labels, weights)."""
    _, (_, rows, lab, w) = data.map(
        _farthest_block, (labels,), (centers, m), combine=partial(_merge_top, m=m)
    )
    return rows, lab, w


def _transform_block(
    xp: Any, Xb: Any, wb: Any, offset: Any, centers_t: Any, csq: Any
) -> tuple[tuple[Any], tuple[()]]:
    Xb = shifted(Xb, offset)
    xsq = xp.sum(Xb * Xb, axis=1)
    d2 = xsq[:, None] + csq[None, :] - 2.0 * xp.matmul(Xb, centers_t)
    return (xp.sqrt(xp.maximum(d2, 0.0)),), ()


def transform(data: Data, centers: Any) -> Any:
    """Euclidean distances (n, k) from every sample to every center."""
    sxp = data.sxp
    k = int(centers.shape[0])
    (out,), _ = data.map(
        _transform_block,
        (),
        (sxp.permute_dims(centers, (1, 0)), sxp.sum(centers * centers, axis=1)),
        combine=_no_stats,
        out_specs=(((k,), data.dtype),),
    )
    return out
