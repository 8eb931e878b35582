"""Host <-> device transfers, synchronisation, memory queries."""

from __future__ import annotations

from typing import Any

import numpy as np
from array_api_compat import (
    is_cupy_namespace,
    is_dask_namespace,
    is_jax_namespace,
    is_numpy_namespace,
    is_torch_namespace,
)

__all__ = [
    "free_memory_bytes",
    "from_host",
    "host_dtype",
    "is_out_of_memory",
    "reserve",
    "rows_from_host",
    "synchronize",
    "to_host",
]


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


def host_dtype(xp: Any, dtype: Any) -> np.dtype[Any]:
    """NumPy's dtype for a dtype of ``xp`` (the small arrays of data that run
    NumPy's code: ``small_namespace``)."""
    if is_torch_namespace(xp):
        import torch

        return torch.empty((), dtype=dtype).numpy().dtype
    return np.dtype(dtype)


def from_host(xp: Any, a: np.ndarray, device: Any, dtype: Any = None) -> Any:
    """Move a host NumPy array onto ``device`` of ``xp`` (optionally casting)."""
    a = np.ascontiguousarray(a)
    if dtype is not None and is_torch_namespace(xp) and not isinstance(dtype, xp.dtype):
        # a NumPy dtype (the small namespace's, ``small_namespace``) for a tensor
        dtype = getattr(xp, np.dtype(dtype).name)
    # Dask: small arrays only (centers, candidates), one chunk; elsewhere cast
    # while converting (the device may not hold the host dtype: no float64)
    out = xp.asarray(a) if is_dask_namespace(xp) else xp.asarray(a, device=device, dtype=dtype)
    if dtype is not None and out.dtype != dtype:
        out = xp.astype(out, dtype)
    return out


def rows_from_host(xp: Any, a: np.ndarray, like: Any, device: Any, dtype: Any) -> Any:
    """A host array with one entry per row of ``like``, chunked like it (Dask)."""
    if is_dask_namespace(xp):
        import dask.array as da

        if dtype is not None:
            a = a.astype(np.dtype(dtype))
        return da.from_array(a, chunks=(like.chunks[0],))
    return from_host(xp, a, device, dtype)


def reserve(xp: Any, shape: tuple[int, ...], dtype: Any, device: Any) -> None:
    """Fail fast (the library's out-of-memory error) when an array of ``shape``
    cannot be allocated, before a pass computes it chunk by chunk: NumPy and
    torch allocate uninitialised memory at no cost; elsewhere a no-op."""
    if is_numpy_namespace(xp):
        np.empty(shape, dtype=dtype)
    elif is_torch_namespace(xp):
        import torch

        torch.empty(shape, dtype=dtype, device=device)


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is an array library's out-of-memory error (NumPy's and
    CuPy's ``MemoryError``, torch's on the GPU and on the CPU, JAX's/XLA's)."""
    if isinstance(exc, MemoryError):
        return True
    if type(exc).__name__ == "OutOfMemoryError":  # torch.OutOfMemoryError
        return True
    text = str(exc)
    return any(
        marker in text
        for marker in (
            "RESOURCE_EXHAUSTED",  # JAX on an accelerator
            "Out of memory allocating",  # JAX (XLA) on the CPU
            "CUDA out of memory",  # older torch
            "DefaultCPUAllocator: can't allocate memory",  # torch on the CPU
        )
    )


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
