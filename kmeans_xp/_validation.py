"""Input checks shared by the estimators. Pure Array API: takes ``xp``."""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

import numpy as np
from array_api_compat import array_namespace, is_array_api_obj

from . import _backend
from ._base import ConvergenceWarningBase, NotFittedErrorBase

__all__ = [
    "ConvergenceWarning",
    "DTypeError",
    "NotFittedError",
    "check_data",
    "check_init_array",
    "check_random_state",
    "check_sample_weight",
    "get_namespace",
]


class NotFittedError(NotFittedErrorBase):
    """Raised when a method needing a fitted estimator is called before fit.

    A ``ValueError`` and an ``AttributeError``; with scikit-learn installed
    also a ``sklearn.exceptions.NotFittedError``, so scikit-learn tools
    recognise it.
    """


class ConvergenceWarning(ConvergenceWarningBase):
    """Raised when the clustering is degenerate (fewer distinct clusters than asked).

    A ``UserWarning``; with scikit-learn installed also a
    ``sklearn.exceptions.ConvergenceWarning``.
    """


class DTypeError(TypeError, ValueError):
    """Data of a kind that cannot be clustered (complex, object, strings).

    Both a ``TypeError`` (the kind of the data is wrong) and a ``ValueError``
    (what scikit-learn raises for complex data), so either can be caught.
    """


def get_namespace(*arrays: Any) -> tuple[Any, Any]:
    """Namespace and device of the arrays (all must share both).

    Python sequences and objects that are not arrays are converted with NumPy
    first, so lists work as they do in scikit-learn.
    """
    arrays = tuple(a for a in arrays if a is not None)
    names = []
    for a in arrays:
        try:
            names.append(array_namespace(a))
        except TypeError:
            names.append(None)
    real = [n for n in names if n is not None]
    if real and any(n is not real[0] for n in real):
        kinds = sorted({_backend.backend_name(n) for n in real})
        raise TypeError(
            "all arrays must come from the same array library, got arrays from "
            + " and ".join(kinds)
            + "; convert them to one library first"
        )
    xp = real[0] if real else array_namespace(np.empty(0))
    devices = []
    for a, n in zip(arrays, names):
        if n is not None:
            devices.append(_backend.device_of(a))
    if devices and any(d != devices[0] for d in devices):
        raise ValueError(
            f"all arrays must be on the same device, got {devices[0]!r} and "
            f"{next(d for d in devices if d != devices[0])!r}"
        )
    device = devices[0] if devices else None
    if device is None:
        device = _backend.device_of(xp.empty(0))
    return xp, device


def as_array(xp: Any, a: Any, device: Any, name: str) -> Any:
    """``a`` as an array of ``xp`` (lists and host data converted)."""
    if is_array_api_obj(a):
        return a
    if hasattr(a, "toarray") or type(a).__module__.startswith("scipy.sparse"):
        raise TypeError(
            f"{name} is a sparse matrix; kmeans_xp needs a dense array "
            "(convert with .toarray())"
        )
    try:
        host = np.asarray(a)
    except Exception as exc:
        raise TypeError(f"{name} could not be converted to an array: {exc}") from exc
    if host.dtype == object:
        raise DTypeError(
            f"{name} has dtype object; expected real numbers (convert it with "
            "np.asarray(X, dtype=float) if its entries are numbers)"
        )
    if host.dtype.kind in "USV":
        raise DTypeError(f"{name} has dtype {host.dtype} (text or bytes); expected real numbers")
    return _backend.from_host(xp, host, device)


def _float_dtype_for(xp: Any, dtype: Any, device: Any, name: str) -> Any:
    if dtype == xp.float32 or (hasattr(xp, "float64") and dtype == xp.float64):
        return dtype
    if xp.isdtype(dtype, "real floating"):
        # float16 / bfloat16: compute in float32
        return xp.float32
    if xp.isdtype(dtype, ("integral", "bool")):
        return _backend.default_float(xp, device)
    raise _dtype_error(xp, name, dtype)


def _dtype_error(xp: Any, name: str, dtype: Any) -> DTypeError:
    try:
        is_complex = bool(xp.isdtype(dtype, "complex floating"))
    except Exception:
        is_complex = False
    what = "Complex data not supported" if is_complex else "unsupported data type"
    return DTypeError(
        f"{name} has dtype {dtype}: {what}; expected real numbers (float, int or bool), "
        "complex and object data are not supported"
    )


def check_data(
    xp: Any,
    X: Any,
    device: Any,
    name: str = "X",
    *,
    dtype: Any = None,
    n_features: int | None = None,
    check_finite: bool = True,
    estimator: str | None = None,
) -> Any:
    """Validate a 2-D sample matrix and cast it to a floating dtype.

    Returns the array itself when it already has the right dtype (no copy).
    ``n_features`` checks the number of columns against a fitted estimator
    (named ``estimator`` in the error message).
    """
    X = as_array(xp, X, device, name)
    try:
        kind_ok = xp.isdtype(X.dtype, ("real floating", "integral", "bool"))
    except Exception:
        kind_ok = False
    if not kind_ok:
        raise _dtype_error(xp, name, X.dtype)
    if X.ndim != 2:
        hint = (
            f" Reshape your data: {name}.reshape(-1, 1) for a single feature, "
            f"{name}.reshape(1, -1) for a single sample." if X.ndim == 1 else ""
        )
        raise ValueError(
            f"{name} must be a 2-D array of shape (n_samples, n_features), got "
            f"{X.ndim}-D with shape {tuple(X.shape)}.{hint}"
        )
    n, d = X.shape
    if n is not None and n < 1:
        raise ValueError(
            f"{name} is empty: it has 0 samples; found 0 sample(s) "
            f"(shape={tuple(X.shape)}) while a minimum of 1 is required."
        )
    if d is not None and d < 1:
        raise ValueError(
            f"{name} is empty: it has 0 features; found 0 feature(s) "
            f"(shape={tuple(X.shape)}) while a minimum of 1 is required."
        )
    if n_features is not None and d != n_features:
        who = estimator or "the estimator"
        raise ValueError(
            f"{name} has {d} features, but {who} is expecting {n_features} features "
            f"as input: this estimator was fitted with {n_features} features"
        )
    target = dtype if dtype is not None else _float_dtype_for(xp, X.dtype, device, name)
    if X.dtype != target:
        X = xp.astype(X, target)
    if check_finite and not _all_finite(xp, X, device):
        n_nan = int(xp.sum(xp.astype(xp.isnan(X), xp.int32)))
        what = "NaN" if n_nan else "infinity"
        raise ValueError(
            f"{name} contains {what} (n_nan={n_nan}); remove or impute non-finite "
            "values before clustering"
        )
    if check_finite:
        _check_magnitude(xp, X, name)
    return X


def _finite_block(xp: Any, Xb: Any) -> tuple[tuple[()], tuple[Any]]:
    return (), (xp.all(xp.isfinite(Xb)),)


def _both(xp: Any, a: tuple[Any], b: tuple[Any]) -> tuple[Any]:
    return (xp.logical_and(a[0], b[0]),)


def _all_finite(xp: Any, X: Any, device: Any) -> bool:
    """Whether every value is finite, one row chunk at a time (no n x d mask)."""
    d = int(X.shape[1])
    n = X.shape[0] if not _backend.is_lazy(xp) else max(X.chunks[0])
    chunk = _backend.chunk_rows(xp, device, int(n), 4 * d, None)
    _, (ok,) = _backend.map_rows(xp, _finite_block, (X,), (), chunk=chunk, combine=_both)
    return bool(ok)


def _check_magnitude(xp: Any, X: Any, name: str) -> None:
    """A clear error when the squared distances of ``X`` would overflow its dtype.

    Every pass forms squared norms and distances of rows and centers (in the
    raw frame or shifted by the mean), and sums up to ``n_samples`` of them
    (inertia, k-means++ potential, variance). All are bounded by ``bound``:
    the largest squared norm in either frame, from per-feature extremes.
    """
    hi = _backend.to_host(xp, xp.max(X, axis=0)).astype(np.float64)
    lo = _backend.to_host(xp, xp.min(X, axis=0)).astype(np.float64)
    n = X.shape[0]
    n = int(n) if n is not None and n == n else 1
    with np.errstate(over="ignore", invalid="ignore"):
        per_feature = np.maximum(np.maximum(hi * hi, lo * lo), (hi - lo) ** 2)
        bound = float(np.sum(per_feature)) * (n + 4)
    limit = float(xp.finfo(X.dtype).max)
    if not bound <= limit:
        big = float(np.max(np.maximum(np.abs(hi), np.abs(lo))))
        raise ValueError(
            f"{name} has values too large for {X.dtype}: squared distances would "
            f"overflow (largest |value| {big:.3g}, {n} samples); rescale {name} "
            "(for example divide it by its standard deviation) or use float64"
        )


def check_sample_weight(
    xp: Any, sample_weight: Any, n_samples: int, dtype: Any, device: Any
) -> Any:
    """None stays None (unit weights); otherwise a validated 1-D array."""
    if sample_weight is None:
        return None
    if isinstance(sample_weight, numbers.Number):
        w = xp.full((n_samples,), float(sample_weight), dtype=dtype, device=device)
    else:
        w = as_array(xp, sample_weight, device, "sample_weight")
        if not xp.isdtype(w.dtype, ("real floating", "integral", "bool")):
            raise TypeError(
                f"sample_weight has dtype {w.dtype}; expected real numbers"
            )
        if w.ndim != 1 or w.shape[0] != n_samples:
            raise ValueError(
                f"sample_weight must have shape ({n_samples},) to match X, got "
                f"{tuple(w.shape)}"
            )
        if w.dtype != dtype:
            w = xp.astype(w, dtype)
    if not bool(xp.all(xp.isfinite(w))):
        raise ValueError("sample_weight contains NaN or infinity")
    if bool(xp.any(w < 0)):
        raise ValueError("sample_weight has negative values; weights must be >= 0")
    if not bool(xp.any(w > 0)):
        raise ValueError("sample_weight is all zero; at least one weight must be positive")
    return w


def check_init_array(xp: Any, init: Any, n_clusters: int, n_features: int, dtype: Any, device: Any) -> Any:
    C = check_data(xp, init, device, "init", dtype=dtype)
    if C.shape[0] != n_clusters or C.shape[1] != n_features:
        raise ValueError(
            f"init array has shape {tuple(C.shape)}, expected (n_clusters, n_features) = "
            f"({n_clusters}, {n_features})"
        )
    return C


def check_random_state(seed: Any) -> np.random.RandomState:
    """A NumPy ``RandomState`` from None, an int or a RandomState (as scikit-learn)."""
    if seed is None or seed is np.random:
        return np.random.mtrand._rand
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        return np.random.RandomState(int(seed))
    if isinstance(seed, np.random.RandomState):
        return seed
    raise ValueError(
        f"random_state must be None, an int or a numpy.random.RandomState, got {seed!r}"
    )


def check_int(value: Any, name: str, low: int) -> int:
    """``value`` as an int >= ``low`` (bools are not ints here)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    return int(value)


def check_real(value: Any, name: str, low: float = 0.0, *, strict: bool = False) -> float:
    """``value`` as a finite float >= ``low`` (> ``low`` when ``strict``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    v = float(value)
    bad = not math.isfinite(v) or (v <= low if strict else v < low)
    if bad:
        bound = f"> {low}" if strict else f">= {low}"
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")
    return v


def is_array_init(init: Any) -> bool:
    """Whether ``init`` is given centers (not a method name or a callable)."""
    return not isinstance(init, str) and not callable(init)


def check_n_clusters(n_clusters: Any, n_samples: int | None, where: str | None = None) -> int:
    """``n_clusters`` as an int >= 1 and at most ``n_samples`` (not checked when
    None); ``where`` names the rows counted, when they are not all of X."""
    k = check_int(n_clusters, "n_clusters", 1)
    if n_samples is not None and k > n_samples:
        rows = f"n_samples={n_samples}" if where is None else f"in {where} (n_samples={n_samples})"
        raise ValueError(f"n_clusters={k} is larger than the number of samples {rows}")
    return k


def check_init_n_init(init: Any, n_init: Any, inits: tuple[str, ...], random_n_init: int) -> int:
    """Check ``init`` against the method names ``inits`` and resolve ``n_init``.

    "auto" is ``random_n_init`` for "random" and 1 otherwise; given centers
    run once (with a warning when more runs were asked for).
    """
    if isinstance(init, str):
        if init not in inits:
            raise ValueError(f"unknown init {init!r}; expected one of {list(inits)} or an array")
    elif callable(init):
        raise TypeError(
            f"init must be one of {list(inits)} or an array; callables are not supported"
        )
    if isinstance(n_init, str) and n_init == "auto":
        runs = random_n_init if isinstance(init, str) and init == "random" else 1
    else:
        runs = check_int(n_init, "n_init", 1)
    if is_array_init(init) and runs != 1:
        warnings.warn(
            f"explicit initial centers given: running one initialisation instead of "
            f"n_init={runs}",
            RuntimeWarning,
            stacklevel=4,
        )
        runs = 1
    return runs


def check_is_fitted(estimator: Any, attribute: str = "cluster_centers_") -> None:
    """Raise :class:`NotFittedError` when ``estimator`` has no ``attribute``."""
    if not hasattr(estimator, attribute):
        raise NotFittedError(
            f"This {type(estimator).__name__} instance is not fitted yet; call fit first"
        )


def reject_lazy(xp: Any, estimator: str, hint: str = "use KMeans for Dask arrays") -> None:
    """Clear error for a lazy (Dask) namespace in an estimator that needs eager arrays."""
    if _backend.is_lazy(xp):
        raise TypeError(
            f"{estimator} does not support {_backend.backend_name(xp)} arrays (a lazy "
            f"backend); {hint}"
        )
