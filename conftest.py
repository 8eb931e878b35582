"""Backend matrix: one ``backend`` fixture parametrized over every array library.

Each backend is a ``Backend`` with the namespace ``xp``, a ``device`` and
``asarray(host_array)`` to move test data there. A backend whose library is
not installed, or whose device does not work, is skipped with the reason.

Select backends with ``--backends numpy,torch`` (default: all installed) or
the environment variable ``KMEANS_XP_BACKENDS``. A test without the
``backend`` fixture runs on NumPy: it is skipped when ``numpy`` is not
selected; one that builds other libraries' arrays itself names them with
``@pytest.mark.needs_backends("torch", ...)`` (or calls
``skip_unless_selected``) and is skipped unless all of them are selected.

Markers: ``backends(*names)`` restricts the ``backend`` fixture to these
backends; ``slow`` marks tests left out of the default run (``addopts`` in
pyproject.toml has ``-m "not slow"``; ``.ci/run`` runs them in a second
invocation: ``python -m pytest -q -ra -m slow``); ``slow_on(*names,
when=...)`` makes a test slow on these backends only (and only for the
parameters where ``when(params)`` is true): the default run keeps every test
on its cheap backends, the slow run adds the expensive ones. Dask
parametrizations are slow as a rule.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# OpenMP threads that wait for work by spinning (libgomp's default, in
# scikit-learn's and torch's copies) fight each other and every other process
# for the cores: on a busy 2-core machine one scikit-learn KMeans fit of 600
# rows took 2 s instead of 0.03 s. Waiting threads sleep instead; results do
# not depend on it. Set before any OpenMP runtime loads (numpy loads none),
# and inherited by the tests' subprocesses; an explicit setting is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import pytest

ALL_BACKENDS = (
    "numpy",
    "array_api_strict",
    "torch",
    "jax",
    "dask",
    "cupy",
    "torch_cuda",
)
CPU_BACKENDS = ALL_BACKENDS[:5]


@dataclass
class Backend:
    name: str
    xp: Any
    device: Any
    _convert: Callable[[np.ndarray], Any] = field(repr=False)
    has_float64: bool = True
    lazy: bool = False

    def asarray(self, a: Any, dtype: Any = None) -> Any:
        host = np.asarray(a)
        if dtype is not None:
            host = host.astype(dtype)
        return self._convert(host)

    def __str__(self) -> str:
        return self.name


def pytest_addoption(parser: Any) -> None:
    parser.addoption(
        "--backends",
        default=os.environ.get("KMEANS_XP_BACKENDS", ",".join(ALL_BACKENDS)),
        help="comma-separated backends to test (default: all; missing ones are skipped)",
    )


_DASK_CLIENT: Any = None


def _dask_client() -> Any:
    """One dask.distributed LocalCluster (2 worker processes) for the session."""
    global _DASK_CLIENT
    if _DASK_CLIENT is None:
        from dask.distributed import Client, LocalCluster

        cluster = LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        )
        _DASK_CLIENT = Client(cluster)
    return _DASK_CLIENT


def pytest_sessionfinish(session: Any, exitstatus: Any) -> None:
    global _DASK_CLIENT
    if _DASK_CLIENT is not None:
        cluster = _DASK_CLIENT.cluster
        _DASK_CLIENT.close()
        cluster.close()
        _DASK_CLIENT = None


def make_backend(name: str) -> Backend:
    """Build a backend or call pytest.skip with the reason it cannot run."""
    if name == "numpy":
        import array_api_compat.numpy as xp

        return Backend(name, xp, "cpu", np.asarray)
    if name == "array_api_strict":
        xs = pytest.importorskip("array_api_strict")
        return Backend(name, xs, xs.Device("CPU_DEVICE"), xs.asarray)
    if name in ("torch", "torch_cuda"):
        torch = pytest.importorskip("torch")
        import array_api_compat.torch as xp

        dev = torch.device("cpu" if name == "torch" else "cuda")
        if name == "torch_cuda":
            try:
                torch.ones(1, device=dev).sum().item()
            except Exception as exc:  # no CUDA build, no driver, no GPU
                pytest.skip(f"torch CUDA device not usable: {exc}")
        return Backend(name, xp, dev, lambda a: torch.asarray(a, device=dev))
    if name == "jax":
        jax = pytest.importorskip("jax")
        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp

        dev = jax.devices("cpu")[0]
        return Backend(name, jnp, dev, lambda a: jax.device_put(jnp.asarray(a), dev))
    if name == "dask":
        da = pytest.importorskip("dask.array")
        pytest.importorskip("dask.distributed")
        import array_api_compat.dask.array as xp

        _dask_client()

        def convert(a: np.ndarray) -> Any:
            chunks = max(1, -(-a.shape[0] // 3)) if a.ndim else ()
            return da.from_array(a, chunks=(chunks, *a.shape[1:]) if a.ndim else ())

        return Backend(name, xp, "cpu", convert, lazy=True)
    if name == "cupy":
        cp = pytest.importorskip("cupy")
        try:
            cp.ones(1).sum().item()
        except Exception as exc:
            pytest.skip(f"CuPy device not usable: {exc}")
        import array_api_compat.cupy as xp

        return Backend(name, xp, cp.cuda.Device(), cp.asarray)
    raise ValueError(f"unknown backend {name!r}")


def _selected(config: Any) -> list[str]:
    names = [n.strip() for n in config.getoption("--backends").split(",") if n.strip()]
    unknown = set(names) - set(ALL_BACKENDS)
    if unknown:
        raise pytest.UsageError(f"unknown backends {sorted(unknown)}; known: {ALL_BACKENDS}")
    return names


def skip_unless_selected(config: Any, *names: str) -> None:
    """Skip the calling test unless every backend in ``names`` is selected."""
    missing = [n for n in names if n not in _selected(config)]
    if missing:
        pytest.skip(f"backend(s) {', '.join(missing)} not selected by --backends")


# Dask (a scheduler round trip per pass, and a 2-process cluster to start)
# costs seconds a test: it runs in the slow set, which ``.ci/run`` runs too.
# JAX arrays in host memory run NumPy's chunks, as fast as NumPy's tests: JAX
# is in the default run, except the cases a test marks ``slow_on("jax")``.
EXPENSIVE_BACKENDS = ("dask",)


@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects by marker
def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    selected = set(_selected(config))
    for item in items:
        if "backend" in getattr(item, "fixturenames", ()):
            # ``slow_on(*names, when=predicate)``: slow on these backends (for
            # the parameters where ``predicate(params)`` holds)
            callspec = getattr(item, "callspec", None)
            params = callspec.params if callspec is not None else {}
            for marker in item.iter_markers("slow_on"):
                when = marker.kwargs.get("when", lambda p: True)
                if params.get("backend") in marker.args and when(params):
                    item.add_marker(pytest.mark.slow)
            if params.get("backend") == "dask":
                item.add_marker(pytest.mark.slow)
            continue
        # a test that takes a library by name as a parameter (subprocess
        # checks): JAX and Dask are slow there too
        callspec = getattr(item, "callspec", None)
        named = [] if callspec is None else callspec.params.values()
        if any(isinstance(v, str) and v in EXPENSIVE_BACKENDS for v in named):
            item.add_marker(pytest.mark.slow)
        # tests without the ``backend`` fixture (doctests included) run on
        # NumPy, or on the libraries their ``needs_backends`` marker names
        marker = item.get_closest_marker("needs_backends")
        needed = marker.args if marker is not None else ("numpy",)
        missing = [n for n in needed if n not in selected]
        if missing:
            reason = f"backend(s) {', '.join(missing)} not selected by --backends"
            item.add_marker(pytest.mark.skip(reason=reason))


def pytest_generate_tests(metafunc: Any) -> None:
    if "backend" in metafunc.fixturenames:
        names = _selected(metafunc.config)
        marks = getattr(metafunc.function, "pytestmark", [])
        only = [m for m in marks if m.name == "backends"]
        if only:
            names = [n for n in names if n in only[0].args]
        metafunc.parametrize("backend", names, indirect=True)


@pytest.fixture
def backend(request: Any) -> Backend:
    return make_backend(request.param)


@pytest.fixture
def xp(backend: Backend) -> Any:
    return backend.xp


def pytest_configure(config: Any) -> None:
    config.addinivalue_line("markers", "backends(*names): run only on these backends")
    config.addinivalue_line(
        "markers",
        "needs_backends(*names): a test without the backend fixture that builds these "
        "libraries' arrays; skipped unless all are selected (default: numpy)",
    )
    config.addinivalue_line(
        "markers",
        "slow_on(*names, when=None): slow (see below) on these backends, for the "
        "parameters where when(params) is true (all when None)",
    )
    config.addinivalue_line(
        "markers",
        "slow: slower tests, deselected by default (addopts -m 'not slow'); "
        ".ci/run runs them with -m slow",
    )
