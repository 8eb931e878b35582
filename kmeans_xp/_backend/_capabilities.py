"""What a namespace is and can do: names, devices, dtypes, laziness."""

from __future__ import annotations

import functools
from typing import Any

from array_api_compat import device as _device_of
from array_api_compat import (
    is_cupy_namespace,
    is_dask_namespace,
    is_jax_namespace,
    is_numpy_namespace,
    is_torch_namespace,
)

__all__ = [
    "backend_name",
    "default_float",
    "device_of",
    "finfo",
    "has_float64",
    "index_dtype",
    "is_lazy",
    "is_lazy_array",
    "jax_on_host",
    "prefers_static_shapes",
    "prunes_well",
]


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


def prunes_well(xp: Any, device: Any = None) -> bool:
    """Whether bound pruning (Hamerly) pays off: not on JAX arrays on an
    accelerator, whose eager mode compiles each new subset shape (JAX arrays
    in host memory run NumPy's chunks, and prune as NumPy's do), nor on Dask
    (one task per pass anyway)."""
    if is_jax_namespace(xp):
        return jax_on_host(device)
    return not is_dask_namespace(xp)


def jax_on_host(device: Any) -> bool:
    """Whether JAX arrays on ``device`` (None: JAX's default) are in host memory."""
    platform = getattr(device, "platform", None)
    if platform is None:
        import jax

        platform = jax.default_backend()
    return platform == "cpu"


def finfo(xp: Any, dtype: Any) -> Any:
    """``xp.finfo(dtype)``, kept per namespace and dtype: asked a few times
    an iteration (rounding bounds), and a few microseconds each through the
    compatibility layer."""
    try:
        return _finfo(xp, dtype)
    except TypeError:  # an unhashable dtype object
        return xp.finfo(dtype)


@functools.lru_cache(maxsize=64)
def _finfo(xp: Any, dtype: Any) -> Any:
    return xp.finfo(dtype)


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
    """The namespace's default integer dtype for indices and counts, kept
    per namespace and device (asked every pass: 1.4 -> 0.2 us)."""
    try:
        return _index_dtype(xp, device)
    except TypeError:  # an unhashable device object
        return _ask_index_dtype(xp, device)


@functools.lru_cache(maxsize=64)
def _index_dtype(xp: Any, device: Any) -> Any:
    return _ask_index_dtype(xp, device)


def _ask_index_dtype(xp: Any, device: Any) -> Any:
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

        return bool(jax.config.read("jax_enable_x64"))
    info = getattr(xp, "__array_namespace_info__", None)
    if info is not None:
        try:
            return "float64" in info().dtypes(device=device, kind="real floating")
        except Exception:  # pragma: no cover
            pass
    return True


def prefers_static_shapes(xp: Any) -> bool:
    """JAX compiles each operation for each new shape: there, passes that could
    work on a data-dependent subset of rows are better run on whole chunks."""
    return bool(is_jax_namespace(xp))
