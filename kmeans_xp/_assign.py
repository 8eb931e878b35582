"""The samples of one fit (``Data``) and the chunked passes over them.

Pure Array API: every function takes the namespace ``xp`` (or gets it from
``Data``). Distances are computed as ``0.5*||c||^2 - x.c`` (the same argmin as
``||x - c||^2``) for one row chunk at a time, so no (n_samples, n_clusters)
array is ever allocated. Every pass is a block function over row chunks with
a small reduction (``Data.map``, which runs ``_backend.map_rows``): the same
code runs in memory (chunks on a thread pool) and on Dask (one task a block).

A block function receives one :class:`Block` (its samples, prepared for the
fit's geometry, their weights and its part of each per-row array, by name)
and the shared small arrays, and returns a :class:`BlockOut`.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import cached_property, partial
from typing import Any, NamedTuple

from . import _backend
from ._typing import Array, Device, DType, Namespace


class Geometry(enum.Enum):
    """How samples and centers are compared.

    ``EUCLIDEAN``: squared Euclidean distance; samples are shifted by the
    fit's per-feature mean when they sit far from the origin (exact float32
    products). ``COSINE``: samples are scaled to unit length inside each block
    (never a copy of X) and centers are unit vectors; the cost of a sample is
    ``1 - cos``.
    """

    EUCLIDEAN = "euclidean"
    COSINE = "cosine"


class OutSpec(NamedTuple):
    """A per-row output of a pass: its trailing shape and dtype (for Dask)."""

    tail: tuple[int, ...]
    dtype: DType


class Block:
    """One row chunk as a block function sees it.

    ``X``: the samples, prepared for the geometry (shifted, or unit rows),
    computed on first use; ``raw``: the samples as stored, for block
    functions that prepare only the rows they need (``prepare``);
    ``weights``: their weights (None for unit weights); ``rows``: the chunk of
    every per-row array the pass was given, by name (None stays None).
    """

    def __init__(
        self,
        xp: Namespace,
        raw: Array,
        weights: Array | None,
        rows: Mapping[str, Any],
        geometry: Geometry,
        offset: Array | None,
    ) -> None:
        self.xp = xp
        self.raw = raw
        self.weights = weights
        self.rows = rows
        self.geometry = geometry
        self.offset = offset
        self._X: Array | None = None

    @property
    def X(self) -> Array:
        if self._X is None:
            self._X = self.prepare(self.raw)
        return self._X

    def prepare(self, raw_rows: Array) -> Array:
        """Some raw rows of this block, prepared as ``X`` is."""
        return prepare_block(self.xp, raw_rows, self.geometry, self.offset)

    def rows_at(self, idx: Array) -> Array:
        """The prepared rows at ``idx``: gathered, then prepared (only those
        rows' work); on libraries that compile per shape (JAX), the whole
        block is prepared once and gathered from (one shape, not one per
        subset size)."""
        if _backend.prefers_static_shapes(self.xp):
            return self.xp.take(self.X, idx, axis=0)
        return self.prepare(_backend.take_rows(self.xp, self.raw, idx))

    @property
    def n(self) -> int:
        return int(self.raw.shape[0])

    def weighted_sum(self, values: Array) -> Array:
        """Sum of ``values`` (n,) with the block's weights."""
        xp = self.xp
        return xp.sum(values) if self.weights is None else xp.sum(values * self.weights)


class BlockOut(NamedTuple):
    """What a block function returns: per-row outputs (joined across chunks)
    and small statistics (combined across chunks)."""

    rows: tuple[Any, ...]
    stats: tuple[Any, ...]


def unit_rows(xp: Namespace, X: Array) -> Array:
    """Rows scaled to unit Euclidean length; all-zero rows stay zero.

    Each row is first divided by its largest absolute value, so rows of any
    scale (1e-170 or 1e170) keep their direction: the squared norm never
    underflows or overflows. Sparse rows stay sparse (the same rule on their
    stored values).
    """
    if _backend.is_sparse(X):
        return _backend.sparse_unit_rows(X)
    big = xp.maximum(xp.max(X, axis=1), -xp.min(X, axis=1))  # no |X| temporary
    safe = xp.where(big > 0, big, xp.ones_like(big))
    Y = X / safe[:, None]
    norms = xp.sqrt(xp.sum(Y * Y, axis=1))
    return Y / xp.where(norms > 0, norms, xp.ones_like(norms))[:, None]


def prepare_block(xp: Namespace, Xb: Array, geometry: Geometry, offset: Array | None) -> Array:
    """A chunk of raw samples as the passes use them."""
    if geometry is Geometry.COSINE:
        return unit_rows(xp, Xb)
    return Xb if offset is None else Xb - offset  # never sparse: see ``Data``


def _run_block(
    xp: Namespace,
    Xb: Array,
    wb: Array | None,
    *rest: Any,
    names: tuple[str, ...],
    fn: Callable[..., BlockOut],
    geometry: Geometry,
) -> BlockOut:
    # the executor's positional call, turned into one named record
    rows, (offset, *shared) = rest[: len(names)], rest[len(names) :]
    block = Block(xp, Xb, wb, dict(zip(names, rows, strict=True)), geometry, offset)
    return fn(block, *shared)


# a Lloyd row's temporaries besides its scores, in values (``Data.for_lloyd``)
LLOYD_ROW_EXTRA = 8


@dataclass
class Data:
    """The samples of one fit, with what every pass needs.

    ``offset`` is the per-feature mean subtracted chunk by chunk (never from
    the caller's array) when the data sit far from the origin, so float32
    dot products stay accurate; centers are kept in the same shifted frame.
    Sparse samples (``_backend.is_sparse``: scipy.sparse or torch CSR) are
    never shifted (``shiftable`` is False, ``offset`` must be None): that
    would make them dense. ``sxp`` is the namespace of the small arrays
    (centers, statistics): the data's own, except NumPy for Dask (centers
    live on the client) and for data whose chunks run NumPy's code on views
    (``_backend.small_namespace``).
    """

    xp: Namespace
    X: Array
    weights: Array | None  # None for unit weights
    offset: Array | None  # None when no shift is applied (in sxp)
    device: Device
    chunk: int  # rows per chunk
    sxp: Any = None  # the small arrays' namespace (set from xp when None)
    chunk_cols: int = 0  # the per-row score columns ``chunk`` was sized for
    geometry: Geometry = Geometry.EUCLIDEAN
    weight_scale: float = 1.0  # the weights are the caller's divided by this
    xmax: float | None = None  # largest norm of a prepared sample, once known
    terms: int = 0  # the most terms of one product x.c (set from X when 0)
    # rows per chunk the memory budget allows for ``chunk_cols``, before the
    # cap at the rows there are (0: ``chunk``): ``with_columns`` scales this
    budget_rows: int = 0

    def __post_init__(self) -> None:
        if self.sxp is None:
            self.sxp = _backend.small_namespace(self.xp, self.device, self.X)
        if self.offset is not None and not self.shiftable:
            raise ValueError("sparse samples are never shifted: offset must be None")
        if not self.terms:
            self.terms = _backend.product_terms(self.X)

    @property
    def sdevice(self) -> Device:
        """The device of the small arrays: the data's, or the host's where
        they are NumPy (``sxp``: Dask, JAX on the CPU, dense CPU tensors)."""
        return self.device if self.sxp is self.xp else "cpu"

    @property
    def sparse(self) -> bool:
        """Whether the samples are sparse (scipy.sparse or torch CSR)."""
        return _backend.is_sparse(self.X)

    @property
    def shiftable(self) -> bool:
        """Whether an ``offset`` may be subtracted (not from sparse samples)."""
        return not self.sparse

    @property
    def width(self) -> int:
        """Values one sample holds, for chunk sizes: d, or for sparse
        samples their stored values and indices (``_backend.row_width``)."""
        return _backend.row_width(self.X)

    def with_columns(self, n_cols: int) -> Data:
        """The same data with chunks sized for ``n_cols`` score columns per row
        (same memory budget): larger chunks when a pass needs fewer columns."""
        if not self.chunk_cols:
            return self
        # unit rows take two (rows, d) temporaries more in every pass
        width = self.width
        extra = 2 * width if self.geometry is Geometry.COSINE else 0
        base = self.budget_rows or self.chunk
        rows = max(1, base * (self.chunk_cols + width) // (int(n_cols) + extra + width))
        limit = self.n if not _backend.is_lazy(self.xp) else max(self.X.chunks[0])
        return replace(
            self, chunk=int(min(limit, rows)), chunk_cols=int(n_cols), budget_rows=int(rows)
        )

    def shifted(self, offset: Array | None) -> Data:
        """The same samples shifted by ``offset`` (None: as they are); the
        largest norm of a shifted sample is found again when needed."""
        if offset is None:
            return replace(self, offset=None)
        return replace(self, offset=offset, xmax=None)

    def for_lloyd(self) -> Data:
        """The same data with chunks sized for a Lloyd pass over rows read
        where they are (``_backend.lloyd_in_place``; not shifted, Euclidean):
        such a pass keeps each row's scores and label, not a copy of its
        features, so only those count in the budget (``LLOYD_ROW_EXTRA``
        values for the label and the best two). Fewer chunks a pass: the
        executor's per-chunk work, which holds the GIL, slowed two threads at
        60k x 784 x 10 (91 chunks a pass). Where the rows are copied, the
        chunks stay as they are. Lloyd's and Hamerly's sums both follow these
        chunks (the same bits)."""
        return self.in_place(self.chunk_cols + LLOYD_ROW_EXTRA)

    def in_place(self, n_cols: int) -> Data:
        """The same data with chunks sized for a pass that reads the rows
        where they are (``_backend.lloyd_in_place``; not shifted, Euclidean)
        and keeps ``n_cols`` values a row of its own, no copy of the rows:
        the budget of ``with_columns`` counts only those. Where the rows are
        copied, the chunks stay as they are. The chunks are of one size and
        an even count (a last short chunk, or an odd one, left a thread of
        two idle); never from the machine's thread count: chunk boundaries
        fix the order of the sums, so the same data give the same bits on
        any machine."""
        if (
            not self.chunk_cols
            or self.offset is not None
            or self.geometry is not Geometry.EUCLIDEAN
            or not _backend.lloyd_in_place(self.xp, self.X)
        ):
            return self
        base = self.budget_rows or self.chunk
        rows = base * (self.chunk_cols + self.width) // max(1, int(n_cols))
        n = self.n
        rows = min(n, max(self.chunk, rows))
        count = -(-n // rows)
        if count > 1:
            count += count % 2
        return replace(self, chunk=int(-(-n // count)))

    @property
    def n(self) -> int:
        return int(self.X.shape[0])

    @property
    def d(self) -> int:
        return int(self.X.shape[1])

    @property
    def dtype(self) -> DType:
        return self.X.dtype

    @property
    def sdtype(self) -> DType:
        """The data's dtype in the small namespace (``sxp``)."""
        return self.dtype if self.sxp is self.xp else _backend.host_dtype(self.xp, self.dtype)

    @cached_property
    def index_dtype(self) -> DType:
        """dtype of labels and other indices (int32 on JAX without x64); asked
        a few times an iteration, so kept."""
        return _backend.index_dtype(self.sxp)

    def map(
        self,
        fn: Callable[..., BlockOut],
        rows: Mapping[str, Array | None] | None = None,
        shared: tuple[Any, ...] = (),
        *,
        combine: Callable[..., tuple[Any, ...]] = _backend.add_stats,
        out_specs: tuple[OutSpec, ...] = (),
        init: tuple[Any, ...] | None = None,
        parallel: bool = True,
        join: bool = True,
    ) -> tuple[Any, Any]:
        """Run ``fn(block, *shared)`` over row chunks; returns (rows, stats).

        ``rows``: per-row arrays (same length as X) the blocks see by name.
        ``combine(xp, acc, stats)`` merges statistics in chunk order, starting
        from ``init`` when given. ``parallel=False`` keeps host chunks on one
        thread: for block functions made of many small operations, which would
        mostly wait for the GIL. ``join=False`` (in memory only): the list of
        each chunk's outputs, not concatenated.
        """
        rows = dict(rows or {})
        names = tuple(rows)
        run = partial(_run_block, names=names, fn=fn, geometry=self.geometry)
        return _backend.map_rows(
            self.xp,
            run,
            (self.X, self.weights, *rows.values()),
            (self.offset, *shared),
            chunk=self.chunk,
            combine=combine,
            out_specs=tuple(tuple(s) for s in out_specs),
            threads=None if parallel else 1,
            join=join,
            init=init,
        )


def row_slices(n: int, chunk: int) -> list[tuple[int, int]]:
    """(start, stop) of consecutive row chunks of at most ``chunk`` rows."""
    return [(start, min(n, start + chunk)) for start in range(0, n, chunk)]


def expand(xp: Namespace, mask: Array, values: Array, old: Array) -> Array:
    """``old`` with the rows where the 1-D ``mask`` is set replaced, in order,
    by the rows of ``values`` (a gather, so it works without index assignment;
    ``values`` may have more rows than ``mask`` has set entries)."""
    done = _backend.expand_rows(xp, mask, values, old)
    if done is not None:
        return done
    pos = xp.cumulative_sum(xp.astype(mask, _backend.index_dtype(xp))) - 1
    pos = xp.minimum(xp.maximum(pos, 0), int(values.shape[0]) - 1)
    picked = xp.take(values, pos, axis=0)
    if picked.ndim > 1:
        mask = xp.reshape(mask, (int(mask.shape[0]),) + (1,) * (picked.ndim - 1))
    return xp.where(mask, picked, old)


def chunk_size_for(
    xp: Namespace, X: Array, device: Device, n_cols: int, budget: int | None, *, capped: bool = True
) -> int:
    """Rows per chunk for passes with ``n_cols`` score columns a row (with
    ``capped=False``, what the budget allows even beyond the rows of X)."""
    itemsize = 8 if X.dtype == getattr(xp, "float64", None) else 4
    row_bytes = itemsize * (int(n_cols) + _backend.row_width(X))
    n = X.shape[0]
    if _backend.is_lazy(xp):
        n = max(X.chunks[0])
    if not capped:
        n = 2**62
    if budget is None and _backend.is_sparse(X):
        budget = _backend.sparse_chunk_budget(xp, device, n_cols, int(X.shape[1]), itemsize)
    return _backend.chunk_rows(xp, device, int(n), row_bytes, budget)


# ---------------------------------------------------------------- statistics
def _sum_block(b: Block) -> BlockOut:
    xp, X = b.xp, b.X
    return BlockOut((), (_backend.column_sums(xp, X), _backend.max_row_sq_norm(xp, X)))


def _sums_and_largest(xp: Namespace, a: tuple[Array, Array], b: tuple[Array, Array]) -> Any:
    return (a[0] + b[0], xp.maximum(a[1], b[1]))


def _sq_dev_block(b: Block, mean: Array) -> BlockOut:
    return BlockOut((), (_backend.column_sq_devs(b.xp, b.X, mean),))


def column_mean_var(data: Data) -> tuple[Array, Array]:
    """Per-feature mean and variance (unweighted) of the prepared samples, two
    chunked passes, so no temporary the size of X is made. In the small
    namespace. The first pass also finds the largest norm of a sample
    (``max_row_norm``), kept on ``data``: one pass over X less a fit."""
    _, (total, sq) = data.map(_sum_block, combine=_sums_and_largest)
    if data.xmax is None:
        data.xmax = float(sq) ** 0.5
    mean = total / data.n
    _, (sq,) = data.map(_sq_dev_block, None, (mean,))
    return mean, sq / data.n


def needs_offset(xp: Namespace, mean: Array, var: Array) -> bool:
    """Shift the data when their mean is large against their spread."""
    return bool(xp.sum(mean * mean) > xp.sum(var))


# ------------------------------------------------------------ centers, scores
class Scoring(NamedTuple):
    """What an assignment block needs to know of the centers.

    Scores are ``half_csq - x.c`` (``0.5*||c||^2``; a constant 0.5 for unit
    centers); ``coef`` and ``cmax`` bound their rounding, so near ties are
    settled exactly (see ``_backend.nearest_center``).
    """

    centers: Array
    centers_t: Array
    half_csq: Array
    cmax: float
    coef: float  # bound of a squared distance's rounding (Hamerly's slack)
    tie: float  # bound of the rounding of a difference of two scores


def score_coef(sxp: Namespace, dtype: DType, d: int) -> float:
    """Relative rounding bound of a squared-distance score in ``dtype``."""
    return 4.0 * (d + 2) * float(_backend.finfo(sxp, dtype).eps)


def _max_norm_block(b: Block) -> BlockOut:
    xp = b.xp
    return BlockOut((), (_backend.max_row_sq_norm(xp, b.X),))


def _larger(xp: Namespace, a: tuple[Array], b: tuple[Array]) -> tuple[Array]:
    return (xp.maximum(a[0], b[0]),)


def max_row_norm(data: Data) -> float:
    """The largest norm of a prepared sample (one pass, kept on ``data``)."""
    if data.xmax is None:
        _, (sq,) = data.map(_max_norm_block, combine=_larger)
        data.xmax = float(sq) ** 0.5
    return data.xmax


def scoring(data: Data, centers: Array) -> Scoring:
    sxp = data.sxp
    csq = sxp.sum(centers * centers, axis=1)
    if data.geometry is Geometry.COSINE:
        half = sxp.full(csq.shape, 0.5, dtype=csq.dtype, device=_backend.device_of(csq))
    else:
        half = 0.5 * csq
    cmax = float(sxp.sqrt(sxp.max(csq)))
    # a score is ``h - x.c``: the computed ``x.c`` is off by at most about
    # d * eps/2 * |x| |c| (d: the terms of the product, ``data.terms``), the
    # subtraction by eps/2 * (|h| + |x.c|)
    eps = float(_backend.finfo(sxp, data.sdtype).eps)
    tie = (data.terms + 2) * eps * cmax * (max_row_norm(data) + cmax)
    centers_t = _backend.matmul_operand(sxp, data.X, sxp.permute_dims(centers, (1, 0)))
    return Scoring(
        centers,
        centers_t,
        half,
        cmax,
        score_coef(sxp, data.sdtype, data.terms),
        tie,
    )


def block_assign(xp: Namespace, Xb: Array, sc: Scoring) -> Array:
    """Nearest center of each row (near ties settled exactly)."""
    return _backend.nearest_center(xp, Xb, sc.centers, sc.centers_t, sc.half_csq, tie=sc.tie)


def block_update(
    xp: Namespace, Xb: Array, wb: Array | None, labels: Array, k: int
) -> tuple[Array, Array]:
    """Per-cluster weighted sums (k, d) and weight totals (k,) of one block."""
    sums = _backend.segment_sum(xp, Xb, labels, k, wb)
    counts = _backend.segment_count(xp, labels, k, wb, Xb.dtype)
    return sums, counts


def row_costs(
    xp: Namespace,
    Xb: Array,
    centers: Array,
    labels: Array,
    geometry: Geometry,
    scale: float = 1.0,
) -> Array:
    """Cost of each row against its assigned center, computed directly:
    squared distance, or ``1 - cos`` for unit rows (for sparse rows, from
    their stored entries: ``_backend.sparse_assigned_costs``).

    ``scale`` (a power of two, ``pow2_scale``): dense squared distances are
    those of the rows and centers times ``scale``, so that the squares of
    differences near the rounding of tiny data do not underflow.
    """
    if _backend.is_sparse(Xb):
        return _backend.sparse_assigned_costs(Xb, centers, labels, geometry is Geometry.COSINE)
    if geometry is Geometry.COSINE:
        return 1.0 - xp.sum(Xb * xp.take(centers, labels, axis=0), axis=1)
    return _backend.assigned_sq_dists(xp, Xb, centers, labels, scale)


def pow2_scale(sxp: Namespace, dtype: DType, magnitude: float) -> float:
    """A power of two that brings ``magnitude`` to [0.5, 1) (1.0 for 0 or
    non-finite), within what ``dtype`` represents.

    Multiplying by it is exact, so a sum of squares computed at that scale
    and divided by its square (in float64, on the host) has the same bits as
    the plain sum whenever that neither under- nor overflows, and is exactly
    proportional to the data's scale when the plain sum would underflow
    (one-ulp differences of float32 data near 1e-9 square to nothing).
    """
    if not (magnitude > 0.0 and math.isfinite(magnitude)):
        return 1.0
    # float32: 2**+-120, a normal float32 (its largest is just under 2**128)
    limit = math.frexp(float(_backend.finfo(sxp, dtype).max))[1] - 8
    return math.ldexp(1.0, max(-limit, min(limit, -math.frexp(magnitude)[1])))


def sum_of_squares(sxp: Namespace, values: Array) -> float:
    """Sum of the squared entries of a small array, as a Python float,
    computed at a power-of-two scale (``pow2_scale``) so that it neither
    underflows nor overflows: the same bits as ``sum(values**2)`` where that
    does neither, and exactly proportional to the data's scale."""
    scale = pow2_scale(sxp, values.dtype, _backend.largest(sxp, sxp.abs(values)))
    scaled = values * scale if scale != 1.0 else values
    return _backend.total(sxp, scaled * scaled) / (scale * scale)


# ------------------------------------------------------------------- passes
def _lloyd_block(b: Block, sc: Scoring, block_rows: int | None) -> BlockOut:
    # the labels go to the chunk's rows of ``out`` where the pass gave one
    # (``_backend.host_labels``; NumPy code on host rows), else are returned
    xp = b.xp
    k = int(sc.centers.shape[0])
    old = b.rows["labels"]
    out = b.rows["out"]
    fused = _backend.lloyd_chunk(
        xp,
        b.X,
        b.weights,
        old,
        sc.centers,
        sc.centers_t,
        sc.half_csq,
        tie=sc.tie,
        block_rows=block_rows,
        out=out,
    )
    if fused is not None:
        lab, sums, counts, changed = fused
        return BlockOut(() if out is not None else (lab,), (sums, counts, changed))
    lab = block_assign(xp, b.X, sc)
    sums, counts = block_update(xp, b.X, b.weights, lab, k)
    if old is None:
        changed = int(lab.shape[0])
    else:
        changed = xp.sum(xp.astype(lab != old, _backend.index_dtype(xp)))
    if out is not None:
        out[...] = lab  # NumPy's code: ``out`` is a NumPy view
        return BlockOut((), (sums, counts, changed))
    return BlockOut((lab,), (sums, counts, changed))


def label_spec(data: Data) -> tuple[OutSpec]:
    return (OutSpec((), data.index_dtype),)


class PassResult(NamedTuple):
    """One assignment pass: labels, per-cluster sums and weights, changes.

    The labels are in the data's namespace, or NumPy where the data's chunks
    run NumPy's code on rows in host memory (``_backend.host_labels``, which
    the chunks fill): they go to the next pass as they are, and a run takes
    the ones it returns into the data's namespace (``_backend.rows_in``)."""

    labels: Array
    sums: Array
    counts: Array
    n_changed: int


def lloyd_pass(
    data: Data, centers: Array, labels_old: Array | None, block_rows: int | None = None
) -> PassResult:
    """Assign every sample and sum per cluster. ``block_rows``: the compiled
    loop takes a chunk's rows this many at a time (``Data.for_lloyd``'s
    larger chunks: each block's products stay in cache)."""
    out = _backend.host_labels(data.xp, data.X)
    rows, (sums, counts, changed) = data.map(
        _lloyd_block,
        {"labels": labels_old, "out": out},
        (scoring(data, centers), block_rows),
        out_specs=label_spec(data) if out is None else (),
    )
    return PassResult(rows[0] if out is None else out, sums, counts, int(changed))


def _label_block(b: Block, sc: Scoring) -> BlockOut:
    return BlockOut((block_assign(b.xp, b.X, sc),), ())


def _no_stats(xp: Namespace, a: tuple[()], b: tuple[()]) -> tuple[()]:
    return ()


def assign(data: Data, centers: Array) -> Array:
    """Labels of every sample for ``centers`` (in the data's namespace)."""
    (labels,), _ = data.map(
        _label_block,
        None,
        (scoring(data, centers),),
        combine=_no_stats,
        out_specs=label_spec(data),
    )
    return labels


def _sq_norm_block(b: Block) -> BlockOut:
    return BlockOut((_backend.row_sq_norms(b.xp, b.X),), ())


def row_sq_norms(data: Data) -> Array:
    """Squared norm of every prepared sample, kept (persisted on Dask)."""
    (xsq,), _ = data.map(_sq_norm_block, combine=_no_stats, out_specs=(OutSpec((), data.dtype),))
    return _backend.persist(data.xp, xsq)


def _total_and_sizes(b: Block, lab: Array, costs: Array, k: int) -> tuple[Array, Array]:
    # a block's weighted cost, and how many of its rows each cluster has
    sizes = _backend.segment_count(b.xp, lab, k, None, b.X.dtype)
    return b.weighted_sum(costs), sizes


def _inertia_block(b: Block, centers: Array, geometry: Geometry, scale: float) -> BlockOut:
    lab = b.rows["labels"]
    costs = row_costs(b.xp, b.X, centers, lab, geometry, scale)
    return BlockOut((), _total_and_sizes(b, lab, costs, int(centers.shape[0])))


def _assign_cost_block(b: Block, sc: Scoring, geometry: Geometry, scale: float) -> BlockOut:
    xp = b.xp
    both = None
    if geometry is Geometry.EUCLIDEAN and not _backend.is_sparse(b.X):
        # the compiled loop, where there is one: the rows read once
        both = _backend.nearest_with_costs(
            xp, b.X, sc.centers, sc.half_csq, tie=sc.tie, scale=scale
        )
    if both is None:
        lab = block_assign(xp, b.X, sc)
        costs = row_costs(xp, b.X, sc.centers, lab, geometry, scale)
    else:
        lab, costs = both
    return BlockOut((lab,), _total_and_sizes(b, lab, costs, int(sc.centers.shape[0])))


def _cost_scale(data: Data, centers: Array) -> float:
    # dense Euclidean costs are summed at a power-of-two scale (``pow2_scale``)
    if data.geometry is Geometry.EUCLIDEAN and not data.sparse:
        sxp = data.sxp
        big = max(max_row_norm(data), _backend.largest(sxp, sxp.abs(centers)))
        return pow2_scale(sxp, data.sdtype, big)
    return 1.0


def _cost_data(data: Data) -> Data:
    # a row's cost takes a few (rows, d) temporaries besides its scores:
    # chunks sized for both (the same chunks whether the labels are made in
    # the pass or given, so the same inertia to the last bit)
    return data.with_columns(data.chunk_cols + 3 * data.width)


def _inertia_value(data: Data, total: Array, sizes: Array, scale: float) -> tuple[float, int]:
    sxp = data.sxp
    value = float(total) / (scale * scale) * data.weight_scale
    return value, int(sxp.sum(sxp.astype(sizes > 0, data.index_dtype)))


def inertia_and_sizes(data: Data, centers: Array, labels: Array) -> tuple[float, int]:
    """Weighted cost of the samples against their assigned centers (computed
    directly, not from the expanded form), in the caller's weight scale, and
    the number of non-empty clusters.

    Dense Euclidean costs are summed at a power-of-two scale of the samples
    and centers (``pow2_scale``): the inertia of samples that sit within
    rounding of their centers does not underflow to 0 for tiny data, and
    scaling the data by a power of two scales it exactly.
    """
    scale = _cost_scale(data, centers)
    _, (total, sizes) = _cost_data(data).map(
        _inertia_block, {"labels": labels}, (centers, data.geometry, scale)
    )
    return _inertia_value(data, total, sizes, scale)


class Assigned(NamedTuple):
    """The label of every sample for some centers, and their cost."""

    labels: Array
    inertia: float
    n_nonempty: int


def assign_with_inertia(data: Data, centers: Array) -> Assigned:
    """``assign`` and ``inertia_and_sizes`` in one pass over the data (the
    same labels, the same inertia to the last bit)."""
    scale = _cost_scale(data, centers)
    (labels,), (total, sizes) = _cost_data(data).map(
        _assign_cost_block,
        None,
        (scoring(data, centers), data.geometry, scale),
        out_specs=label_spec(data),
    )
    return Assigned(labels, *_inertia_value(data, total, sizes, scale))


def _farthest_block(b: Block, centers: Array, m: int, geometry: Geometry) -> BlockOut:
    xp = b.xp
    lab = b.rows["labels"]
    cost = row_costs(xp, b.X, centers, lab, geometry)
    w = xp.ones_like(cost) if b.weights is None else b.weights
    return BlockOut((), _top(xp, cost, b.X, lab, w, int(m)))


def _top(xp: Namespace, d2: Array, rows: Array, lab: Array, w: Array, m: int) -> tuple[Array, ...]:
    # the m largest costs, earliest sample first among equal costs (the rows
    # dense: a few sparse rows are densified here)
    order = xp.argsort(d2, descending=True, stable=True)[: min(m, int(d2.shape[0]))]
    return (
        xp.take(d2, order),
        _backend.to_dense(xp, _backend.take_rows(xp, rows, order)),
        xp.take(lab, order),
        xp.take(w, order),
    )


def _merge_top(
    xp: Namespace, a: tuple[Array, ...], b: tuple[Array, ...], m: int
) -> tuple[Array, ...]:
    d2, rows, lab, w = (xp.concat([x, y]) for x, y in zip(a, b, strict=True))
    return _top(xp, d2, rows, lab, w, m)


class Farthest(NamedTuple):
    """Samples farthest from their assigned center, farthest first."""

    costs: Array
    rows: Array
    labels: Array
    weights: Array


def farthest(data: Data, centers: Array, labels: Array, m: int) -> Farthest:
    """The m (prepared) samples of largest cost against their assigned center."""
    _, (cost, rows, lab, w) = data.with_columns(3 * data.width).map(
        _farthest_block,
        {"labels": labels},
        (centers, m, data.geometry),
        combine=partial(_merge_top, m=m),
    )
    return Farthest(cost, rows, lab, w)


def on_center_cost(data: Data) -> float:
    """A cost at most this is rounding: the sample sits on its center.

    A center is a weighted mean, off by a few units in the last place of the
    largest sample; the cost of a sample on it is the square of that
    (Euclidean), or the rounding of ``1 - x.c`` for unit rows (cosine).
    """
    eps = float(data.sxp.finfo(data.sdtype).eps)
    if data.geometry is Geometry.COSINE:
        return (data.d + 2) * eps
    return data.d * (32.0 * eps * max_row_norm(data)) ** 2


def _transform_block(b: Block, centers_t: Array, csq: Array, geometry: Geometry) -> BlockOut:
    xp, Xb = b.xp, b.X
    if geometry is Geometry.COSINE:
        return BlockOut((1.0 - _backend.matmul(xp, Xb, centers_t),), ())
    xsq = _backend.row_sq_norms(xp, Xb)
    d2 = xsq[:, None] + csq[None, :] - 2.0 * _backend.matmul(xp, Xb, centers_t)
    return BlockOut((xp.sqrt(xp.maximum(d2, 0.0)),), ())


def transform(data: Data, centers: Array) -> Array:
    """Distances (n, k) from every sample to every center: Euclidean, or
    ``1 - cos`` for the cosine geometry."""
    sxp = data.sxp
    k = int(centers.shape[0])
    centers_t = _backend.matmul_operand(sxp, data.X, sxp.permute_dims(centers, (1, 0)))
    (out,), _ = data.map(
        _transform_block,
        None,
        (centers_t, sxp.sum(centers * centers, axis=1), data.geometry),
        combine=_no_stats,
        out_specs=(OutSpec((k,), data.dtype),),
    )
    return out
