"""The executor: map-reduce over row chunks (in memory, on a thread pool) or
row blocks (Dask, one task a block), and the chunk sizes."""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Generator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from array_api_compat import (
    is_dask_namespace,
    is_jax_namespace,
    is_numpy_namespace,
    is_torch_namespace,
)

from ._capabilities import jax_on_host
from ._kernels import _host_view, lloyd_in_place, row_slice
from ._transfer import free_memory_bytes, to_host

__all__ = [
    "CPU_CHUNK_BUDGET",
    "GPU_CHUNK_CAP",
    "GPU_FREE_FRACTION",
    "SPARSE_CHUNK_CAP",
    "add_stats",
    "blas_one_thread",
    "chunk_rows",
    "host_threads",
    "map_rows",
    "persist",
    "prepare_rows",
    "rows_in",
    "runs_on_numpy",
    "small_namespace",
    "sparse_chunk_budget",
]


# Default memory budget (bytes) for one chunk's temporaries (rows x n_clusters
# scores and a shifted copy of the rows) on the CPU: about a core's share of
# the cache, large enough that BLAS calls are efficient. Each pool thread has
# a chunk in flight, so a fit's temporaries stay a few MiB on any data size.
CPU_CHUNK_BUDGET = 2 * 2**20
# JAX arrays on an accelerator without free-memory figures: each eager
# operation on a chunk costs a dispatch, so fewer, larger chunks. (JAX arrays
# in host memory run NumPy's chunks: ``_jax_host_views``.)
JAX_DEVICE_CHUNK_BUDGET = 16 * 2**20
# Sparse rows are short, while a chunk's per-cluster sums are (k, d) whatever
# its rows: on the host, a sparse chunk's budget grows with k * d (its rows'
# temporaries twice the sums), up to this cap.
SPARSE_CHUNK_CAP = 8 * CPU_CHUNK_BUDGET
# Fraction of free device memory one chunk's temporaries may use on a GPU.
GPU_FREE_FRACTION = 0.25
GPU_CHUNK_CAP = 1 * 2**30


def chunk_rows(xp: Any, device: Any, n_rows: int, row_bytes: int, budget: int | None) -> int:
    """Rows per chunk so that one chunk's temporaries stay within a budget.

    ``row_bytes`` is the size of the temporaries one row needs (its
    n_clusters scores plus its features). ``budget`` in bytes overrides
    the default, which is a cache-sized block on the host and a fraction
    of the free memory on an accelerator.
    """
    if budget is None:
        free = free_memory_bytes(xp, device)
        if free is None:
            eager = is_jax_namespace(xp) and not jax_on_host(device)
            budget = JAX_DEVICE_CHUNK_BUDGET if eager else CPU_CHUNK_BUDGET
        else:
            budget = int(min(GPU_CHUNK_CAP, GPU_FREE_FRACTION * free))
    rows = max(1, budget // max(1, row_bytes))
    return int(min(n_rows, rows))


def sparse_chunk_budget(xp: Any, device: Any, n_cols: int, d: int, itemsize: int) -> int | None:
    """The default budget of a chunk of sparse rows on the host (None on an
    accelerator: ``chunk_rows``'s default): twice the (n_cols, d) sums a
    chunk returns, within [CPU_CHUNK_BUDGET, SPARSE_CHUNK_CAP]."""
    if free_memory_bytes(xp, device) is not None:
        return None
    return int(min(SPARSE_CHUNK_CAP, max(CPU_CHUNK_BUDGET, 2 * itemsize * n_cols * d)))


def small_namespace(xp: Any, device: Any = None, X: Any = None) -> Any:
    """Namespace for the small (k x d) arrays of a fit: centers and statistics.

    The data's own namespace, except NumPy for Dask, whose centers stay on the
    client and are sent to the workers each pass, and for data whose chunks
    run NumPy's code on views (``runs_on_numpy``: JAX on the CPU, dense CPU
    torch tensors ``X``), whose eager operations cost tens of microseconds
    each: a Lloyd iteration's arithmetic on the centers (a few dozen of them)
    took 1.5 ms at 100k x 16 x 8 on JAX, half of NumPy's whole iteration. The
    data and the labels stay in their namespace; the fitted attributes are
    returned in it.
    """
    if is_dask_namespace(xp) or runs_on_numpy(xp, device, X):
        import array_api_compat.numpy as np_xp

        return np_xp
    return xp


def runs_on_numpy(xp: Any, device: Any = None, X: Any = None) -> bool:
    """Whether the passes over ``X`` run NumPy's code on NumPy views of its
    chunks (no copy): JAX arrays in host memory, and dense float CPU torch
    tensors without autograd (``X`` decides; None: not torch). Their small
    arrays are NumPy then (``small_namespace``), and a fit gives NumPy's bits."""
    if is_jax_namespace(xp):
        return jax_on_host(device)
    if is_torch_namespace(xp) and X is not None:
        return lloyd_in_place(xp, X)
    return False


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
    init: tuple[Any, ...] | None = None,
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

    ``init``: the accumulator the first chunk's statistics are combined into
    (by default the first chunk's statistics are the accumulator). On Dask
    each task starts from ``init``, and the client combines the tasks'
    results with ``combine`` in block order.

    NumPy chunks always run with BLAS limited to one thread (parallelism comes
    from running chunks on a thread pool): OpenBLAS rounds float32 products
    differently with another thread count, so the same data give the same
    result whatever the machine's core count.
    """
    if is_dask_namespace(xp):
        if not join:
            raise NotImplementedError("join=False needs in-memory arrays")
        return _map_rows_dask(xp, fn, rows, shared, chunk, combine, out_specs, init)
    views = _numpy_views(xp, rows)
    if views is not None:
        # JAX arrays in host memory and dense CPU torch tensors: the chunks
        # are NumPy views of them (no copy; JAX copies on slicing) and run
        # NumPy's code, compiled loops included, as Dask's blocks do; row
        # outputs come back in the data's namespace (sharing NumPy's memory)
        import array_api_compat.numpy as np_xp

        outs, stats = _map_rows_local(np_xp, fn, views, shared, chunk, combine, threads, join, init)
        if join:
            return tuple(None if o is None else xp.asarray(o) for o in outs), stats
        return [tuple(None if o is None else xp.asarray(o) for o in out) for out in outs], stats
    return _map_rows_local(xp, fn, rows, shared, chunk, combine, threads, join, init)


def rows_in(xp: Any, a: Any) -> Any:
    """Per-row results kept in NumPy during a run (a Lloyd pass's labels,
    ``host_labels``, where the chunks run NumPy's code on views of JAX
    arrays or CPU tensors) in the namespace ``xp``, once, at the run's end:
    JAX copies a NumPy array it is given (100k labels: 0.17 ms, a tenth of a
    two-thread Lloyd pass at 100k x 16 x 8). Anything else as it is."""
    if a is None or not isinstance(a, np.ndarray) or is_numpy_namespace(xp):
        return a
    return xp.asarray(a)


def _numpy_views(xp: Any, rows: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """NumPy views (no copy) of the row arrays of a pass whose data run
    NumPy's code (``runs_on_numpy`` of the data, ``rows[0]``), or None.

    For torch the data decide (as they decided ``small_namespace``); another
    row array that cannot be viewed (a weight tensor with autograd) is copied
    to the host. For JAX, an array on an accelerator (or a tracer) among the
    rows leaves the pass to JAX."""
    if is_torch_namespace(xp):
        if not runs_on_numpy(xp, None, rows[0]):
            return None
        views = [_host_view(xp, a) for a in rows]
        return tuple(
            None if a is None else (v if v is not None else to_host(xp, a))
            for v, a in zip(views, rows, strict=True)
        )
    if not is_jax_namespace(xp):
        return None
    views = [_host_view(xp, a) for a in rows]
    if any(v is None and a is not None for v, a in zip(views, rows, strict=True)):
        return None
    return tuple(views)


def host_threads() -> int:
    """Threads for NumPy chunks (env ``KMEANS_XP_NUM_THREADS``, else the CPUs)."""
    env = os.environ.get("KMEANS_XP_NUM_THREADS")
    if env:
        return max(1, int(env))
    return _cpus()


@functools.cache
def _cpus() -> int:
    # the CPUs this process may run on, asked once (every pass needs it)
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


class _BlasOneThread:
    """Process-wide "BLAS on one thread", safe for fits running in several
    threads at once.

    threadpoolctl's limits are global to the process: two overlapping
    ``limit`` contexts entered from different threads would restore out of
    order and could leave BLAS at one thread. Here the first entrant sets the
    limit and the last one to leave restores what was there before. The
    BLAS libraries are found once (threadpoolctl's controllers); a limit
    reads and sets their thread counts directly (5 us, where threadpoolctl's
    ``limit`` and ``restore_original_limits``, which read every library's
    description, took 19 us; a small fit enters it about four times).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._libs: list[Any] | None = None
        self._restore: list[tuple[Any, int]] = []

    def _find_libs(self) -> list[Any]:
        try:
            import threadpoolctl

            from . import _compiled

            # the BLAS of the compiled loops loaded first: the controller
            # limits the libraries it finds now
            _compiled.gemm_addresses()
            controller = threadpoolctl.ThreadpoolController()
            return list(controller.select(user_api="blas").lib_controllers)
        except Exception:  # pragma: no cover - threadpoolctl missing or failing
            return []

    def __enter__(self) -> None:
        with self._lock:
            self._depth += 1
            if self._depth == 1:
                if self._libs is None:
                    self._libs = self._find_libs()
                restore = []
                for lib in self._libs:
                    try:
                        threads = lib.get_num_threads()
                        if isinstance(threads, int) and threads != 1:
                            lib.set_num_threads(1)
                            restore.append((lib, threads))
                    except Exception:  # pragma: no cover - a library that fails
                        continue
                self._restore = restore

    def __exit__(self, *exc: Any) -> None:
        with self._lock:
            self._depth -= 1
            if self._depth == 0:
                for lib, threads in self._restore:
                    try:
                        lib.set_num_threads(threads)
                    except Exception:  # pragma: no cover - a library that fails
                        continue
                self._restore = []


blas_one_thread = _BlasOneThread()


def _map_rows_local(
    xp: Any,
    fn: Any,
    rows: tuple[Any, ...],
    shared: tuple[Any, ...],
    chunk: int,
    combine: Any,
    threads: int | None = None,
    join: bool = True,
    init: tuple[Any, ...] | None = None,
) -> tuple[Any, Any]:
    n = int(rows[0].shape[0])
    starts = range(0, n, chunk)

    def run(start: int) -> Any:
        stop = min(n, start + chunk)
        blocks = tuple(None if a is None else row_slice(xp, a, start, stop) for a in rows)
        return fn(xp, *blocks, *shared)

    threads = host_threads() if threads is None else threads
    if is_numpy_namespace(xp):
        # BLAS on one thread whatever the pool size (same rounding on every
        # machine); NumPy releases the GIL in its kernels, so chunks run on a
        # thread pool and are combined in chunk order: the result does not
        # depend on the scheduling.
        with blas_one_thread:
            if threads > 1 and len(starts) > 1:
                # this thread and threads - 1 of the pool's; at most 2 chunks
                # a thread in flight: their temporaries and statistics are
                # freed as they are combined
                ordered = _in_order(_pool(threads - 1), threads - 1, run, starts, 2 * threads)
                try:
                    return _gather(xp, ordered, combine, init, join)
                finally:
                    # whatever happened (an error in ``combine``), the pool's
                    # threads stop taking chunks now, not when the generator
                    # is collected (a traceback can keep it alive)
                    ordered.close()
            return _gather(xp, map(run, starts), combine, init, join)
    return _gather(xp, map(run, starts), combine, init, join)


def _in_order(
    pool: ThreadPoolExecutor, helpers: int, fn: Any, items: Any, window: int
) -> Generator[Any, None, None]:
    """``fn`` over ``items``, results in order, computed by the calling thread
    and ``helpers`` of the pool's threads together: each takes the next item
    while fewer than ``window`` are taken and not yet consumed. A pool thread
    keeps taking items (one hand-off a thread, not one an item: at 200k×32×32,
    16 chunks a pass, two threads' passes took 7.0-7.6 ms instead of
    8.1-9.5), and the caller, instead of waiting for the result it needs
    next, takes an item itself. An error in any of them is raised here; the
    others stop taking items. The caller must close the generator (the pool
    threads wait for it to consume or stop)."""
    items = list(items)
    n = len(items)
    cond = threading.Condition()
    results: dict[int, Any] = {}
    errors: list[BaseException] = []
    taken = consumed = 0
    stop = False

    def take() -> int | None:
        # the next item to compute, under ``cond``; None when there is none
        nonlocal taken
        if stop or errors or taken >= n or taken - consumed >= window:
            return None
        taken += 1
        return taken - 1

    def compute(i: int) -> None:
        try:
            out = fn(items[i])
        except BaseException as exc:
            with cond:
                errors.append(exc)
                cond.notify_all()
            return
        with cond:
            results[i] = out
            cond.notify_all()

    def worker() -> None:
        while True:
            with cond:
                i = take()
                while i is None and not (stop or errors or taken >= n):
                    cond.wait()
                    i = take()
            if i is None:
                return
            compute(i)

    workers = [pool.submit(worker) for _ in range(helpers)]
    try:
        for j in range(n):
            while True:
                with cond:
                    if errors:
                        raise errors[0]
                    if j in results:
                        out = results.pop(j)
                        consumed += 1
                        cond.notify_all()
                        break
                    i = take()
                    if i is None:
                        cond.wait()
                        continue
                compute(i)
            yield out
    finally:
        with cond:
            stop = True
            cond.notify_all()
        for w in workers:
            # a pool thread still busy elsewhere (another fit's pass) never
            # started this one's work: cancelled, not waited for
            if not w.cancel():
                w.result()


def _gather(xp: Any, results: Any, combine: Any, init: Any, join: bool) -> tuple[Any, Any]:
    outs: list[tuple[Any, ...]] = []
    acc = init
    for out, stats in results:
        outs.append(out)
        acc = stats if acc is None else combine(xp, acc, stats)
    if not join:
        return outs, acc
    if len(outs) == 1:
        return outs[0], acc
    columns = zip(*outs, strict=True)
    joined = tuple(None if parts[0] is None else xp.concat(list(parts)) for parts in columns)
    return joined, acc


def _run_task(fn: Any, chunk: int, combine: Any, n_rows: int, init: Any, *args: Any) -> Any:
    # One Dask task: the block's arrays are NumPy; run the local loop on them.
    from array_api_compat import array_namespace

    rows, shared = args[:n_rows], args[n_rows:]
    bxp = array_namespace(rows[0])
    return _map_rows_local(bxp, fn, rows, shared, chunk, combine, threads=1, init=init)


def _map_rows_dask(
    xp: Any,
    fn: Any,
    rows: tuple[Any, ...],
    shared: tuple[Any, ...],
    chunk: int,
    combine: Any,
    out_specs: tuple[tuple[tuple[int, ...], Any], ...],
    init: tuple[Any, ...] | None = None,
) -> tuple[tuple[Any, ...], Any]:
    import array_api_compat.numpy as np_xp
    import dask
    import dask.array as da

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
    shared_d = [
        None if s is None else dask.delayed(np.asarray(s) if _is_array(s) else s) for s in shared
    ]
    tasks = [
        dask.delayed(_run_task, pure=True)(
            fn,
            chunk,
            combine,
            len(rows),
            init,
            *[blocks[i] for blocks in per_array],
            *shared_d,
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
            for t, nr in zip(tasks, row_chunks, strict=True)
        ]
        outs.append(da.concatenate(parts, axis=0) if len(parts) > 1 else parts[0])
    return tuple(outs), acc


def _is_array(x: Any) -> bool:
    return hasattr(x, "__array_namespace__") or isinstance(x, np.ndarray)


def add_stats(xp: Any, a: tuple[Any, ...], b: tuple[Any, ...]) -> tuple[Any, ...]:
    """``combine`` for statistics that add up."""
    return tuple(x + y for x, y in zip(a, b, strict=True))
