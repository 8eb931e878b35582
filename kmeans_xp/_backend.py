"""The only backend-specific code in kmeans_xp.

Every function here is one primitive the algorithms need, with a native path
for the array libraries that have a faster one and a fallback written against
the Array API standard alone. Algorithm modules call these functions and never
import an array library themselves.

Array libraries are imported lazily (inside functions, and only after
``array_api_compat`` has recognised the namespace), so importing kmeans_xp
never imports CuPy, torch, JAX or Dask.
"""

from __future__ import annotations

import contextlib
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from array_api_compat import (
    is_cupy_namespace,
    is_dask_namespace,
    is_jax_namespace,
    is_numpy_namespace,
    is_torch_namespace,
)
from array_api_compat import device as _device_of

__all__ = [
    "backend_name",
    "default_float",
    "device_of",
    "free_memory_bytes",
    "from_host",
    "has_float64",
    "is_lazy",
    "segment_sum",
    "synchronize",
    "to_host",
]

# Default memory budget (bytes) for one chunk's temporary (rows x n_clusters)
# scores on the CPU. Small enough to stay in the last-level cache on a laptop,
# large enough that BLAS calls are efficient.
CPU_CHUNK_BUDGET = 4 * 2**20
# Fraction of free device memory one chunk's temporaries may use on a GPU.
GPU_FREE_FRACTION = 0.25
GPU_CHUNK_CAP = 1 * 2**30


def backend_name(xp: Any) -> str:
    """A short human name for the namespace, used in error messages."""
    if is_numpy_namespace(xp):
        return "numpy"
    if is_torch_namespace(xp):
        return "torch"
    if is_cupy_namespace(xp):
        return "cupy"
    if is_jax_namespace(xp):
        return "jax"
    if is_dask_namespace(xp):
        return "dask"
    return getattr(xp, "__name__", repr(xp))


def device_of(x: Any) -> Any:
    return _device_of(x)


def is_lazy_array(x: Any) -> bool:
    """True for arrays that are task graphs (Dask)."""
    from array_api_compat import is_dask_array

    return bool(is_dask_array(x))


def is_lazy(xp: Any) -> bool:
    """True for namespaces whose arrays are task graphs (Dask)."""
    return bool(is_dask_namespace(xp))


def prunes_well(xp: Any) -> bool:
    """Whether bound pruning (Hamerly) pays off: not on JAX, whose eager mode
    compiles each new subset shape, nor on Dask (one task per pass anyway)."""
    return not (is_jax_namespace(xp) or is_dask_namespace(xp))


def default_float(xp: Any, device: Any) -> Any:
    """The namespace's default real floating dtype on ``device``."""
    info = getattr(xp, "__array_namespace_info__", None)
    if info is not None:
        try:
            return info().default_dtypes(device=device)["real floating"]
        except Exception:  # pragma: no cover - old compat layers
            pass
    return xp.float64 if has_float64(xp, device) else xp.float32


def index_dtype(xp: Any, device: Any = None) -> Any:
    """The namespace's default integer dtype for indices and counts."""
    info = getattr(xp, "__array_namespace_info__", None)
    if info is not None:
        try:
            return info().default_dtypes(device=device)["indexing"]
        except Exception:  # pragma: no cover
            pass
    return xp.int64


def has_float64(xp: Any, device: Any) -> bool:
    """Whether ``device`` of ``xp`` supports float64."""
    if is_torch_namespace(xp) and getattr(device, "type", None) == "mps":
        return False
    if is_jax_namespace(xp):
        import jax

        return bool(jax.config.jax_enable_x64)
    info = getattr(xp, "__array_namespace_info__", None)
    if info is not None:
        try:
            return "float64" in info().dtypes(device=device, kind="real floating")
        except Exception:  # pragma: no cover
            pass
    return True


# --------------------------------------------------------------------------
# host <-> device
# --------------------------------------------------------------------------
def to_host(xp: Any, x: Any) -> np.ndarray:
    """Copy ``x`` into a NumPy array on the host (a sync point)."""
    if is_numpy_namespace(xp):
        return np.asarray(x)
    if is_torch_namespace(xp):
        return x.detach().cpu().numpy()
    if is_cupy_namespace(xp):
        return x.get()
    if is_dask_namespace(xp):
        return np.asarray(x.compute())
    try:
        return np.asarray(x)
    except Exception:
        return np.from_dlpack(x)


def from_host(xp: Any, a: np.ndarray, device: Any, dtype: Any = None) -> Any:
    """Move a host NumPy array onto ``device`` of ``xp`` (optionally casting)."""
    a = np.ascontiguousarray(a)
    if is_dask_namespace(xp):
        # small arrays only (centers, candidates): one chunk
        out = xp.asarray(a)
    else:
        # cast while converting: the device may not hold the host dtype (no float64)
        out = xp.asarray(a, device=device, dtype=dtype)
    if dtype is not None and out.dtype != dtype:
        out = xp.astype(out, dtype)
    return out


def array_for(library: str, a: np.ndarray, device: str | None) -> tuple[Any, str]:
    """Host data as an array of the library named ``library`` ("numpy", "torch",
    "cupy", "jax", "dask") on ``device`` (its default when None), after a probe
    that the device works. Returns (array, description of the device).

    ImportError when the library is missing; RuntimeError naming the library and
    device when the device does not work.
    """
    if library == "numpy":
        if device not in (None, "cpu"):
            raise RuntimeError(f"backend 'numpy' runs on the cpu only, not on device {device!r}")
        return a, "cpu"
    if library == "torch":
        import torch

        name = device or ("cuda" if torch.cuda.is_available() else "cpu")
        try:
            dev = torch.device(name)
            out = torch.asarray(a, device=dev)
            out.sum().item()
        except Exception as exc:
            raise RuntimeError(f"backend 'torch' has no usable device {name!r}: {exc}") from None
        return out, str(dev)
    if library == "cupy":
        import cupy

        try:
            dev_id = int(device.split(":")[-1]) if device and device != "cuda" else 0
            with cupy.cuda.Device(dev_id):
                out = cupy.asarray(a)
                out.sum().item()
        except Exception as exc:
            raise RuntimeError(f"backend 'cupy' has no usable GPU: {exc}") from None
        return out, f"cuda:{dev_id}"
    if library == "jax":
        import jax

        if a.dtype == np.float64:
            jax.config.update("jax_enable_x64", True)  # keep float64 data float64
        try:
            dev = jax.devices(device)[0] if device else jax.devices()[0]
            out = jax.device_put(a, dev)
        except Exception as exc:
            raise RuntimeError(f"backend 'jax' has no usable device {device!r}: {exc}") from None
        return out, str(dev)
    if library == "dask":
        import dask.array as da

        rows = max(1, -(-a.shape[0] // 8))
        return da.from_array(a, chunks=(rows, a.shape[1])), "cpu (dask, local scheduler)"
    raise ValueError(f"unknown array library {library!r}")


def rows_from_host(xp: Any, a: np.ndarray, like: Any, device: Any, dtype: Any) -> Any:
    """A host array with one entry per row of ``like``, chunked like it (Dask)."""
    if is_dask_namespace(xp):
        import dask.array as da

        if dtype is not None:
            a = a.astype(np.dtype(dtype))
        return da.from_array(a, chunks=(like.chunks[0],))
    return from_host(xp, a, device, dtype)


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is an array library's out-of-memory error."""
    if isinstance(exc, MemoryError):  # NumPy (and CuPy's, a MemoryError subclass)
        return True
    if type(exc).__name__ == "OutOfMemoryError":  # torch.OutOfMemoryError
        return True
    text = str(exc)
    return "RESOURCE_EXHAUSTED" in text or "CUDA out of memory" in text  # JAX, old torch


def synchronize(xp: Any, device: Any) -> None:
    """Wait until queued device work is done (for timing)."""
    if is_cupy_namespace(xp):
        import cupy

        cupy.cuda.get_current_stream().synchronize()
    elif is_torch_namespace(xp):
        import torch

        if getattr(device, "type", "cpu") == "cuda":
            torch.cuda.synchronize(device)


def free_memory_bytes(xp: Any, device: Any) -> int | None:
    """Free memory on an accelerator, or None on the host."""
    if is_cupy_namespace(xp):
        import cupy

        free, _total = cupy.cuda.runtime.memGetInfo()
        pool = cupy.get_default_memory_pool()
        return int(free + pool.free_bytes())
    if is_torch_namespace(xp) and getattr(device, "type", "cpu") == "cuda":
        import torch

        free, _total = torch.cuda.mem_get_info(device)
        reserved = torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device)
        return int(free + reserved)
    if is_jax_namespace(xp):
        platform = getattr(device, "platform", "cpu")
        if platform != "cpu":
            stats = device.memory_stats() or {}
            limit = stats.get("bytes_limit")
            used = stats.get("bytes_in_use", 0)
            if limit:
                return int(limit - used)
    return None


def chunk_rows(
    xp: Any, device: Any, n_rows: int, row_bytes: int, budget: int | None
) -> int:
    """Rows per chunk so that one chunk's temporaries stay within a budget.

    ``row_bytes`` is the size of the temporaries one row needs (its
    n_clusters scores plus its features). ``budget`` in bytes overrides
    the default, which is a cache-sized block on the host and a fraction
    of the free memory on an accelerator.
    """
    if budget is None:
        free = free_memory_bytes(xp, device)
        if free is None:
            budget = CPU_CHUNK_BUDGET
        else:
            budget = int(min(GPU_CHUNK_CAP, GPU_FREE_FRACTION * free))
    rows = max(1, budget // max(1, row_bytes))
    return int(min(n_rows, rows))


# --------------------------------------------------------------------------
# subsets of rows and nearest centers
# --------------------------------------------------------------------------
def prefers_static_shapes(xp: Any) -> bool:
    """JAX compiles each operation for each new shape: there, passes that could
    work on a data-dependent subset of rows are better run on whole chunks."""
    return bool(is_jax_namespace(xp))


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


# --------------------------------------------------------------------------
# map-reduce over row chunks (in memory) or row blocks (Dask)
# --------------------------------------------------------------------------
def small_namespace(xp: Any) -> Any:
    """Namespace for the small (k x d) arrays of a fit: centers and statistics.

    The data's own namespace, except for Dask, whose centers stay NumPy arrays
    on the client and are sent to the workers each pass.
    """
    if is_dask_namespace(xp):
        import array_api_compat.numpy as np_xp

        return np_xp
    return xp


def persist(xp: Any, x: Any) -> Any:
    """Materialize a lazy array (kept on the workers); identity elsewhere."""
    if is_dask_namespace(xp) and x is not None:
        return x.persist()
    return x


def prepare_rows(xp: Any, X: Any) -> Any:
    """Dask: one chunk along features, materialized once; identity elsewhere."""
    if is_dask_namespace(xp):
        if X.numblocks[1] != 1:
            X = X.rechunk({1: -1})
        return X.persist()
    return X


def map_rows(
    xp: Any,
    fn: Any,
    rows: tuple[Any, ...],
    shared: tuple[Any, ...],
    *,
    chunk: int,
    combine: Any,
    out_specs: tuple[tuple[tuple[int, ...], Any], ...] = (),
    threads: int | None = None,
    join: bool = True,
) -> tuple[Any, Any]:
    """Apply ``fn`` to row chunks and combine the small results.

    ``fn(bxp, *row_blocks, *shared) -> (row_outputs, stats)`` sees one chunk of
    each array in ``rows`` (None stays None) and the ``shared`` small arrays;
    it returns a tuple of per-row outputs (concatenated across chunks) and a
    tuple of small statistics merged by ``combine(bxp, acc, new)``.

    In memory the chunks are ``chunk`` rows of the arrays themselves. For Dask
    each row block runs as one task on a worker (in NumPy, ``chunk`` rows at a
    time); row outputs come back as persisted Dask arrays (``out_specs`` gives
    each one's trailing shape and dtype) and statistics as NumPy arrays.

    ``join=False`` (in memory only) returns the list of each chunk's outputs
    as they are, not concatenated: they need not be row-aligned then.
    """
    if is_dask_namespace(xp):
        if not join:
            raise NotImplementedError("join=False needs in-memory arrays")
        return _map_rows_dask(xp, fn, rows, shared, chunk, combine, out_specs)
    return _map_rows_local(xp, fn, rows, shared, chunk, combine, threads, join)


def host_threads() -> int:
    """Threads for NumPy chunks (env ``KMEANS_XP_NUM_THREADS``, else the CPUs)."""
    env = os.environ.get("KMEANS_XP_NUM_THREADS")
    if env:
        return max(1, int(env))
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


_BLAS_CONTROLLER: Any = None
_POOLS: dict[int, ThreadPoolExecutor] = {}


def _pool(threads: int) -> ThreadPoolExecutor:
    """A persistent pool per size (threads start once, not per pass)."""
    pool = _POOLS.get(threads)
    if pool is None:
        pool = _POOLS[threads] = ThreadPoolExecutor(threads, thread_name_prefix="kmeans_xp")
    return pool


def _single_threaded_blas() -> Any:
    """Context that limits BLAS to one thread while chunks run in parallel."""
    global _BLAS_CONTROLLER
    try:
        import threadpoolctl
    except ImportError:  # pragma: no cover
        return contextlib.nullcontext()
    if _BLAS_CONTROLLER is None:
        _BLAS_CONTROLLER = threadpoolctl.ThreadpoolController()
    return _BLAS_CONTROLLER.limit(limits=1, user_api="blas")


def _map_rows_local(
    xp: Any,
    fn: Any,
    rows: tuple[Any, ...],
    shared: tuple[Any, ...],
    chunk: int,
    combine: Any,
    threads: int | None = None,
    join: bool = True,
) -> tuple[Any, Any]:
    n = int(rows[0].shape[0])
    starts = range(0, n, chunk)

    def run(start: int) -> Any:
        stop = min(n, start + chunk)
        blocks = tuple(None if a is None else a[start:stop, ...] for a in rows)
        return fn(xp, *blocks, *shared)

    threads = host_threads() if threads is None else threads
    if is_numpy_namespace(xp) and threads > 1 and len(starts) > 1:
        # NumPy releases the GIL in its kernels: run chunks on a thread pool
        # (BLAS single-threaded meanwhile); combine in chunk order, so the
        # result does not depend on the scheduling.
        with _single_threaded_blas():
            results = list(_pool(threads).map(run, starts))
    else:
        results = map(run, starts)
    outs: list[tuple[Any, ...]] = []
    acc = None
    for out, stats in results:
        outs.append(out)
        acc = stats if acc is None else combine(xp, acc, stats)
    if not join:
        return outs, acc
    if len(outs) == 1:
        return outs[0], acc
    joined = tuple(
        None if parts[0] is None else xp.concat(list(parts)) for parts in zip(*outs)
    )
    return joined, acc


def _run_block(fn: Any, chunk: int, combine: Any, n_rows: int, *args: Any) -> Any:
    # One Dask task: the block's arrays are NumPy; run the local loop on them.
    from array_api_compat import array_namespace

    rows, shared = args[:n_rows], args[n_rows:]
    bxp = array_namespace(rows[0])
    return _map_rows_local(bxp, fn, rows, shared, chunk, combine, threads=1)


def _map_rows_dask(
    xp: Any,
    fn: Any,
    rows: tuple[Any, ...],
    shared: tuple[Any, ...],
    chunk: int,
    combine: Any,
    out_specs: tuple[tuple[tuple[int, ...], Any], ...],
) -> tuple[tuple[Any, ...], Any]:
    import dask
    import dask.array as da

    import array_api_compat.numpy as np_xp

    X = rows[0]
    row_chunks = X.chunks[0]
    per_array = []
    for a in rows:
        if a is None:
            per_array.append([None] * len(row_chunks))
            continue
        if a.chunks[0] != row_chunks:
            a = a.rechunk({0: row_chunks})
        if a.ndim == 2 and a.numblocks[1] != 1:
            a = a.rechunk({1: -1})
        per_array.append(list(a.to_delayed().ravel()))
    shared_d = [None if s is None else dask.delayed(np.asarray(s)) for s in shared]
    tasks = [
        dask.delayed(_run_block, pure=True)(
            fn, chunk, combine, len(rows), *[blocks[i] for blocks in per_array], *shared_d
        )
        for i in range(len(row_chunks))
    ]
    tasks = list(dask.persist(*tasks))
    stats_list = dask.compute(*[t[1] for t in tasks])
    acc = stats_list[0]
    for st in stats_list[1:]:
        acc = combine(np_xp, acc, st)
    outs = []
    for j, (tail, dtype) in enumerate(out_specs):
        parts = [
            da.from_delayed(t[0][j], shape=(nr, *tail), dtype=dtype)
            for t, nr in zip(tasks, row_chunks)
        ]
        outs.append(da.concatenate(parts, axis=0) if len(parts) > 1 else parts[0])
    return tuple(outs), acc


def add_stats(xp: Any, a: tuple[Any, ...], b: tuple[Any, ...]) -> tuple[Any, ...]:
    """``combine`` for statistics that add up."""
    return tuple(x + y for x, y in zip(a, b))
