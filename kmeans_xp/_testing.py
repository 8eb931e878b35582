"""Test helpers: compare arrays across backends (namespace, dtype, device, values)."""

from __future__ import annotations

from typing import Any

import numpy as np
from array_api_compat import array_namespace

from . import _backend


def to_numpy(x: Any) -> np.ndarray:
    """Any backend's array (or a Python scalar) as a NumPy array on the host."""
    if isinstance(x, (int, float, bool, np.ndarray, np.generic)):
        return np.asarray(x)
    return _backend.to_host(array_namespace(x), x)


def assert_same_backend(actual: Any, like: Any, *, dtype: Any = None) -> None:
    """``actual`` has the namespace and device of ``like`` (and ``dtype`` if given)."""
    xp_a, xp_l = array_namespace(actual), array_namespace(like)
    assert xp_a is xp_l, f"namespace {xp_a.__name__} != {xp_l.__name__}"
    da, dl = _backend.device_of(actual), _backend.device_of(like)
    assert da == dl, f"device {da!r} != {dl!r}"
    if dtype is not None:
        assert actual.dtype == dtype, f"dtype {actual.dtype} != {dtype}"


def xp_assert_close(
    actual: Any,
    desired: Any,
    *,
    like: Any = None,
    dtype: Any = None,
    rtol: float = 1e-7,
    atol: float = 0.0,
) -> None:
    """Values close to ``desired`` (host data), after checking namespace/dtype/device."""
    if like is not None:
        assert_same_backend(actual, like, dtype=dtype)
    np.testing.assert_allclose(to_numpy(actual), to_numpy(desired), rtol=rtol, atol=atol)


def xp_assert_equal(actual: Any, desired: Any, *, like: Any = None, dtype: Any = None) -> None:
    if like is not None:
        assert_same_backend(actual, like, dtype=dtype)
    np.testing.assert_array_equal(to_numpy(actual), to_numpy(desired))
