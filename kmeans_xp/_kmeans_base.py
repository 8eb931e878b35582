"""What the three estimators share (the role of scikit-learn's ``_BaseKMeans``).

Parameter validation declared once (each estimator's ``_parameter_constraints``
table), input preparation (namespace, device, dtype, weights, init), the
chunked ``Data`` of a fit, ``predict`` / ``fit_predict`` / ``transform`` /
``fit_transform`` / ``score``, progress reporting, the out-of-memory advice
and the distinct-clusters warning. Each estimator keeps only its own loop.
"""

from __future__ import annotations

import enum
import functools
import importlib
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import numpy as np
from array_api_compat import is_numpy_namespace

from . import _backend
from ._assign import (
    Data,
    Geometry,
    assign,
    assign_with_inertia,
    chunk_size_for,
    column_mean_var,
    inertia_and_sizes,
    needs_offset,
    unit_rows,
)
from ._assign import transform as _transform
from ._base import HAVE_SKLEARN, BaseEstimator, ClusterMixin, TransformerMixin
from ._init import init_random, kmeans_parallel
from ._init import kmeans_plusplus as _kmeans_plusplus
from ._lloyd import LloydStep, Report, RunResult, Step, better_run, run_lloyd
from ._typing import Array, Device, Namespace
from ._validation import (
    ConvergenceWarning,
    NotFittedError,
    check_data,
    check_feature_names,
    check_init_array,
    check_init_n_init,
    check_n_clusters,
    check_random_state,
    get_namespace,
    is_array_init,
    prepare_sample_weight,
    validate_params,
)


@contextmanager
def memory_advice(
    data: Data, k: int, chunk_bytes: int | None, output_bytes: int = 0
) -> Iterator[None]:
    """Turn the array library's out-of-memory error into one that says how to fit.

    ``output_bytes``: the size of a full-size result (``transform``'s
    (n, k) distances); when that alone is the problem, a smaller chunk would
    not help, and the message says so.
    """
    try:
        yield
    except Exception as exc:
        if not _backend.is_out_of_memory(exc):
            raise
        itemsize = 8 if data.dtype == getattr(data.xp, "float64", None) else 4
        budget = data.chunk * (k + data.width) * itemsize
        if output_bytes > 8 * budget:
            raise MemoryError(
                f"out of memory on {data.device!r}: the result alone needs "
                f"{output_bytes / 2**20:.0f} MiB ({data.n} samples x {k} clusters); "
                "transform fewer samples at a time (slices of X)"
            ) from exc
        raise MemoryError(
            f"out of memory on {data.device!r} with {data.chunk} rows per chunk "
            f"(about {budget / 2**20:.0f} MiB of temporaries for {k} clusters); pass a "
            f"smaller memory budget, for example chunk_bytes={max(1, min(budget // 8, 2**28))} "
            f"(now {chunk_bytes if chunk_bytes is not None else 'automatic'}), or free "
            "device memory"
        ) from exc


class Progress:
    """Progress lines on stderr (``verbose >= 1``): seeding, iterations, the end
    of each run, labelled with the initialisation they belong to."""

    def __init__(self, verbose: Any, n_init: int, k: int) -> None:
        self.on = bool(verbose)
        self.n_init = n_init
        self.k = k
        self.run = 0
        self.start = self.last = time.perf_counter()

    def say(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    def tag(self) -> str:
        return f"init {self.run}/{self.n_init}"

    def init_start(self, method: str) -> None:
        self.run += 1
        self.start = self.last = time.perf_counter()
        if self.on:
            self.say(f"{self.tag()}: {method} seeding (k={self.k})")

    def seeding(self, chosen: int, method: str = "k-means++") -> None:
        """Called after each chosen center; prints at most once a second."""
        now = time.perf_counter()
        if self.on and now - self.last >= 1.0:
            self.last = now
            self.say(f"{self.tag()}: {method} {chosen}/{self.k} centers, {now - self.start:.1f}s")

    def iteration(self, n_iter: int, inertia: float, shift: float) -> None:
        if self.on:
            self.say(
                f"Iteration {n_iter}: inertia {inertia:.6g}, center shift {shift:.3g}, "
                f"elapsed {time.perf_counter() - self.start:.2f}s"
            )

    def reporter(self, data: Data) -> Report | None:
        """The per-iteration callback of ``run_lloyd`` (None when quiet): the
        inertia of the labels against the centers they were computed for."""
        if not self.on:
            return None

        def report(n_iter: int, labels: Array, centers: Array, shift: float) -> None:
            value, _ = inertia_and_sizes(data, centers, labels)
            self.iteration(n_iter, value, shift)

        return report

    def run_end(self, run: RunResult, max_iter: int) -> None:
        if not self.on:
            return
        took = time.perf_counter() - self.start
        if run.strict:
            how = f"converged after {run.n_iter} iterations (no label changed)"
        elif run.converged:
            how = f"converged after {run.n_iter} iterations (center shift <= tol)"
        else:
            how = f"stopped at max_iter={max_iter}"
        self.say(f"{self.tag()}: {how}, inertia {run.inertia:.6g}, {took:.2f}s")


@dataclass(frozen=True)
class FitInput:
    """Validated inputs of one fit."""

    xp: Namespace
    device: Device
    X: Array
    weights: Array | None  # scaled so the largest is in [1, 2)
    weight_scale: float  # the caller's weights are ``weights * weight_scale``
    init: Any  # a method name, a callable, or centers in the small namespace (unshifted)
    k: int
    n_init: int
    random_state: np.random.RandomState


class InitMethod(enum.Enum):
    """How a run's initial centers are found."""

    KMEANS_PLUSPLUS = "k-means++"
    KMEANS_PARALLEL = "k-means||"
    RANDOM = "random"
    GIVEN = "given centers"
    CALLABLE = "callable"

    @classmethod
    def resolve(cls, init: object, xp: Namespace) -> InitMethod:
        if callable(init):
            return cls.CALLABLE
        if is_array_init(init):
            return cls.GIVEN
        method = cls(init)
        # greedy k-means++ needs k passes over X: on Dask, k-means|| (5 passes)
        if method is cls.KMEANS_PLUSPLUS and _backend.is_lazy(xp):
            return cls.KMEANS_PARALLEL
        return method


#: The name of a callable init's result in error messages.
CALLABLE_RESULT = "the array returned by init"


def initial_centers(
    data: Data,
    inp: FitInput,
    method: InitMethod,
    progress: Progress,
    given: Callable[[Any], Array],
) -> Array:
    """One run's initial centers, in the data's frame (small namespace).

    ``given`` validates centers given by the user (a callable init's result)
    and brings them to the small namespace, unshifted.
    """
    progress.init_start(method.value)
    if method is InitMethod.CALLABLE:
        # as scikit-learn: init(X, n_clusters, random_state=<RandomState>), with
        # X as validated (the input's namespace and floating dtype, not shifted)
        C = given(inp.init(data.X, inp.k, random_state=inp.random_state))
        return C if data.offset is None else C - data.offset
    if method is InitMethod.GIVEN:
        return inp.init if data.offset is None else inp.init - data.offset
    if method is InitMethod.RANDOM:
        return init_random(data, inp.k, inp.random_state)
    if method is InitMethod.KMEANS_PARALLEL:
        return kmeans_parallel(data, inp.k, inp.random_state)
    centers, _ = _kmeans_plusplus(data, inp.k, inp.random_state, progress=progress.seeding)
    return centers


def _output_container(method: Callable[..., Array]) -> Callable[..., Any]:
    """``transform`` / ``fit_transform`` returning the container chosen by
    ``set_output`` (without scikit-learn; with it, its ``TransformerMixin``
    wraps them)."""

    @functools.wraps(method)
    def wrapped(self: Any, X: Any, *args: Any, **kwargs: Any) -> Any:
        out = method(self, X, *args, **kwargs)
        how = getattr(self, "_sklearn_output_config", {}).get("transform", "default")
        if how == "default":
            return out
        pd = importlib.import_module("pandas")  # "pandas" was checked by set_output

        columns = self.get_feature_names_out()
        if isinstance(out, pd.DataFrame):
            out.columns = columns
            return out
        index = X.index if isinstance(X, pd.DataFrame) else None
        return pd.DataFrame(np.asarray(out), index=index, columns=columns)

    return wrapped


class _OutputMixin:
    """``set_output(transform="pandas")`` when scikit-learn is not installed.

    With scikit-learn, its ``TransformerMixin`` provides ``set_output`` (and
    the global ``set_config(transform_output=...)``) from
    ``get_feature_names_out``, and this mixin adds nothing.
    """

    if not HAVE_SKLEARN:  # pragma: no cover - run by the no-scikit-learn test

        def __init_subclass__(cls, **kwargs: Any) -> None:
            super().__init_subclass__(**kwargs)
            for name in ("transform", "fit_transform"):
                if name in cls.__dict__:
                    setattr(cls, name, _output_container(cls.__dict__[name]))

        def set_output(self, *, transform: str | None = None) -> Any:
            """Output container of ``transform`` and ``fit_transform``.

            Parameters
            ----------
            transform : {"default", "pandas"} or None
                "pandas": a DataFrame whose columns are
                ``get_feature_names_out()``; None leaves it unchanged.

            Returns
            -------
            self
            """
            if transform is None:
                return self
            if transform not in ("default", "pandas"):
                raise ValueError(
                    f"output config must be in ['default', 'pandas'] without scikit-learn, "
                    f"got {transform!r}"
                )
            if transform == "pandas":
                importlib.import_module("pandas")  # fail now if pandas is missing
            config = dict(getattr(self, "_sklearn_output_config", {}))
            config["transform"] = transform
            self._sklearn_output_config = config
            return self


_Method = TypeVar("_Method", bound=Callable[..., Any])


def one_blas_thread(method: _Method) -> _Method:
    """A fit method run with BLAS on one thread throughout, the checks of its
    input included. Every pass runs so (``_backend.map_rows``); a pass outside
    a fit's limit set it and gave the threads back on its own, four times a
    small fit (a fit of 10k x 2 rows 3 % slower with two threads, alternated:
    OpenBLAS's threads, given back, competed with the next pass)."""

    @functools.wraps(method)
    def limited(*args: Any, **kwargs: Any) -> Any:
        with _backend.blas_one_thread:
            return method(*args, **kwargs)

    return limited  # type: ignore[return-value]


_PARAM_NAMES: dict[type, tuple[str, ...]] = {}


def _param_names(cls: type) -> tuple[str, ...]:
    """The parameters of an estimator class (its ``__init__``'s), once a class."""
    names = _PARAM_NAMES.get(cls)
    if names is None:
        names = _PARAM_NAMES[cls] = tuple(cls._get_param_names())  # type: ignore[attr-defined]
    return names


class BaseKMeans(ClusterMixin, TransformerMixin, _OutputMixin, BaseEstimator):
    """Shared base of KMeans, MiniBatchKMeans and SphericalKMeans."""

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {}
    _geometry: ClassVar[Geometry] = Geometry.EUCLIDEAN
    _random_n_init: ClassVar[int] = 10
    _what_repeats: ClassVar[str] = "duplicate points"

    # ------------------------------------------------------------ parameters
    def _validate_params(self) -> None:
        # ``get_params(deep=False)``'s values, without reading the signature
        # each fit (``_param_names``: 34 -> 1 us)
        params = {name: getattr(self, name) for name in _param_names(type(self))}
        validate_params(params, self._parameter_constraints, caller=type(self).__name__)

    def _check_fitted(self) -> None:
        if not hasattr(self, "cluster_centers_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet; call fit first"
            )

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the columns of ``transform``: the class name lowercased and
        the cluster number (``kmeans0``, ``kmeans1``, ...), as scikit-learn.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Checked against ``feature_names_in_`` and ``n_features_in_``
            when given; the output names do not depend on them.

        Returns
        -------
        feature_names_out : ndarray of str objects, shape (n_clusters,)
        """
        self._check_fitted()
        if input_features is not None:
            names = np.asarray(input_features, dtype=object)
            fitted = getattr(self, "feature_names_in_", None)
            if fitted is not None and not np.array_equal(fitted, names):
                raise ValueError("input_features is not equal to feature_names_in_")
            if len(names) != self.n_features_in_:
                raise ValueError(
                    "input_features should have length equal to number of features "
                    f"({self.n_features_in_}), got {len(names)}"
                )
        prefix = type(self).__name__.lower()
        k = int(self.cluster_centers_.shape[0])
        return np.asarray([f"{prefix}{i}" for i in range(k)], dtype=object)

    # ----------------------------------------------------------------- input
    def _fit_input(self, X: Any, sample_weight: Any, *, where: str | None = None) -> FitInput:
        """Validate ``X``, weights, parameters and init, before any work."""
        self._validate_params()
        check_feature_names(self, X, reset=True)
        init = self.init
        # Dask keeps its centers as NumPy arrays: a NumPy init is its own kind
        host_init = (
            is_array_init(init) and isinstance(init, np.ndarray) and _backend.is_lazy_array(X)
        )
        # sample_weight follows X (``prepare_sample_weight``), as in scikit-learn
        xp, device = get_namespace(X, init if is_array_init(init) and not host_init else None)
        # only directions matter to the cosine geometry: rows of any scale are fine
        X = check_data(xp, X, device, check_scale=self._geometry is not Geometry.COSINE)
        n, d = int(X.shape[0]), int(X.shape[1])
        k = check_n_clusters(self.n_clusters, n, where)
        n_init = check_init_n_init(
            init,
            self.n_init,
            tuple(sorted(self._init_methods())),
            self._random_n_init,
            type(self).__name__,
        )
        sw = prepare_sample_weight(xp, sample_weight, n, X.dtype, device, like=X)
        if is_array_init(init):
            if host_init:
                init = xp.asarray(init)
            init = self._given_centers(xp, device, init, k, d, X.dtype, X=X)
        rs = check_random_state(self.random_state)
        return FitInput(
            xp, device, _backend.prepare_rows(xp, X), sw.array, sw.scale, init, k, n_init, rs
        )

    def _given_centers(
        self,
        xp: Namespace,
        device: Device,
        C: Any,
        k: int,
        d: int,
        dtype: Any,
        name: str = "init",
        *,
        X: Array,
    ) -> Array:
        """Centers given by the user (``init`` as an array, or a callable's
        result named ``name``), validated like data, in the small namespace
        of the data ``X``; unit rows for the cosine geometry."""
        C = check_init_array(xp, C, k, d, dtype, device, name)
        sxp = _backend.small_namespace(xp, device, X)
        if sxp is not xp:
            C = sxp.asarray(_backend.to_host(xp, C))
        if self._geometry is Geometry.COSINE:
            if not bool(sxp.all(sxp.max(sxp.abs(C), axis=1) > 0)):
                raise ValueError(f"{name} has a row of zeros, which has no direction")
            C = unit_rows(sxp, C)
        return C

    def _callable_result(self, data: Data, k: int) -> Callable[[Any], Array]:
        """The check of a callable init's result, for centers of ``data``'s
        ``X``: an array of its library (or NumPy, moved to its device)."""

        def given(C: Any) -> Array:
            if C is None or isinstance(C, (str, bytes)) or np.isscalar(C):
                raise TypeError(
                    f"init (a callable) returned {type(C).__name__} {C!r}; it must return "
                    f"an array of initial centers of shape (n_clusters, n_features) = "
                    f"({k}, {data.d})"
                )
            if isinstance(C, np.ndarray) and not is_numpy_namespace(data.xp):
                C = _backend.from_host(data.xp, C, data.device)
            try:
                get_namespace(data.X, C)
            except TypeError as exc:
                raise TypeError(
                    f"init (a callable) returned an array of another library than X: {exc}"
                ) from None
            return self._given_centers(
                data.xp, data.device, C, k, data.d, data.dtype, CALLABLE_RESULT, X=data.X
            )

        return given

    def _init_methods(self) -> frozenset[str]:
        options = self._parameter_constraints["init"][0]
        return frozenset(options.options)

    def _make_data(
        self,
        xp: Namespace,
        X: Array,
        w: Array | None,
        device: Device,
        offset: Array | None,
        k: int,
        weight_scale: float = 1.0,
    ) -> Data:
        # unit rows take two (rows, d) temporaries more in every pass
        extra = 2 * _backend.row_width(X) if self._geometry is Geometry.COSINE else 0
        budget_rows = chunk_size_for(xp, X, device, k + extra, self.chunk_bytes, capped=False)
        return Data(
            xp=xp,
            X=X,
            weights=w,
            offset=offset,
            device=device,
            chunk=chunk_size_for(xp, X, device, k + extra, self.chunk_bytes),
            chunk_cols=k,
            geometry=self._geometry,
            weight_scale=weight_scale,
            budget_rows=budget_rows,
        )

    def _predict_data(
        self,
        X: Array,
        sample_weight: Array | None = None,
        *,
        working: bool = True,
        method: str = "predict",
    ) -> tuple[Array, Data]:
        """(centers in the data's frame, Data) for ``X`` against the fit;
        ``method`` names the caller in the messages."""
        self._check_fitted()
        check_feature_names(self, X, reset=False)
        centers = self.cluster_centers_
        xp, device = get_namespace(X, fitted=centers, estimator=type(self).__name__, method=method)
        X = check_data(
            xp,
            X,
            device,
            dtype=centers.dtype,
            n_features=self.n_features_in_,
            estimator=type(self).__name__,
            check_scale=self._geometry is not Geometry.COSINE,
        )
        X = _backend.prepare_rows(xp, X)
        sw = prepare_sample_weight(xp, sample_weight, int(X.shape[0]), X.dtype, device, like=X)
        offset = getattr(self, "_offset", None)
        if offset is not None and _backend.is_sparse(X):
            # sparse rows are never shifted: measured against the centers as
            # returned (a fit on dense data far from the origin was shifted)
            k = int(centers.shape[0])
            return centers, self._make_data(xp, X, sw.array, device, None, k, sw.scale)
        data = self._make_data(xp, X, sw.array, device, offset, int(centers.shape[0]), sw.scale)
        if data.sxp is not xp:
            centers = data.sxp.asarray(_backend.to_host(xp, centers))
        if not working:  # the returned centers themselves, shifted
            offset = getattr(self, "_offset", None)
            return (centers if offset is None else centers - offset), data
        return self._working_centers(data.sxp, centers), data

    def _working_centers(self, sxp: Namespace, centers: Array) -> Array:
        """The fitted centers in the shifted frame the fit worked in.

        ``cluster_centers_`` is ``c + offset``, rounded to the data's dtype
        (at 1e8 in float32, to a multiple of 8); the fit's own ``c`` is kept
        and used while it still matches, so ``predict``, ``score`` and
        ``transform`` agree with ``labels_`` and ``inertia_`` exactly.
        """
        offset = getattr(self, "_offset", None)
        if offset is None:
            return centers
        kept = getattr(self, "_shifted_centers", None)
        if (
            kept is not None
            and kept.shape == centers.shape
            and bool(sxp.all(kept + offset == centers))
        ):
            return kept
        return centers - offset

    def _set_centers(self, xp: Namespace, sxp: Namespace, centers: Array, offset: Any) -> None:
        """Store centers found in the shifted frame (see ``_working_centers``)."""
        self._offset = offset
        self._shifted_centers = None if offset is None else centers
        out = centers if offset is None else centers + offset
        self.cluster_centers_ = out if sxp is xp else xp.asarray(out)

    # ------------------------------------------------------------- results
    def _warn_distinct(self, n_distinct: int, k: int) -> None:
        if n_distinct < k:
            warnings.warn(
                f"Number of distinct clusters ({n_distinct}) found smaller than "
                f"n_clusters ({k}). Possibly due to {self._what_repeats} in X.",
                ConvergenceWarning,
                stacklevel=3,
            )

    def _store(self, data: Data, run: RunResult, offset: Array | None, d: int) -> None:
        """Fitted attributes in the input's namespace."""
        self._set_centers(data.xp, data.sxp, run.centers, offset)
        self.labels_ = run.labels
        self.inertia_ = run.inertia
        self.n_iter_ = run.n_iter
        self.n_features_in_ = d

    # ------------------------------------------------------------- the runs
    def _make_step(self, data: Data, k: int) -> Step:
        """The iteration of a run (Lloyd's; KMeans may choose Hamerly's)."""
        return LloydStep(data)

    @one_blas_thread
    def _fit_runs(self, X: Array, sample_weight: Array | None) -> Any:
        """``n_init`` Lloyd runs from successive initialisations; the lowest
        inertia wins (KMeans and SphericalKMeans)."""
        inp = self._fit_input(X, sample_weight)
        data = self._make_data(
            inp.xp, inp.X, inp.weights, inp.device, None, inp.k, inp.weight_scale
        )
        mean, var = column_mean_var(data)
        sxp = data.sxp
        tol = float(sxp.mean(var)) * float(self.tol)
        offset = None
        # sparse samples are never shifted (``Data.shiftable``)
        if self._geometry is Geometry.EUCLIDEAN and data.shiftable and needs_offset(sxp, mean, var):
            offset = mean
            data = data.shifted(offset)
        method = InitMethod.resolve(inp.init, inp.xp)
        progress = Progress(self.verbose, inp.n_init, inp.k)
        given = self._callable_result(data, inp.k)
        best: RunResult | None = None
        with memory_advice(data, inp.k, self.chunk_bytes), _backend.blas_one_thread:
            for _ in range(inp.n_init):
                centers0 = initial_centers(data, inp, method, progress, given)
                run = run_lloyd(
                    data,
                    centers0,
                    max_iter=int(self.max_iter),
                    tol=tol,
                    report=progress.reporter(data),
                    step=self._make_step(data, inp.k),
                )
                progress.run_end(run, int(self.max_iter))
                if better_run(data.xp, run, best, inp.k):
                    best = run
        assert best is not None
        self._warn_distinct(best.n_nonempty, inp.k)
        self._store(data, best, offset, data.d)
        return self

    # ------------------------------------------------------------ after fit
    def predict(self, X: Array, sample_weight: Array | None = None) -> Array:
        """Index of the closest center for each sample.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            Samples, in the namespace and on the device of the fit.
        sample_weight : ignored
            Accepted for scikit-learn compatibility (deprecated there).

        Returns
        -------
        labels : array of shape (n_samples,)
        """
        centers, data = self._predict_data(X, sample_weight)
        with memory_advice(data, int(centers.shape[0]), self.chunk_bytes):
            return assign(data, centers)

    def fit_predict(self, X: Array, y: object = None, sample_weight: Array | None = None) -> Array:
        """Fit, then return the label of every sample (``labels_``).

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        y : ignored
        sample_weight : array of shape (n_samples,), default=None

        Returns
        -------
        labels : array of shape (n_samples,)
        """
        return self.fit(X, sample_weight=sample_weight).labels_

    def transform(self, X: Array) -> Array:
        """Distance of each sample to each center, (n_samples, n_clusters).

        Euclidean distances, or cosine distances ``1 - cos`` for
        SphericalKMeans.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)

        Returns
        -------
        distances : array of shape (n_samples, n_clusters)
        """
        # distances to ``cluster_centers_`` as returned (predict and score use
        # the fit's own centers, which agree with ``labels_``)
        centers, data = self._predict_data(X, working=False, method="transform")
        k = int(centers.shape[0])
        itemsize = 8 if data.dtype == getattr(data.xp, "float64", None) else 4
        with memory_advice(data, k, self.chunk_bytes, output_bytes=data.n * k * itemsize):
            _backend.reserve(data.xp, (data.n, k), data.dtype, data.device)
            return _transform(data, centers)

    def fit_transform(
        self, X: Array, y: object = None, sample_weight: Array | None = None
    ) -> Array:
        """Fit, then return the distances of ``X`` to the centers.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        y : ignored
        sample_weight : array of shape (n_samples,), default=None

        Returns
        -------
        distances : array of shape (n_samples, n_clusters)
        """
        return self.fit(X, sample_weight=sample_weight).transform(X)

    def score(self, X: Array, y: object = None, sample_weight: Array | None = None) -> float:
        """Opposite of the weighted cost of ``X`` against the fitted centers.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        y : ignored
        sample_weight : array of shape (n_samples,), default=None

        Returns
        -------
        score : float
            ``-inertia`` of ``X``: the larger, the better.
        """
        centers, data = self._predict_data(X, sample_weight, method="score")
        with memory_advice(data, int(centers.shape[0]), self.chunk_bytes):
            value = assign_with_inertia(data, centers).inertia
        return -value
