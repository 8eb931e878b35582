"""Input checks shared by the estimators. Pure Array API: takes ``xp``.

Two parts:

- **Parameters**, declared once: each estimator has a table of constraints
  (``KMEANS_CONSTRAINTS``, ``MINIBATCH_CONSTRAINTS``, ``SPHERICAL_CONSTRAINTS``,
  built on ``COMMON_CONSTRAINTS``) checked by :func:`validate_params`, which
  raises :class:`InvalidParameterError` with scikit-learn's wording, so the
  same mistake gets the same exception and message on every estimator. A small
  copy of scikit-learn's ``sklearn.utils._param_validation`` (no run-time
  dependency on it).
- **Data**: :func:`check_data`, :func:`prepare_sample_weight`, namespaces and
  devices (:func:`get_namespace`), with the backend-specific preparation of
  the inputs in ``_backend._inputs``.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from array_api_compat import array_namespace, is_array_api_obj

from . import _backend
from ._base import ConvergenceWarningBase, NotFittedErrorBase

__all__ = [
    "COMMON_CONSTRAINTS",
    "KMEANS_CONSTRAINTS",
    "MINIBATCH_CONSTRAINTS",
    "SPHERICAL_CONSTRAINTS",
    "ConvergenceWarning",
    "DTypeError",
    "Interval",
    "InvalidParameterError",
    "NamespaceError",
    "NotFittedError",
    "SampleWeight",
    "StrOptions",
    "check_data",
    "check_feature_names",
    "check_init_array",
    "check_random_state",
    "check_sample_weight",
    "feature_names_of",
    "get_namespace",
    "prepare_sample_weight",
    "validate_params",
]

try:  # pragma: no cover - exercised in both configurations
    from sklearn.utils._param_validation import (
        InvalidParameterError as _InvalidParameterErrorBase,
    )
except ImportError:  # pragma: no cover

    class _InvalidParameterErrorBase(ValueError, TypeError):  # type: ignore[no-redef]
        """Base of kmeans_xp's InvalidParameterError when scikit-learn is absent."""


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


class NamespaceError(TypeError, ValueError):
    """Input from another array library than the fitted model's.

    A ``TypeError`` (issue 2: the kind of the input is wrong) and a
    ``ValueError`` (what scikit-learn's ``check_same_namespace`` raises, with
    the same opening words), so either can be caught.
    """


class InvalidParameterError(_InvalidParameterErrorBase):
    """A parameter of an invalid type or value.

    Both a ``ValueError`` and a ``TypeError`` (as scikit-learn's, whose
    ``InvalidParameterError`` it also derives from when scikit-learn is
    installed), so code catching either keeps working.
    """


# ------------------------------------------------------------- constraints
# A parameter is valid when it satisfies one of the constraints of its list.
# A constraint is one of: an ``Interval``, a ``StrOptions``, ``None`` (the
# value None), ``callable`` (any callable), or one of the strings "boolean",
# "array-like", "random_state", "verbose".


def _is_bool(value: Any) -> bool:
    return isinstance(value, (bool, np.bool_))


class Interval:
    """Numbers of ``type`` (``numbers.Integral`` or ``numbers.Real``) in an interval.

    ``left`` / ``right`` None mean -inf / +inf; ``closed`` is "left", "right",
    "both" or "neither" (as scikit-learn's). Booleans are refused, and so is
    NaN; an infinite value is accepted only where the interval contains it
    (an unbounded side closed, as in scikit-learn).
    """

    def __init__(self, type: Any, left: float | None, right: float | None, *, closed: str) -> None:
        if type not in (numbers.Integral, numbers.Real):
            raise ValueError(f"type must be numbers.Integral or numbers.Real, got {type!r}")
        if closed not in ("left", "right", "both", "neither"):
            raise ValueError(f"closed must be 'left', 'right', 'both' or 'neither', got {closed!r}")
        if left is not None and right is not None and right <= left:
            raise ValueError(f"right must be > left, got left={left}, right={right}")
        self.type = type
        self.left = left
        self.right = right
        self.closed = closed

    def is_satisfied_by(self, value: Any) -> bool:
        if _is_bool(value) or not isinstance(value, self.type):
            return False
        if not isinstance(value, numbers.Integral) and math.isnan(value):
            return False
        left = -math.inf if self.left is None else self.left
        right = math.inf if self.right is None else self.right
        if value < left or (value == left and self.closed in ("right", "neither")):
            return False
        return not (value > right or (value == right and self.closed in ("left", "neither")))

    def __str__(self) -> str:
        integral = self.type is numbers.Integral
        kind = "an int" if integral else "a float"

        def bound(b: float | None, default: str) -> str:
            if b is None:
                return default
            return str(int(b)) if integral else str(float(b))

        lb = "[" if self.closed in ("left", "both") else "("
        rb = "]" if self.closed in ("right", "both") else ")"
        return f"{kind} in the range {lb}{bound(self.left, '-inf')}, {bound(self.right, 'inf')}{rb}"


class StrOptions:
    """One of a set of strings."""

    def __init__(self, options: set[str] | frozenset[str]) -> None:
        self.options = frozenset(options)

    def is_satisfied_by(self, value: Any) -> bool:
        return isinstance(value, str) and value in self.options

    def __str__(self) -> str:
        # sorted: a set's order changes from one process to the next
        return "a str among {" + ", ".join(repr(o) for o in sorted(self.options)) + "}"


class _Named:
    """A constraint given by a name ("boolean", ...) or a builtin (None, callable)."""

    def __init__(self, test: Any, text: str) -> None:
        self._test = test
        self._text = text

    def is_satisfied_by(self, value: Any) -> bool:
        return bool(self._test(value))

    def __str__(self) -> str:
        return self._text


def _is_array_like(value: Any) -> bool:
    """scikit-learn's array-like: has a length, a shape or ``__array__``; not a
    scalar (a string is a scalar) and not a sparse matrix."""
    if isinstance(value, (str, bytes)) or np.isscalar(value):
        return False
    if type(value).__module__.startswith("scipy.sparse"):
        return False
    return hasattr(value, "__len__") or hasattr(value, "shape") or hasattr(value, "__array__")


_RANDOM_STATE_INT = Interval(numbers.Integral, 0, 2**32 - 1, closed="both")
_VERBOSE_INT = Interval(numbers.Integral, 0, None, closed="left")

_NAMED = {
    "boolean": _Named(_is_bool, "an instance of 'bool' or an instance of 'numpy.bool'"),
    "array-like": _Named(_is_array_like, "an array-like"),
    "random_state": _Named(
        lambda v: (
            v is None
            or isinstance(v, np.random.RandomState)
            or _RANDOM_STATE_INT.is_satisfied_by(v)
        ),
        f"{_RANDOM_STATE_INT}, an instance of 'numpy.random.mtrand.RandomState' or None",
    ),
    "verbose": _Named(
        lambda v: _is_bool(v) or _VERBOSE_INT.is_satisfied_by(v),
        f"{_VERBOSE_INT}, an instance of 'bool' or an instance of 'numpy.bool'",
    ),
}
_NONE = _Named(lambda v: v is None, "None")
_CALLABLE = _Named(callable, "a callable")


def _make_constraint(c: Any) -> Any:
    if c is None:
        return _NONE
    if c is callable:
        return _CALLABLE
    if isinstance(c, str):
        if c not in _NAMED:
            raise ValueError(f"unknown constraint {c!r}; known: {sorted(_NAMED)}")
        return _NAMED[c]
    if isinstance(c, (Interval, StrOptions, _Named)):
        return c
    raise TypeError(f"unknown constraint {c!r}")


# constraint tables made into their objects once (each fit validates its
# parameters: 22 -> 16 us), by the table's identity; the table is kept with
# them, so the identity cannot be reused while they are (a table changed in
# place after its first use is not seen: the estimators' tables are not)
_CONSTRAINT_OBJECTS: dict[int, tuple[Mapping[str, list[Any]], dict[str, list[Any]]]] = {}


def _constraint_objects(constraints: Mapping[str, list[Any]]) -> dict[str, list[Any]]:
    entry = _CONSTRAINT_OBJECTS.get(id(constraints))
    if entry is None or entry[0] is not constraints:
        objects = {name: [_make_constraint(c) for c in cs] for name, cs in constraints.items()}
        if len(_CONSTRAINT_OBJECTS) >= 64:  # tables made on the fly: forget them
            _CONSTRAINT_OBJECTS.clear()
        entry = _CONSTRAINT_OBJECTS[id(constraints)] = (constraints, objects)
    return entry[1]


def validate_params(
    params: Mapping[str, Any], constraints: Mapping[str, list[Any]], *, caller: str
) -> None:
    """Check every parameter of ``params`` that has an entry in ``constraints``.

    A parameter is valid when it satisfies one of its constraints; otherwise
    :class:`InvalidParameterError`, with scikit-learn's wording::

        The 'tol' parameter of KMeans must be a float in the range [0.0, inf).
        Got 'x' instead.

    ``caller`` names the estimator (or function) in the message.
    """
    table = _constraint_objects(constraints)
    for name, value in params.items():
        options = table.get(name)
        if options is None:
            continue
        if any(c.is_satisfied_by(value) for c in options):
            continue
        texts = [str(c) for c in options]
        allowed = texts[0] if len(texts) == 1 else f"{', '.join(texts[:-1])} or {texts[-1]}"
        raise InvalidParameterError(
            f"The {name!r} parameter of {caller} must be {allowed}. Got {value!r} instead."
        )


#: Method names of ``init`` (an array of centers or a callable is also valid).
INIT_METHODS = frozenset({"k-means++", "k-means||", "random"})

#: The parameters the three estimators share (scikit-learn's ``_BaseKMeans``
#: table, plus ``chunk_bytes``). ``tol`` is finite as in scikit-learn
#: (``[0.0, inf)``: ``tol=inf`` is refused).
COMMON_CONSTRAINTS: dict[str, list[Any]] = {
    "n_clusters": [Interval(numbers.Integral, 1, None, closed="left")],
    "init": [StrOptions(INIT_METHODS), callable, "array-like"],
    "n_init": [StrOptions({"auto"}), Interval(numbers.Integral, 1, None, closed="left")],
    "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
    "tol": [Interval(numbers.Real, 0, None, closed="left")],
    "verbose": ["verbose"],
    "random_state": ["random_state"],
    "chunk_bytes": [None, Interval(numbers.Integral, 1, None, closed="left")],
}

KMEANS_CONSTRAINTS: dict[str, list[Any]] = {
    **COMMON_CONSTRAINTS,
    "copy_x": ["boolean"],
    "algorithm": [StrOptions({"lloyd", "hamerly", "elkan", "auto"})],
}

#: What the function ``k_means`` checks itself (the rest is KMeans's table).
K_MEANS_FUNCTION_CONSTRAINTS: dict[str, list[Any]] = {"return_n_iter": ["boolean"]}

MINIBATCH_CONSTRAINTS: dict[str, list[Any]] = {
    **COMMON_CONSTRAINTS,
    "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
    "compute_labels": ["boolean"],
    "max_no_improvement": [Interval(numbers.Integral, 0, None, closed="left"), None],
    "init_size": [Interval(numbers.Integral, 1, None, closed="left"), None],
    "reassignment_ratio": [Interval(numbers.Real, 0, None, closed="left")],
}

SPHERICAL_CONSTRAINTS: dict[str, list[Any]] = {**COMMON_CONSTRAINTS}


def get_namespace(
    *arrays: Any, fitted: Any = None, estimator: str | None = None, method: str = "predict"
) -> tuple[Any, Any]:
    """Namespace and device of the arrays (all must share both).

    Python sequences and objects that are not arrays are converted with NumPy
    first, so lists work as they do in scikit-learn.

    ``fitted`` (in ``predict``, ``transform``, ``score``): the fitted centers.
    Input from another library or device than theirs is refused with a message
    that says the model was fitted on that library (``estimator`` names the
    model, ``method`` the method called), opening with scikit-learn's words
    (``Inputs passed to KMeans.predict() must use the same namespace ...``):
    a :class:`NamespaceError` for another library, a ``ValueError`` for
    another device. Input that is not an array (a list) takes the centers'
    namespace.
    """
    arrays = tuple(a for a in arrays if a is not None)
    names: list[Any] = []
    for a in arrays:
        try:
            names.append(array_namespace(a))
        except TypeError:
            names.append(None)
    real = [n for n in names if n is not None]
    if fitted is not None:
        fxp = array_namespace(fitted)
        foreign = [n for n in real if n is not fxp]
        who = estimator or "the estimator"
        opening = (
            f"Inputs passed to {who}.{method}() must use the same namespace and the same "
            "device as those passed to fit(): "
        )
        if foreign:
            raise NamespaceError(
                opening
                + _backend.fitted_mismatch_message(
                    who, _backend.backend_name(fxp), _backend.backend_name(foreign[0])
                )
            )
        fdev = _backend.device_of(fitted)
        for a, n in zip(arrays, names, strict=True):
            if n is not None and _backend.device_of(a) != fdev:
                raise ValueError(
                    f"{opening}{who} was fitted on device {fdev!r}; pass input on the "
                    f"same device or refit (got input on {_backend.device_of(a)!r})"
                )
        arrays = (*arrays, fitted)
        names.append(fxp)
        real.append(fxp)
    if real and any(n is not real[0] for n in real):
        kinds = sorted({_backend.backend_name(n) for n in real})
        raise TypeError(
            "all arrays must come from the same array library, got arrays from "
            + " and ".join(kinds)
            + "; convert them to one library first"
        )
    xp = real[0] if real else array_namespace(np.empty(0))
    devices = []
    for a, n in zip(arrays, names, strict=True):
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


# ----------------------------------------------------------- feature names
#: Libraries whose data frames name their columns (``X.columns``), as
#: scikit-learn's ``_get_feature_names`` reads them; pyarrow tables use
#: ``column_names``. Recognised by module, so no library is imported here.
_FRAME_LIBRARIES = frozenset({"pandas", "polars", "modin", "cudf", "dask"})


def _column_names(X: Any) -> Any:
    if X is None or isinstance(X, np.ndarray) or is_array_api_obj(X):
        return None
    root = type(X).__module__.split(".", 1)[0]
    if root == "pyarrow":
        names = getattr(X, "column_names", None)
    elif root in _FRAME_LIBRARIES:
        names = getattr(X, "columns", None)
    else:
        return None
    if names is None:
        return None
    return np.asarray(list(names), dtype=object)


def feature_names_of(X: Any) -> np.ndarray | None:
    """The column names of a data frame when they are all strings, else None.

    scikit-learn's rule (``sklearn.utils.validation._get_feature_names``):
    names are kept only when every column name is a ``str``; a mix of strings
    and other names is a ``TypeError`` (same message); arrays, and frames
    with integer column names, have none.
    """
    names = _column_names(X)
    if names is None or len(names) == 0:
        return None
    types = sorted(t.__qualname__ for t in {type(v) for v in names})
    if len(types) > 1 and "str" in types:
        raise TypeError(
            "Feature names are only supported if all input features have string names, "
            f"but your input has {types} as feature name / column name types. "
            "If you want feature names to be stored and validated, you must convert "
            "them all to strings, by using X.columns = X.columns.astype(str) for "
            "example. Otherwise you can remove feature / column names from your input "
            "data, or convert them all to a non-string data type."
        )
    if len(types) == 1 and types[0] == "str":
        return names
    return None


def check_feature_names(estimator: Any, X: Any, *, reset: bool) -> None:
    """Set (``reset``, in fit) or check ``estimator.feature_names_in_`` against ``X``.

    scikit-learn's behaviour and messages
    (``sklearn.utils.validation._check_feature_names``), without importing
    it: a ``UserWarning`` when a model fitted with names sees data without
    them or the reverse, a ``ValueError`` listing the differences when the
    names differ. A fit on data without names removes ``feature_names_in_``.
    """
    if reset:
        names = feature_names_of(X)
        if names is not None:
            estimator.feature_names_in_ = names
        elif hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
        return
    fitted = getattr(estimator, "feature_names_in_", None)
    names = feature_names_of(X)
    cls = type(estimator).__name__
    if fitted is None and names is None:
        return
    if fitted is None:
        warnings.warn(
            f"X has feature names, but {cls} was fitted without feature names", stacklevel=4
        )
        return
    if names is None:
        warnings.warn(
            f"X does not have valid feature names, but {cls} was fitted with feature names",
            stacklevel=4,
        )
        return
    if len(fitted) == len(names) and bool(np.all(fitted == names)):
        return
    message = "The feature names should match those that were passed during fit.\n"
    unexpected = sorted(set(names) - set(fitted))
    missing = sorted(set(fitted) - set(names))

    def listed(found: list[Any]) -> str:
        lines = [f"- {name}\n" for name in found[:5]]
        return "".join(lines) + ("- ...\n" if len(found) > 5 else "")

    if unexpected:
        message += "Feature names unseen at fit time:\n" + listed(unexpected)
    if missing:
        message += "Feature names seen at fit time, yet now missing:\n" + listed(missing)
    if not missing and not unexpected:
        message += "Feature names must be in the same order as they were in fit.\n"
    raise ValueError(message)


def as_array(xp: Any, a: Any, device: Any, name: str) -> Any:
    """``a`` as an array of ``xp`` (lists and host data converted).

    Backend-specific inputs are prepared first (``_backend.prepare_input``:
    torch grad / meta tensors, masked arrays, pandas, Dask unknown chunks).
    Object arrays holding numbers are converted to float64; text is refused.
    """
    a = _backend.prepare_input(a, name)
    if isinstance(a, np.ndarray) and a.dtype == object:
        return _backend.from_host(xp, _object_to_float(a, name), device)
    if _backend.is_sparse(a):
        # scipy.sparse or torch CSR samples (``_backend._sparse``); centers,
        # weights and the like are dense, as in scikit-learn
        if name != "X":
            raise TypeError(
                f"Sparse data was passed for {name}, but dense data is required; convert it "
                "with .toarray()"
            )
        _backend.check_sparse_namespace(xp, a, name)
        return a
    if is_array_api_obj(a):
        return a
    if hasattr(a, "toarray") or type(a).__module__.startswith("scipy.sparse"):
        raise TypeError(
            f"{name} is a sparse matrix; kmeans_xp needs a dense array (convert with .toarray())"
        )
    try:
        host = np.asarray(a)
    except Exception as exc:
        raise TypeError(f"{name} could not be converted to an array: {exc}") from exc
    if host.dtype == object:
        host = _object_to_float(host, name)
    if host.dtype.kind in "USV":
        raise DTypeError(f"{name} has dtype {host.dtype} (text or bytes); expected real numbers")
    return _backend.from_host(xp, host, device)


def _object_to_float(host: np.ndarray, name: str) -> np.ndarray:
    """An object array of real numbers as float64; anything else refused by kind."""
    seen: dict[type, Any] = {}
    for v in host.flat:
        seen.setdefault(type(v), v)
    for kind, example in seen.items():
        if issubclass(kind, numbers.Real) and not issubclass(kind, (str, bytes)):
            continue
        if example is None or kind.__name__ == "NAType":
            raise ValueError(
                f"{name} contains missing values (NaN/pd.NA): found {example!r} in an "
                "object array; remove or impute them before clustering"
            )
        if issubclass(kind, (str, bytes, np.str_, np.bytes_)):
            raise DTypeError(
                f"{name} has dtype object and holds text ({example!r}); expected real "
                "numbers: convert the text to numbers first"
            )
        if issubclass(kind, numbers.Complex):
            raise DTypeError(
                f"{name} has dtype object and holds complex numbers ({example!r}): "
                "Complex data not supported; expected real numbers"
            )
        try:
            float(example)
        except (TypeError, ValueError) as exc:
            # float()'s own words ("float() argument must be a string or a real
            # number, not 'dict'"), which scikit-learn's users match on
            raise DTypeError(
                f"{name} has dtype object and holds {kind.__name__} entries "
                f"({example!r}): {exc}; expected real numbers"
            ) from None
    try:
        return host.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise DTypeError(
            f"{name} has dtype object and could not be converted to float64 ({exc}); "
            "expected real numbers"
        ) from exc


def _dtype_name(dtype: Any) -> str:
    """``float32`` for NumPy's, torch's, JAX's or array-api-strict's float32."""
    name = getattr(dtype, "name", None)
    if isinstance(name, str):
        return name
    try:
        return np.dtype(dtype).name
    except Exception:
        return str(dtype).rsplit(".", 1)[-1]


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
    check_small: bool | None = None,
    check_scale: bool = True,
) -> Any:
    """Validate a 2-D sample matrix and cast it to a floating dtype.

    Returns the array itself when it already has the right dtype (no copy).
    ``n_features`` checks the number of columns against a fitted estimator
    (named ``estimator`` in the error message).

    With ``check_finite``, values whose squared distances would overflow are
    refused, and with ``check_small`` values whose squared distances would
    underflow (all differences tiny, for example data at 1e-170). The default
    of ``check_small`` is True for the data of a fit (``dtype`` and
    ``n_features`` not given) and False otherwise: in ``predict`` a few close
    samples are measured against centers at the fit's scale. Estimators that
    only use directions (SphericalKMeans) pass ``check_scale=False``: no
    magnitude check at all (rows are scaled to unit length first).
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
            f"{name}.reshape(1, -1) for a single sample."
            if X.ndim == 1
            else ""
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
    if check_small is None:
        check_small = dtype is None and n_features is None
    target = dtype if dtype is not None else _float_dtype_for(xp, X.dtype, device, name)
    original = None
    if X.dtype != target:
        original = X
        with np.errstate(over="ignore"):  # NumPy: values too large are reported below
            X = xp.astype(X, target)
    # dense NumPy rows: the finiteness and the extremes of the magnitude
    # check in one compiled pass (None elsewhere: one pass each)
    fused = (
        _backend.finite_column_extremes(xp, X)
        if check_finite and not _backend.is_sparse(X)
        else None
    )
    finite = fused[2] if fused is not None else (not check_finite or _all_finite(xp, X, device))
    if not finite:
        if (
            original is not None
            and xp.isdtype(original.dtype, "real floating")
            and _all_finite(xp, original, device)
        ):
            raise _cast_overflow_error(xp, original, target, name, fitted=dtype is not None)
        n_nan = int(xp.sum(xp.astype(xp.isnan(_values(X)), xp.int32)))
        what = "NaN" if n_nan else "infinity"
        raise ValueError(
            f"{name} contains {what} (n_nan={n_nan}); remove or impute non-finite "
            "values before clustering"
        )
    if check_finite and check_scale:
        extremes = None if fused is None else (fused[0], fused[1])
        _check_magnitude(xp, X, name, check_small=check_small, extremes=extremes)
    return X


def _cast_overflow_error(
    xp: Any, original: Any, target: Any, name: str, *, fitted: bool
) -> ValueError:
    """Finite values that became infinite on the cast to a narrower float."""
    big = float(_backend.to_host(xp, xp.max(xp.abs(_values(original)))))
    limit = float(xp.finfo(target).max)
    to, frm = _dtype_name(target), _dtype_name(original.dtype)
    why = f" (the model was fitted on {to} data)" if fitted else ""
    fix = f"rescale {name}" + (" or refit on float64 data" if fitted else "")
    return ValueError(
        f"{name} has finite values too large for {to}{why}: the largest |value| "
        f"{big:.3g} overflows the largest {to} {limit:.3g} on the cast from {frm}; {fix}"
    )


def _finite_block(xp: Any, Xb: Any) -> tuple[tuple[()], tuple[Any]]:
    return (), (xp.all(xp.isfinite(Xb)),)


def _both(xp: Any, a: tuple[Any], b: tuple[Any]) -> tuple[Any]:
    return (xp.logical_and(a[0], b[0]),)


def _values(X: Any) -> Any:
    """The stored values of sparse X (1-D), X itself when dense."""
    return _backend.sparse_values(X) if _backend.is_sparse(X) else X


def _all_finite(xp: Any, X: Any, device: Any) -> bool:
    """Whether every value is finite, one row chunk at a time (no n x d mask)."""
    if _backend.is_sparse(X):  # the stored values (the others are zeros)
        return bool(xp.all(xp.isfinite(_backend.sparse_values(X))))
    d = int(X.shape[1])
    n = X.shape[0] if not _backend.is_lazy(xp) else max(X.chunks[0])
    chunk = _backend.chunk_rows(xp, device, int(n), 4 * d, None)
    _, (ok,) = _backend.map_rows(xp, _finite_block, (X,), (), chunk=chunk, combine=_both)
    return bool(ok)


def _check_magnitude(
    xp: Any, X: Any, name: str, *, check_small: bool = False, extremes: Any = None
) -> None:
    """A clear error when the squared distances of ``X`` would overflow its dtype.

    Every pass forms squared norms and distances of rows and centers (in the
    raw frame or shifted by the mean), and sums up to ``n_samples`` of them
    (inertia, k-means++ potential, variance). All are bounded by ``bound``:
    the largest squared norm in either frame, from per-feature extremes.

    With ``check_small``, also when they would underflow: the largest
    difference between two values of a feature, squared, is below the
    smallest normal number of the dtype (so every squared distance is
    subnormal or zero and samples look like duplicates). Data whose rows are
    all equal (no difference at all) is valid. ``extremes``: X's per-feature
    (largest, smallest) values when already known.
    """
    if _backend.is_sparse(X):  # implicit zeros included
        hi, lo = _backend.sparse_column_extremes(X)
    else:
        hi_x, lo_x = _backend.column_extremes(xp, X) if extremes is None else extremes
        hi = _backend.to_host(xp, hi_x).astype(np.float64)
        lo = _backend.to_host(xp, lo_x).astype(np.float64)
    n = X.shape[0]
    n = int(n) if n is not None and n == n else 1
    with np.errstate(over="ignore", invalid="ignore"):
        per_feature = np.maximum(np.maximum(hi * hi, lo * lo), (hi - lo) ** 2)
        bound = float(np.sum(per_feature)) * (n + 4)
    limit = float(xp.finfo(X.dtype).max)
    if not bound <= limit:
        big = float(np.max(np.maximum(np.abs(hi), np.abs(lo))))
        raise ValueError(
            f"{name} has values too large for {_dtype_name(X.dtype)}: squared distances would "
            f"overflow (largest |value| {big:.3g}, {n} samples); rescale {name} "
            "(for example divide it by its standard deviation) or use float64"
        )
    if check_small:
        with np.errstate(over="ignore", invalid="ignore"):
            spread = float(np.max(hi - lo))
        if spread == 0.0 and n > 1 and not _backend.is_sparse(X):
            # every row equal as the device computes, or a device that flushes
            # subnormal values to zero (XLA on the CPU): look at some rows on the host
            head = _backend.to_host(xp, X[: min(n, 1024), :]).astype(np.float64)
            spread = float(np.max(np.max(head, axis=0) - np.min(head, axis=0)))
        tiny = float(xp.finfo(X.dtype).smallest_normal)
        if spread > 0.0 and spread * spread < tiny:
            raise ValueError(
                f"{name} has values too small for {_dtype_name(X.dtype)}: squared distances "
                f"would underflow (largest difference between two values of a feature "
                f"{spread:.3g}, squared below {tiny:.3g}); rescale {name} (for example "
                "divide it by its standard deviation)"
            )


def check_sample_weight(
    xp: Any, sample_weight: Any, n_samples: int, dtype: Any, device: Any
) -> Any:
    """None stays None (unit weights); otherwise a validated 1-D array."""
    if sample_weight is None:
        return None
    if isinstance(sample_weight, numbers.Real):
        w = xp.full((n_samples,), float(sample_weight), dtype=dtype, device=device)
    else:
        w = as_array(xp, sample_weight, device, "sample_weight")
        if not xp.isdtype(w.dtype, ("real floating", "integral", "bool")):
            raise TypeError(f"sample_weight has dtype {w.dtype}; expected real numbers")
        if w.ndim != 1 or w.shape[0] != n_samples:
            raise ValueError(
                f"sample_weight must have shape ({n_samples},) to match X, got {tuple(w.shape)}"
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


@dataclass(frozen=True)
class SampleWeight:
    """Validated sample weights, scaled so that they cannot overflow.

    ``array``: None for unit or uniform weights (the result does not depend
    on a common factor), else the weights divided by ``scale``, in the data
    dtype, the largest in [1, 2). ``scale``: a Python float, the factor that
    weighted sums (``inertia_``) are multiplied by to be in the units of the
    given weights; a power of two when ``array`` is given (so the division
    is exact: integer weights stay exact), the common weight otherwise (1.0
    for None).
    """

    array: Any
    scale: float


def prepare_sample_weight(
    xp: Any, sample_weight: Any, n_samples: int, dtype: Any, device: Any, like: Any = None
) -> SampleWeight:
    """Check ``sample_weight`` and scale it so that no sum can overflow.

    The weights follow X, as in scikit-learn: an array of another library or
    on another device is copied to X's (``xp``, ``device``) through the host,
    where they are checked and scaled anyway. ``like``: the samples, whose
    row chunks (Dask) the weights take.

    The scale is found, and applied, on the host in float64 before the cast
    to the data ``dtype`` (one copy of the weights each way), so float64
    weights of 1e36 or 1e300 / n with float32 data, or weights whose sum
    overflows float64, give the same clustering as weights of 1. Weights so spread that the smallest
    positive one would be below the smallest normal number of ``dtype`` after
    scaling are refused (they would silently count as 0, or lose their
    precision): a ``ValueError`` naming ``sample_weight``.
    """
    if sample_weight is None:
        return SampleWeight(None, 1.0)
    if isinstance(sample_weight, numbers.Number) and not is_array_api_obj(sample_weight):
        if not isinstance(sample_weight, numbers.Real):
            raise TypeError(
                f"sample_weight is {type(sample_weight).__name__} {sample_weight!r}; "
                "expected real numbers"
            )
        value = float(sample_weight)
        if not math.isfinite(value):
            raise ValueError("sample_weight contains NaN or infinity")
        if value < 0:
            raise ValueError("sample_weight has negative values; weights must be >= 0")
        if value == 0:
            raise ValueError("sample_weight is all zero; at least one weight must be positive")
        return SampleWeight(None, value)
    w = as_array(xp, _follow(xp, device, sample_weight), device, "sample_weight")
    if not xp.isdtype(w.dtype, ("real floating", "integral", "bool")):
        raise TypeError(f"sample_weight has dtype {w.dtype}; expected real numbers")
    if w.ndim != 1 or w.shape[0] != n_samples:
        raise ValueError(
            f"sample_weight must have shape ({n_samples},) to match X, got {tuple(w.shape)}"
        )
    # the statistics and the scaling on the host, in float64: exact, and immune
    # to devices that flush subnormal values to zero (XLA on the CPU, GPUs)
    host = np.asarray(_backend.to_host(xp, w), dtype=np.float64)
    if not bool(np.all(np.isfinite(host))):
        raise ValueError("sample_weight contains NaN or infinity")
    if bool(np.any(host < 0)):
        raise ValueError("sample_weight has negative values; weights must be >= 0")
    largest = float(np.max(host))
    if not largest > 0:
        raise ValueError("sample_weight is all zero; at least one weight must be positive")
    if float(np.min(host)) == largest:
        return SampleWeight(None, largest)  # uniform: the same result as unit weights
    # largest = m * 2**(e + 1) with m in [0.5, 1): divide by 2**e (exact)
    e = math.frexp(largest)[1] - 1
    host = np.ldexp(host, -e)
    scale = math.ldexp(1.0, e)
    smallest_positive = float(np.min(host[host > 0]))
    tiny = float(xp.finfo(dtype).smallest_normal)
    if smallest_positive < tiny:
        name = _dtype_name(dtype)
        raise ValueError(
            f"sample_weight spans too wide a range for {name}: the smallest positive "
            f"weight is {smallest_positive:.3g} times the largest, below the smallest "
            f"normal {name} {tiny:.3g}, so it would count as 0; set such weights to 0, "
            "or use float64 data"
        )
    return SampleWeight(
        _backend.rows_from_host(xp, host, w if like is None else like, device, dtype), scale
    )


def _follow(xp: Any, device: Any, a: Any) -> Any:
    """``a`` copied to ``xp`` on ``device`` (through the host) when it is an
    array of another library or on another device; else ``a`` itself."""
    # masked arrays, torch grad / meta tensors: refused or unwrapped first
    a = _backend.prepare_input(a, "sample_weight")
    if not is_array_api_obj(a) or _backend.is_sparse(a):
        return a
    own = array_namespace(a)
    if own is xp and _backend.device_of(a) == device:
        return a
    return _backend.from_host(xp, _backend.to_host(own, a), device)


def check_init_array(
    xp: Any,
    init: Any,
    n_clusters: int,
    n_features: int,
    dtype: Any,
    device: Any,
    name: str = "init",
) -> Any:
    """Initial centers as a (n_clusters, n_features) array of ``dtype``.

    ``name`` says where they come from in the messages: "init" for an array
    given as ``init``, the callable's result otherwise. A wrong shape gets
    scikit-learn's words (``The shape of the initial centers (3, 2) does not
    match the number of clusters 4.``).
    """
    C = check_data(xp, init, device, name, dtype=dtype)
    shape = tuple(int(s) for s in C.shape)
    what = "init array" if name == "init" else name
    expected = (
        f"({what} has shape {shape}, expected (n_clusters, n_features) = "
        f"({n_clusters}, {n_features}))"
    )
    if shape[0] != n_clusters:
        raise ValueError(
            f"The shape of the initial centers {shape} does not match the number of "
            f"clusters {n_clusters}. {expected}"
        )
    if shape[1] != n_features:
        raise ValueError(
            f"The shape of the initial centers {shape} does not match the number of "
            f"features of the data {n_features}. {expected}"
        )
    return C


def check_random_state(seed: Any) -> np.random.RandomState:
    """A NumPy ``RandomState`` from None, an int in [0, 2**32 - 1] or a RandomState
    (as scikit-learn); anything else is an :class:`InvalidParameterError`
    naming ``random_state``."""
    if seed is None or seed is np.random:
        return np.random.mtrand._rand
    if isinstance(seed, np.random.RandomState):
        return seed
    if _RANDOM_STATE_INT.is_satisfied_by(seed):
        return np.random.RandomState(int(seed))
    raise InvalidParameterError(
        f"random_state must be None, an int in the range [0, {2**32 - 1}] or a "
        f"numpy.random.RandomState, got {seed!r}"
    )


def check_int(value: Any, name: str, low: int) -> int:
    """``value`` as an int >= ``low`` (bools are not ints here).

    Raises :class:`InvalidParameterError` (a ``ValueError`` and a ``TypeError``).
    """
    if _is_bool(value) or not isinstance(value, numbers.Integral):
        raise InvalidParameterError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < low:
        raise InvalidParameterError(f"{name} must be >= {low}, got {value}")
    return int(value)


def check_real(value: Any, name: str, low: float = 0.0, *, strict: bool = False) -> float:
    """``value`` as a finite float >= ``low`` (> ``low`` when ``strict``).

    Raises :class:`InvalidParameterError` (a ``ValueError`` and a ``TypeError``).
    """
    if _is_bool(value) or not isinstance(value, numbers.Real):
        raise InvalidParameterError(
            f"{name} must be a real number, got {type(value).__name__} {value!r}"
        )
    v = float(value)
    bad = not math.isfinite(v) or (v <= low if strict else v < low)
    if bad:
        bound = f"> {low}" if strict else f">= {low}"
        raise InvalidParameterError(f"{name} must be a finite number {bound}, got {value!r}")
    return v


def is_array_init(init: Any) -> bool:
    """Whether ``init`` is given centers (not a method name or a callable)."""
    return not isinstance(init, str) and not callable(init)


def check_n_clusters(n_clusters: Any, n_samples: int | None, where: str | None = None) -> int:
    """``n_clusters`` as an int >= 1 and at most ``n_samples`` (not checked when
    None); ``where`` names the rows counted, when they are not all of X.

    The second check uses scikit-learn's wording:
    ``n_samples=5 should be >= n_clusters=8.`` (a ``ValueError``).
    """
    k = check_int(n_clusters, "n_clusters", 1)
    if n_samples is not None and k > n_samples:
        rows = f"n_samples={n_samples}" if where is None else f"n_samples={n_samples} in {where}"
        raise ValueError(f"{rows} should be >= n_clusters={k}.")
    return k


def check_init_n_init(
    init: Any,
    n_init: Any,
    inits: tuple[str, ...],
    random_n_init: int,
    estimator: str = "KMeans",
) -> int:
    """Check ``init`` against the method names ``inits`` and resolve ``n_init``.

    "auto" is ``random_n_init`` for "random" and a callable (as in
    scikit-learn: each call may give other centers) and 1 otherwise; given
    centers run once (with scikit-learn's warning when more runs were asked
    for, naming ``estimator``).
    """
    if isinstance(init, str):
        if init not in inits:
            raise InvalidParameterError(
                f"unknown init {init!r}; expected one of {list(inits)}, a callable or an array"
            )
    elif init is None:
        raise InvalidParameterError(
            f"init must be one of {list(inits)}, a callable or an array of initial centers, "
            "got None"
        )
    if isinstance(n_init, str) and n_init == "auto":
        drawn = callable(init) or (isinstance(init, str) and init == "random")
        runs = random_n_init if drawn else 1
    else:
        runs = check_int(n_init, "n_init", 1)
    if is_array_init(init) and runs != 1:
        warnings.warn(
            "Explicit initial center position passed: performing only one init in "
            f"{estimator} instead of n_init={runs}.",
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
