"""Kernels: nearest centers, products, per-cluster sums, row subsets.

One function per primitive: a native path where the library has a faster one,
and a fallback written against the Array API standard alone.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from array_api_compat import device as _device_of
from array_api_compat import (
    is_cupy_namespace,
    is_jax_namespace,
    is_numpy_namespace,
    is_torch_namespace,
)

from . import _compiled, _sparse
from ._capabilities import device_of, index_dtype
from ._sparse import is_sparse

__all__ = [
    "assigned_sq_dists",
    "candidate_gains",
    "column_extremes",
    "column_sq_devs",
    "column_sums",
    "expand_rows",
    "finite_column_extremes",
    "hamerly_bounds",
    "has_compiled_loops",
    "host_labels",
    "largest",
    "lloyd_chunk",
    "lloyd_in_place",
    "lower_closest",
    "matmul",
    "matmul_operand",
    "max_row_sq_norm",
    "nearest_center",
    "nearest_two",
    "nearest_with_costs",
    "nonzero_rows",
    "piece_sums",
    "product_terms",
    "row_slice",
    "row_sq_norms",
    "row_width",
    "segment_count",
    "segment_sum",
    "take_rows",
    "to_dense",
    "total",
    "within_reach",
]


def largest(xp: Any, a: Any) -> float:
    """The largest value of a small array, as a Python float: on NumPy by the
    array's method (the same reduction; 1.3 us, where ``np.max``'s argument
    handling made it 3 us, a few times an iteration)."""
    if isinstance(a, np.ndarray):
        return float(a.max())
    return float(xp.max(a))


def total(xp: Any, a: Any) -> float:
    """The sum of a small array's values, as a Python float (NumPy: by the
    array's method, the same reduction, the same bits, as ``largest``)."""
    if isinstance(a, np.ndarray):
        return float(a.sum())
    return float(xp.sum(a))


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


def _scores(xp: Any, Xb: Any, centers_t: Any, half_csq: Any) -> Any:
    """(rows, k) scores ``half_csq - x.c`` of a chunk (one product)."""
    if is_sparse(Xb):
        scores = _sparse.sparse_matmul(Xb, centers_t)
        if isinstance(scores, np.ndarray):
            np.subtract(half_csq, scores, out=scores)
            return scores
        return half_csq[None, :] - scores
    if is_numpy_namespace(xp):
        scores = np.matmul(Xb, centers_t)
        np.subtract(half_csq, scores, out=scores)
        return scores
    return half_csq[None, :] - xp.matmul(Xb, centers_t)


# bytes of the (rows, k, d) temporary when near ties are settled exactly
_EXACT_BUDGET = 8 * 2**20


def _exact_labels(xp: Any, Xs: Any, centers: Any, half_csq: Any, candidates: Any) -> Any:
    """Argmin of ``half_csq - x.c`` for a few rows over their ``candidates``
    (a (rows, k) mask), the products taken as elementwise sums in float64
    where the device has it: values that do not depend on how a BLAS library
    blocks or threads its products. Exact ties go to the first center."""
    from ._capabilities import has_float64

    if is_sparse(Xs):
        return _sparse.sparse_exact_labels(Xs, centers, half_csq, candidates)
    dev = device_of(Xs)
    hi = xp.float64 if has_float64(xp, dev) else Xs.dtype
    C = xp.astype(centers, hi)
    h = xp.astype(half_csq, hi)
    big = xp.finfo(hi).max
    if is_numpy_namespace(xp):
        # only the (row, candidate) pairs: usually two a row
        r, c = np.nonzero(candidates)
        dots = (Xs[r].astype(hi) * C[c]).sum(axis=1)
        full = np.full(candidates.shape, big, dtype=hi)
        full[r, c] = h[c] - dots
        return full.argmin(axis=1)
    k, d = int(C.shape[0]), int(C.shape[1])
    m = int(Xs.shape[0])
    if is_torch_namespace(xp) or is_cupy_namespace(xp):
        return _exact_labels_pairs(xp, Xs, C, h, candidates, big)
    step = max(1, _EXACT_BUDGET // (8 * max(1, k * d)))
    parts = []
    for s in range(0, m, step):
        e = min(m, s + step)
        Xh = xp.astype(Xs[s:e, ...], hi)
        dots = xp.sum(Xh[:, None, :] * C[None, :, :], axis=2)
        parts.append(xp.argmin(xp.where(candidates[s:e, ...], h[None, :] - dots, big), axis=1))
    return parts[0] if len(parts) == 1 else xp.concat(parts)


# bytes of a batch's float64 temporaries in ``_exact_labels_pairs``
_PAIRS_BUDGET = 64 * 2**20


def _exact_labels_pairs(xp: Any, Xs: Any, C: Any, h: Any, candidates: Any, big: float) -> Any:
    """``_exact_labels`` for torch and CuPy, products for the (row, candidate)
    pairs only, as NumPy's path (usually two a row; the dense (rows, k, d)
    path took 8 rows a step at k=1024, d=128: thousands of small launches a
    pass on a GPU). Rows in batches whose (rows, k) scores, and pairs in
    batches whose (pairs, d) products, stay within ``_PAIRS_BUDGET``."""
    m, k = int(candidates.shape[0]), int(candidates.shape[1])
    d = int(C.shape[1])
    row_step = max(1, _PAIRS_BUDGET // (8 * max(1, k)))
    pair_step = max(1, _PAIRS_BUDGET // (8 * max(1, d)))
    parts = []
    for s in range(0, m, row_step):
        e = min(m, s + row_step)
        r, c = xp.nonzero(candidates[s:e, ...])
        full = xp.full((e - s, k), big, dtype=C.dtype, device=device_of(C))
        for p in range(0, int(r.shape[0]), pair_step):
            rp, cp = r[p : p + pair_step], c[p : p + pair_step]
            Xp = xp.astype(xp.take(Xs, rp + s, axis=0), C.dtype)
            dots = xp.sum(Xp * xp.take(C, cp, axis=0), axis=1)
            full[rp, cp] = xp.take(h, cp) - dots
        parts.append(xp.argmin(full, axis=1))
    return parts[0] if len(parts) == 1 else xp.concat(parts)


def _best_two(xp: Any, scores: Any) -> tuple[Any, Any, Any]:
    """Per row: the first index of the smallest score, the smallest and the
    second smallest score (the smallest of the others). NumPy: in place, the
    best entry of each row of ``scores`` is overwritten."""
    big = xp.finfo(scores.dtype).max
    if is_numpy_namespace(xp):
        a = scores.argmin(axis=1)
        rows = np.arange(scores.shape[0])
        best = scores[rows, a]
        scores[rows, a] = big
        return a, best, scores.min(axis=1)
    a = xp.argmin(scores, axis=1)
    ids = xp.arange(int(scores.shape[1]), dtype=a.dtype, device=device_of(a))
    mine = ids[None, :] == a[:, None]
    best = xp.min(xp.where(mine, scores, big), axis=1)
    second = xp.min(xp.where(mine, big, scores), axis=1)
    return a, best, second


def _settle_ties(
    xp: Any,
    Xb: Any,
    scores: Any,
    picks: tuple[Any, Any, Any],
    centers: Any,
    half_csq: Any,
    tie: float,
) -> tuple[Any, Any]:
    """Labels where a second center scores within the rounding bound of the
    best are recomputed exactly (``_exact_labels``); returns (labels, the
    bound each row's scores were compared with).

    ``picks`` is ``_best_two`` of ``scores`` (whose best entries NumPy has
    overwritten). A product's rounding depends on the library, its thread
    count and the shape of the product (OpenBLAS float32 rounds differently
    on 1 and 2 threads). The error of a computed ``x.c`` is at most about
    ``d * eps/2 * ||x|| ||c||``; a row whose best score leads the others by
    more than ``tie`` (the caller's bound of twice that error plus the
    subtraction's, for the largest ``||x||`` and ``||c||``) has the same
    nearest center whatever the rounding. The others, near ties, are settled by one
    exact rule over the centers within that bound. So labels do not depend
    on the machine, the chunking, or which rows a pass scores.
    """
    a, best, second = picks
    if int(scores.shape[0]) == 0 or int(scores.shape[1]) < 2:
        return a, best
    thr = best + tie
    near = second <= thr
    idx, count = nonzero_rows(xp, near)
    if not count:
        return a, thr
    a_near = xp.take(a, idx)
    ids = xp.arange(int(scores.shape[1]), dtype=a.dtype, device=device_of(a))
    cand = (xp.take(scores, idx, axis=0) <= xp.take(thr, idx)[:, None]) | (
        ids[None, :] == a_near[:, None]
    )
    exact = _exact_labels(xp, take_rows(xp, Xb, idx), centers, half_csq, cand)
    exact = xp.astype(exact, a.dtype)
    if is_numpy_namespace(xp):
        out = a.copy()
        out[idx] = exact
        return out, thr
    # a gather, so it works without index assignment (idx may be padded)
    pos = xp.cumulative_sum(xp.astype(near, a.dtype)) - 1
    pos = xp.minimum(xp.maximum(pos, 0), int(exact.shape[0]) - 1)
    return xp.where(near, xp.take(exact, pos), a), thr


@functools.cache
def _jax_kernels() -> tuple[Any, Any]:
    """``nearest_center`` and ``nearest_two`` compiled with ``jax.jit``.

    JAX's eager mode compiles every operation for every new shape; here the
    whole assignment of a chunk (product, best two, the exact settling of
    near ties under ``lax.cond``) is one compiled function per chunk shape,
    reused across iterations and restarts. The near ties are settled with the
    same rule as the other backends (elementwise products in float64 when x64
    is on), for the whole chunk but only when the chunk has one.
    """
    import jax
    import jax.numpy as jnp

    def assign(Xb: Any, centers: Any, centers_t: Any, half_csq: Any, tie: Any) -> Any:
        scores = half_csq[None, :] - jnp.matmul(Xb, centers_t)
        big = jnp.finfo(scores.dtype).max
        a = jnp.argmin(scores, axis=1)
        ids = jnp.arange(scores.shape[1], dtype=a.dtype)
        mine = ids[None, :] == a[:, None]
        best = jnp.min(jnp.where(mine, scores, big), axis=1)
        second = jnp.min(jnp.where(mine, big, scores), axis=1)
        thr = best + tie
        near = second <= thr

        def exact(_: Any) -> Any:
            hi = jnp.float64 if jax.config.read("jax_enable_x64") else Xb.dtype
            Xh, C, h = Xb.astype(hi), centers.astype(hi), half_csq.astype(hi)
            dots = jnp.sum(Xh[:, None, :] * C[None, :, :], axis=2)
            cand = (scores <= thr[:, None]) | mine
            settled = jnp.argmin(jnp.where(cand, h[None, :] - dots, jnp.finfo(hi).max), axis=1)
            return jnp.where(near, settled.astype(a.dtype), a)

        labels = jax.lax.cond(jnp.any(near), exact, lambda _: a, None)
        moved = labels != a
        return labels, jnp.where(moved, thr, best), jnp.where(moved, best, second)

    nearest = jax.jit(lambda *args: assign(*args)[0])
    return nearest, jax.jit(assign)


def nearest_center(
    xp: Any, Xb: Any, centers: Any, centers_t: Any, half_csq: Any, *, tie: float
) -> Any:
    """Index of the smallest score ``half_csq - x.c`` per row (``half_csq`` is
    ``0.5*||c||^2`` for the Euclidean argmin); near ties settled exactly, exact
    ties to the first center."""
    if is_jax_namespace(xp):
        return _jax_kernels()[0](Xb, centers, centers_t, half_csq, tie)
    views = _compiled_views(xp, Xb, centers, centers_t, half_csq)
    if views is not None:
        Xh, Ch, Cth, hh = views
        assert Xh is not None and Ch is not None and Cth is not None and hh is not None
        labels = _compiled.nearest_rows(Xh, Ch, Cth, hh, tie)
        return _from_host(xp, labels, Xb, index_dtype(xp, device_of(Xb)))
    scores = _scores(xp, Xb, centers_t, half_csq)
    picks = _best_two(xp, scores)
    labels, _ = _settle_ties(xp, Xb, scores, picks, centers, half_csq, tie)
    return labels


def _host_view(xp: Any, a: Any) -> np.ndarray | None:
    """A NumPy view (no copy) of an array in host memory: NumPy arrays, CPU
    torch tensors (without autograd), JAX arrays on the CPU; else None."""
    if a is None:
        return None
    if isinstance(a, np.ndarray):  # a small array kept in NumPy (JAX's centers)
        return a
    if is_numpy_namespace(xp):
        return None
    if is_torch_namespace(xp):
        import torch

        if a.device.type != "cpu" or a.layout != torch.strided or a.requires_grad or a.is_conj():
            return None
        return a.numpy()
    if is_jax_namespace(xp):
        try:
            if {d.platform for d in a.devices()} != {"cpu"}:
                return None
        except Exception:  # tracers and the like
            return None
        return np.asarray(a)
    return None


def _from_host(xp: Any, a: np.ndarray, like: Any, dtype: Any = None) -> Any:
    """A host result in the namespace (and device) of ``like``."""
    if is_numpy_namespace(xp):
        return a if dtype is None else a.astype(dtype, copy=False)
    if is_torch_namespace(xp):
        import torch

        t = torch.from_numpy(a)
        return t if dtype is None else t.to(dtype)
    import jax

    out = jax.device_put(a, next(iter(like.devices())))
    return out if dtype is None else out.astype(dtype)


def _compiled_views(xp: Any, *arrays: Any) -> tuple[np.ndarray | None, ...] | None:
    """Host views of the arrays when the compiled loops apply to them: the
    loops are available, every array is in host memory, the data float32 or
    float64. None otherwise (the array code runs)."""
    if not (is_numpy_namespace(xp) or is_torch_namespace(xp) or is_jax_namespace(xp)):
        return None
    if not _compiled.available():
        return None
    if all(a is None or type(a) is np.ndarray for a in arrays):
        views: tuple[np.ndarray | None, ...] = arrays  # NumPy's own, as they are
    else:
        views = tuple(_host_view(xp, a) for a in arrays)
        if any(v is None and a is not None for v, a in zip(views, arrays, strict=True)):
            return None
    X = views[0]
    if X is None or X.ndim != 2 or X.dtype not in (np.float32, np.float64):
        return None
    return views


def lloyd_in_place(xp: Any, X: Any) -> bool:
    """Whether the passes over ``X`` run NumPy's code on its rows where they
    are (dense float arrays in host memory: NumPy, and views of JAX arrays and
    CPU tensors): a Lloyd chunk then allocates its scores and labels (and the
    compiled loop's blocks, ``_compiled.lloyd_rows``), no copy of its rows.
    Whether Numba is there does not enter: chunk boundaries fix the order of
    the sums, so the bits."""
    view = _host_view(xp, X)
    return view is not None and view.ndim == 2 and view.dtype in (np.float32, np.float64)


def host_labels(xp: Any, X: Any) -> np.ndarray | None:
    """Where the passes over ``X`` run NumPy's code on its rows in host memory
    (``lloyd_in_place``): an empty NumPy array of a label per row, which the
    chunks of a pass fill where they are (no concatenation of the chunks'
    labels: 1M labels, 0.9 ms a pass). None elsewhere (Dask, devices,
    sparse rows): the chunks return their labels."""
    if not lloyd_in_place(xp, X):
        return None
    return np.empty(int(X.shape[0]), dtype=np.int64)  # the compiled loop's labels


def lloyd_chunk(
    xp: Any,
    Xb: Any,
    weights: Any,
    old: Any,
    centers: Any,
    centers_t: Any,
    half_csq: Any,
    *,
    tie: float,
    block_rows: int | None = None,
    out: np.ndarray | None = None,
) -> tuple[Any, Any, Any, Any] | None:
    """One Lloyd pass over a chunk in one compiled loop, where the backend
    has one (NumPy with Numba): labels (``nearest_center``), per-cluster
    sums and weights (``segment_sum``, ``segment_count``) and the number of
    labels that differ from ``old`` (all of them when ``old`` is None); the
    rows ``block_rows`` at a time (None: all at once).
    The loop reads the arrays in place, so it serves every array in host
    memory: NumPy, CPU torch tensors, JAX on the CPU. None where there is no
    such loop: the caller composes the primitives. ``out``: the chunk's rows of
    ``host_labels``, filled with the labels (and returned)."""
    views = _compiled_views(xp, Xb, weights, old, centers, centers_t, half_csq)
    if views is None:
        return None
    Xh, wh, oh, Ch, Cth, hh = views
    assert Xh is not None and Ch is not None and Cth is not None and hh is not None
    labels, sums, counts, changed = _compiled.lloyd_rows(
        Xh, wh, oh, Ch, Cth, hh, tie, block_rows, out
    )
    return (
        _from_host(xp, labels, Xb, index_dtype(xp, device_of(Xb))),
        _from_host(xp, sums, Xb),
        _from_host(xp, counts, Xb),
        changed,
    )


def nearest_with_costs(
    xp: Any, Xb: Any, centers: Any, half_csq: Any, *, tie: float, scale: float
) -> tuple[Any, Any] | None:
    """``nearest_center`` and the ``assigned_sq_dists`` of its labels in one
    compiled loop where there is one (NumPy with Numba, C-ordered rows of at
    most ``_compiled.COLUMNS_MAX_D`` features, centers in their dtype): the
    same labels and the same bits, the rows read once. None elsewhere: the
    caller composes the two."""
    views = _compiled_views(xp, Xb, centers, half_csq)
    if views is None:
        return None
    Xh, Ch, hh = views
    assert Xh is not None and Ch is not None and hh is not None
    if Xh.shape[1] > _compiled.COLUMNS_MAX_D or Ch.dtype != Xh.dtype or not _rows_in_c_order(Xh):
        return None
    labels, costs = _compiled.nearest_with_costs(Xh, Ch, hh, tie, scale)
    return _from_host(xp, labels, Xb, index_dtype(xp, device_of(Xb))), _from_host(xp, costs, Xb)


def candidate_gains(xp: Any, Xb: Any, a: Any, Ct: Any, csq: Any) -> Any:
    """(t, rows), stored row by row, t = len(csq): how much each row's
    ``a = closest - ||x||^2`` exceeds ``||c||^2 - 2 x.c`` for each candidate,
    or 0: ``maximum((Xb @ Ct)[:, :t].T + a - csq[:, None], 0)`` (``Ct`` is
    2 C^T, maybe with padding columns past t). The product is taken as
    (rows, m), the shape BLAS is fastest on for a few columns; on NumPy with
    the compiled loops the rest is one pass over it (the same bits), else
    the transposed copy and three broadcasts."""
    t = int(csq.shape[0])
    P = matmul(xp, Xb, Ct)
    views = _compiled_views(xp, P, a, csq)
    if views is not None and is_numpy_namespace(xp):
        Ph, ah, ch = views
        assert Ph is not None and ah is not None and ch is not None
        if ah.dtype == Ph.dtype and ch.dtype == Ph.dtype:
            return _compiled.candidate_gains(Ph, ah, ch)
    if is_numpy_namespace(xp):
        G = np.ascontiguousarray(P.T)
    elif is_cupy_namespace(xp):
        import cupy

        G = cupy.ascontiguousarray(P.T)
    elif is_torch_namespace(xp):
        G = P.T.contiguous()
    else:
        G = xp.permute_dims(P, (1, 0))
    # one step at a time, each array dropped once the next is made: at most
    # two (m, rows) arrays alive, as in the compiled loop (the chunk budget
    # of k-means++ counts on it)
    del P
    G = G[:t, :] + a[None, :]
    G = G - csq[:, None]
    return xp.maximum(G, 0.0)


def has_compiled_loops(xp: Any) -> bool:
    """Whether the compiled loops serve this namespace's chunks (NumPy with
    Numba): the blocks then spend their time outside the GIL."""
    return is_numpy_namespace(xp) and _compiled.available()


def expand_rows(xp: Any, mask: Any, values: Any, old: Any) -> Any | None:
    """``old`` (1-D) with the entries where ``mask`` is set replaced, in
    order, by those of ``values`` (which may have more), in one compiled
    pass on NumPy; None where there is no such loop (the caller gathers)."""
    if not has_compiled_loops(xp):
        return None
    if not all(isinstance(a, np.ndarray) and a.ndim == 1 for a in (mask, values, old)):
        return None
    if values.dtype != old.dtype or mask.dtype != np.bool_ or values.shape[0] == 0:
        return None
    if old.shape[0] != mask.shape[0]:
        if old.shape[0] != 1:
            return None
        old = np.full(mask.shape[0], old[0], dtype=old.dtype)  # as ``where`` broadcasts it
    return _compiled.expand(mask, values, old)


def hamerly_bounds(
    xp: Any,
    lab: Any,
    up: Any,
    lo: Any,
    xsq: Any,
    move: Any,
    r1: Any,
    m1: Any,
    m2: Any,
    s_half: Any,
    scalars: tuple[float, float, float],
) -> tuple[Any, Any, Any] | None:
    """Hamerly's bounds after the centers moved, and the rows to score, in
    one compiled pass on NumPy (``scalars``: grow, coef, cmax); None where
    there is no such loop (the caller's array code runs)."""
    if not has_compiled_loops(xp):
        return None
    arrays = (up, lo, xsq, move, s_half)
    if not all(isinstance(a, np.ndarray) for a in (lab, *arrays)):
        return None
    if len({a.dtype for a in arrays}) != 1 or up.dtype not in (np.float32, np.float64):
        return None
    grow, coef, cmax = scalars
    return _compiled.hamerly_bounds(
        lab, up, lo, xsq, move, int(r1), m1, m2, s_half, grow, coef, cmax
    )


def piece_sums(xp: Any, X: Any, w: Any, labels: Any, k: int, piece: int) -> tuple[Any, Any] | None:
    """Per-cluster sums and weight totals of each ``piece`` consecutive rows
    apart, stacked ((pieces, k, d), (pieces, k)), in one compiled call on
    NumPy: ``segment_sum`` and ``segment_count`` piece by piece, the same
    bits. None where there is no such loop."""
    if not has_compiled_loops(xp) or is_sparse(X):
        return None
    views = _compiled_views(xp, X, w, labels)
    if views is None or (w is not None and w.dtype != X.dtype):
        return None
    return _compiled.piece_sums(X, w, labels, k, piece)


def within_reach(xp: Any, reach: Any, owner: Any, closest: Any) -> Any:
    """``reach[owner] < closest``: the rows whose closest chosen center
    (``owner``) has a candidate within reach (k-means++); one compiled pass
    on NumPy, else a gather and a comparison."""
    views = _compiled_views(xp, closest[:, None], reach, owner)
    if views is not None and is_numpy_namespace(xp):
        ch, rh, oh = views
        assert ch is not None and rh is not None and oh is not None
        return _compiled.within_reach(rh, oh, ch[:, 0])
    return xp.take(reach, owner) < closest


def lower_closest(xp: Any, closest: Any, owner: Any, drop: Any, new_id: int) -> tuple[Any, Any]:
    """After a center is added: each row's closest distance lowered by its
    ``drop`` (never below 0) and its owner ``new_id`` where it dropped,
    ``(maximum(closest - drop, 0), where(drop > 0, new_id, owner))``; one
    compiled pass on NumPy (the same bits), else three."""
    views = _compiled_views(xp, closest[:, None], owner, drop)
    if views is not None and is_numpy_namespace(xp):
        ch, oh, dh = views
        assert ch is not None and oh is not None and dh is not None
        if dh.dtype == ch.dtype:
            return _compiled.lower_closest(ch[:, 0], oh, dh, new_id)
    lowered = xp.maximum(closest - drop, 0.0)
    ids = xp.asarray(new_id, dtype=owner.dtype, device=device_of(owner))
    return lowered, xp.where(drop > 0, ids, owner)


def nearest_two(
    xp: Any, Xb: Any, centers: Any, centers_t: Any, half_csq: Any, *, tie: float
) -> tuple[Any, Any, Any]:
    """Per row: the label of ``nearest_center``, a computed score of that
    label's center and the smallest computed score of the other centers
    (k >= 2). When a near tie is settled to another center than the
    product's first, that center's score is at most the compared bound, and
    the product's first is among the others."""
    if is_jax_namespace(xp):
        return _jax_kernels()[1](Xb, centers, centers_t, half_csq, tie)
    views = None if is_sparse(Xb) else _compiled_views(xp, Xb, centers, half_csq)
    if views is not None and is_numpy_namespace(xp):
        Xh, Ch, hh = views
        assert Xh is not None and Ch is not None and hh is not None
        if Xh.shape[1] <= _compiled.COLUMNS_MAX_D and Ch.dtype == hh.dtype == Xh.dtype:
            # the same labels; the best two scores from products taken
            # center by center (other bits, within the bounds' allowance)
            return _compiled.nearest_two(Xh, Ch, hh, tie)
    scores = _scores(xp, Xb, centers_t, half_csq)
    a, best, second = _best_two(xp, scores)
    labels, thr = _settle_ties(xp, Xb, scores, (a, best, second), centers, half_csq, tie)
    moved = labels != a
    return labels, xp.where(moved, thr, best), xp.where(moved, best, second)


# --------------------------------------------------------------------------
# segment sum: per-cluster sums of rows
# --------------------------------------------------------------------------
def segment_sum(xp: Any, values: Any, labels: Any, n_segments: int, weights: Any = None) -> Any:
    """Sum the rows of ``values`` (n, d) into ``n_segments`` rows by ``labels``.

    Repeated labels accumulate (a true scatter-add); with ``weights`` each row
    is multiplied by its weight first. Returns an array of shape
    (n_segments, d) in the dtype of ``values``.
    """
    if is_sparse(values):
        return _sparse.sparse_segment_sum(values, labels, n_segments, weights)
    views = _compiled_views(xp, values, weights, labels)
    if is_numpy_namespace(xp) and (
        views is None or (weights is not None and weights.dtype != values.dtype)
    ):
        return _segment_sum_numpy(values, labels, n_segments, weights)
    if views is not None:
        # the compiled loop of the Lloyd pass (what scipy's one-hot product
        # gives, without building it a block), so a pass that sums apart
        # (Hamerly, MiniBatch) rounds exactly as Lloyd does
        Xh, wh, lh = views
        assert Xh is not None and lh is not None
        return _from_host(xp, _compiled.segment_sum(Xh, wh, lh, n_segments), values)
    if _on_gpu(xp, values):
        # a fresh buffer: the product's kernel (and so its order of adding)
        # is chosen by shapes and alignment alike, and a chunk of rows is a
        # view at any offset into X
        fresh = xp.asarray(values, copy=True)
        return _segment_sum_onehot(xp, fresh, labels, n_segments, weights)
    if weights is not None:
        values = values * weights[:, None]
    if is_torch_namespace(xp):
        import torch

        # a CPU tensor without the compiled loops: index_add_ runs in row order
        out = torch.zeros((n_segments, values.shape[1]), dtype=values.dtype, device=values.device)
        out.index_add_(0, labels, values)
        return out
    if is_jax_namespace(xp):
        import jax

        return jax.ops.segment_sum(values, labels, num_segments=n_segments)
    return _segment_sum_onehot(xp, values, labels, n_segments)


def _on_gpu(xp: Any, a: Any) -> bool:
    """CuPy arrays and CUDA tensors: where scatter-adds are atomic adds."""
    if is_cupy_namespace(xp):
        return True
    return is_torch_namespace(xp) and getattr(a.device, "type", "cpu") != "cpu"


def segment_count(xp: Any, labels: Any, n_segments: int, weights: Any, dtype: Any) -> Any:
    """Per-segment count (or weight sum when ``weights`` is given)."""
    if is_numpy_namespace(xp):
        return np.bincount(labels, weights=weights, minlength=n_segments).astype(dtype, copy=False)
    if _compiled.available():
        lh, wh = _host_view(xp, labels), _host_view(xp, weights)
        if lh is not None and (weights is None or wh is not None):
            # CPU tensors: counted as the compiled Lloyd pass counts (float64)
            counts = np.bincount(lh, weights=wh, minlength=n_segments).astype(np.float64)
            return _from_host(xp, counts, labels, dtype)
    if weights is not None and _on_gpu(xp, labels):
        # a float bincount adds atomically: the one-hot product instead
        column = xp.asarray(xp.astype(weights, dtype)[:, None], copy=True)
        return _segment_sum_onehot(xp, column, labels, n_segments)[:, 0]
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


def _segment_sum_onehot(xp: Any, values: Any, labels: Any, k: int, weights: Any = None) -> Any:
    """(k, n) one-hot matrix (each row's weight in its cluster's row) times
    ``values``: the pure-standard fallback, and the GPUs' sum.

    On a GPU a scatter-add (``cupyx.scatter_add``, ``index_add_``, a float
    ``bincount``) adds with atomics, in whatever order the threads arrive:
    two runs of one fit gave centers a few ulps apart. A matrix product adds
    in an order fixed by its shapes, so the same seed gives the same bits,
    and Hamerly's sums (the same chunks) equal Lloyd's. The caller passes one
    row chunk at a time, so the one-hot block is no larger than its scores.
    """
    ids = xp.arange(k, dtype=labels.dtype, device=_device_of(labels))
    hit = ids[:, None] == labels[None, :]
    if weights is None:
        onehot_t = xp.astype(hit, values.dtype)
    else:
        zero = xp.zeros((), dtype=values.dtype, device=_device_of(values))
        onehot_t = xp.where(hit, xp.astype(weights, values.dtype)[None, :], zero)
    return xp.matmul(onehot_t, values)


# --------------------------------------------------------------------------
# row blocks, dense or sparse (``_sparse``: scipy.sparse and torch CSR)
# --------------------------------------------------------------------------
def row_slice(xp: Any, X: Any, start: int, stop: int) -> Any:
    """Rows ``start:stop`` of X (a view where the library has them)."""
    if is_sparse(X):
        return _sparse.sparse_row_slice(X, start, stop)
    if start == 0 and stop >= int(X.shape[0]):
        # all of X: JAX copies on slicing (1 ms a pass at 100k x 16)
        return X
    return X[start:stop, ...]


def take_rows(xp: Any, X: Any, idx: Any) -> Any:
    """The rows of X at ``idx`` (an index array of ``xp``), of X's kind:
    dense rows for dense X, a CSR block for sparse X."""
    if is_sparse(X):
        return _sparse.sparse_take_rows(X, idx)
    return xp.take(X, idx, axis=0)


def to_dense(xp: Any, X: Any) -> Any:
    """X as a dense array (itself when dense): for a few gathered rows only."""
    return _sparse.sparse_to_dense(X) if is_sparse(X) else X


def matmul(xp: Any, X: Any, B: Any) -> Any:
    """``X @ B`` for a block of rows (dense or sparse) and a dense ``B``."""
    if is_sparse(X):
        return _sparse.sparse_matmul(X, B)
    return xp.matmul(X, B)


def matmul_operand(xp: Any, X: Any, B: Any) -> Any:
    """``B`` laid out for ``matmul(xp, X_block, B)`` over many blocks of X:
    row-major for a sparse X (scipy's kernel reads it so; made once, not per
    block); as it is for dense X (BLAS takes either layout)."""
    if not is_sparse(X):
        return B
    if is_numpy_namespace(xp):
        return np.ascontiguousarray(B)
    if is_torch_namespace(xp):
        return B.contiguous()
    return B


def row_sq_norms(xp: Any, X: Any) -> Any:
    """Squared norm of each row, (rows,), in X's dtype."""
    if is_sparse(X):
        return _sparse.sparse_row_sq_norms(X)
    views = _compiled_views(xp, X)
    if views is not None and _rows_in_c_order(views[0]):
        assert views[0] is not None
        return _from_host(xp, _compiled.row_sq_norms(views[0]), X)
    return xp.sum(X * X, axis=1)


def assigned_sq_dists(xp: Any, X: Any, centers: Any, labels: Any, scale: float = 1.0) -> Any:
    """Squared distance of each dense row of X to its own center
    ``centers[labels]``, both times ``scale`` (a power of two, or 1), in X's
    dtype: one compiled pass for C-ordered rows where there is one (the same
    bits), else the array code."""
    views = _compiled_views(xp, X, centers, labels)
    if views is not None and _rows_in_c_order(views[0]):
        Xh, Ch, lh = views
        assert Xh is not None and Ch is not None and lh is not None
        if Ch.dtype == Xh.dtype:
            return _from_host(xp, _compiled.assigned_sq_dists(Xh, Ch, lh, scale), X)
    diff = X - xp.take(centers, labels, axis=0)
    if scale != 1.0:
        diff = diff * scale
    return xp.sum(diff * diff, axis=1)


def _rows_in_c_order(X: np.ndarray | None) -> bool:
    """Whether NumPy sums each row of X as ``_compiled`` replicates: rows of
    features in C order (a row's values one after the other)."""
    return X is not None and X.ndim == 2 and X.shape[1] > 0 and bool(X.flags.c_contiguous)


def max_row_sq_norm(xp: Any, X: Any) -> Any:
    """The largest squared norm of a row (a 0-d array), for bounds; rows of
    more than 7 features may be summed in another order than
    ``row_sq_norms``'s (a compiled pass, with NumPy's ``sum`` a slow
    reduction along short rows)."""
    views = None if is_sparse(X) or X.shape[0] == 0 else _compiled_views(xp, X)
    if views is not None:
        assert views[0] is not None
        big = np.asarray(_compiled.max_row_sq_norm(views[0]), dtype=views[0].dtype)
        return _from_host(xp, big, X)
    return xp.max(row_sq_norms(xp, X))


def column_sums(xp: Any, X: Any) -> Any:
    """Sum of each column, (d,), in X's dtype (row after row)."""
    if is_sparse(X):
        return _sparse.sparse_column_sums(X)
    views = _compiled_views(xp, X)
    if views is not None and _rows_in_order(views[0]):
        assert views[0] is not None
        return _from_host(xp, _compiled.column_sums(views[0]), X)
    return xp.sum(X, axis=0)


def _rows_in_order(X: np.ndarray | None) -> bool:
    """Whether NumPy sums the columns of X row after row (C order, two
    columns or more; otherwise its pairwise sum runs down each column)."""
    return X is not None and X.ndim == 2 and X.shape[1] >= 2 and bool(X.flags.c_contiguous)


def column_sq_devs(xp: Any, X: Any, mean: Any) -> Any:
    """Per column, the sum over the rows of ``(x - mean)**2``, (d,)."""
    if is_sparse(X):
        return _sparse.sparse_column_sq_devs(X, mean)
    views = _compiled_views(xp, X, mean)
    if views is not None and _rows_in_order(views[0]):
        assert views[0] is not None and views[1] is not None
        return _from_host(xp, _compiled.column_sq_devs(views[0], views[1]), X)
    dev = X - mean
    return xp.sum(dev * dev, axis=0)


def column_extremes(xp: Any, X: Any) -> tuple[Any, Any]:
    """Per column, the largest and the smallest value of dense, finite X with
    rows: one compiled pass where there is one (NumPy's ``max(axis=0)`` on
    few columns is a slow reduction), else ``max`` and ``min``."""
    both = finite_column_extremes(xp, X)
    if both is not None:
        return both[0], both[1]
    return xp.max(X, axis=0), xp.min(X, axis=0)


def finite_column_extremes(xp: Any, X: Any) -> tuple[Any, Any, bool] | None:
    """``column_extremes`` of dense X with rows and whether every value is
    finite, in one compiled pass where there is one (the extremes only mean
    something where it is); None elsewhere."""
    views = _compiled_views(xp, X) if X.shape[0] else None
    if views is None:
        return None
    assert views[0] is not None
    hi, lo, finite = _compiled.column_extremes(views[0])
    return _from_host(xp, hi, X), _from_host(xp, lo, X), finite


def row_width(X: Any) -> int:
    """Values one row of X holds, for chunk sizes: its features when dense;
    its stored values and their indices, on average, when sparse."""
    if is_sparse(X):
        return _sparse.sparse_row_width(X)
    return int(X.shape[1])


def product_terms(X: Any) -> int:
    """The most terms a dot product ``x.c`` of a row of X with a dense
    vector sums, for its rounding bound: the features of a dense row; for
    sparse rows, the most stored entries of a row, plus the terms of a
    pairwise sum over the features (the centers' squared norms)."""
    d = int(X.shape[1])
    if is_sparse(X):
        return min(d, _sparse.sparse_max_row_nnz(X) + d.bit_length() + 8)
    return d
