"""A normal fit emits no warning (issue 12, item 8).

Every estimator's fit, predict, transform and score run under
``warnings.simplefilter("error")`` on each CPU backend at its default dtype and
the other one: NumPy and torch in float32 and float64, JAX float32 without
x64 (in a subprocess: the test session turns x64 on globally), JAX float64 with
x64, and Dask (KMeans only: the others refuse Dask arrays by design). Then the
command line under ``python -W error`` (one interpreter per library and dtype,
started side by side).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

from kmeans_xp import KMeans, MiniBatchKMeans, SphericalKMeans

ROOT = Path(__file__).resolve().parents[1]


def blobs(n=600, d=4, k=3, seed=0, dtype=np.float64):
    rs = np.random.RandomState(seed)
    centers = rs.uniform(-10, 10, size=(k, d))
    X = centers[rs.randint(0, k, size=n)] + rs.normal(size=(n, d))
    return X.astype(dtype)


def _exercise(Est, X, **params):
    """fit, predict, transform and score, every warning an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = Est(n_clusters=3, random_state=0, **params).fit(X)
        model.predict(X)
        model.transform(X)
        model.score(X)
    return model


ESTIMATORS = [KMeans, MiniBatchKMeans, SphericalKMeans]


@pytest.mark.backends("numpy", "torch", "jax")
@pytest.mark.parametrize("Est", ESTIMATORS, ids=lambda e: e.__name__)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_no_warning_on_eager_backends(backend, Est, dtype):
    X = backend.asarray(blobs(dtype=dtype))
    model = _exercise(Est, X)
    assert model.cluster_centers_.dtype == X.dtype


@pytest.mark.backends("dask")
def test_no_warning_on_dask(backend):
    X = backend.asarray(blobs())
    model = _exercise(KMeans, X)
    assert model.cluster_centers_.shape == (3, 4)


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    env.pop("JAX_ENABLE_X64", None)
    return env


@pytest.mark.slow  # a fresh interpreter compiling JAX: half a minute
def test_no_warning_on_jax_float32_without_x64():
    pytest.importorskip("jax")
    script = textwrap.dedent(
        """
        import warnings
        import numpy as np
        import jax
        import jax.numpy as jnp
        from kmeans_xp import KMeans, MiniBatchKMeans, SphericalKMeans

        assert not jax.config.jax_enable_x64
        rs = np.random.RandomState(0)
        centers = rs.uniform(-10, 10, size=(3, 4))
        X = jnp.asarray((centers[rs.randint(0, 3, size=600)] + rs.normal(size=(600, 4)))
                        .astype(np.float32))
        warnings.simplefilter("error")
        for Est in (KMeans, MiniBatchKMeans, SphericalKMeans):
            model = Est(n_clusters=3, random_state=0).fit(X)
            model.predict(X)
            model.transform(X)
            model.score(X)
            assert model.cluster_centers_.dtype == jnp.float32
        print("ok")
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=_env(), timeout=300
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-3000:]


CLI_CASES = [
    ("numpy", np.float64),
    pytest.param("torch", np.float32, marks=pytest.mark.needs_backends("torch")),
    pytest.param("jax", np.float32, marks=pytest.mark.needs_backends("jax")),  # no x64
    # the CLI turns x64 on for float64 data
    pytest.param("jax", np.float64, marks=pytest.mark.needs_backends("jax")),
    pytest.param("dask", np.float64, marks=pytest.mark.needs_backends("dask")),
]


def _cli_key(lib, dtype) -> str:
    return f"{lib}-{np.dtype(dtype).name}"


@pytest.fixture(scope="module")
def cli_fits(request, tmp_path_factory):
    """``python -W error -m kmeans_xp fit`` for every case of
    test_cli_fit_with_warnings_as_errors that this session runs, all started at
    once (side by side: most of each is an interpreter importing its libraries)."""
    procs = {}
    for item in request.session.items:
        if getattr(item, "originalname", None) != "test_cli_fit_with_warnings_as_errors":
            continue
        if item.get_closest_marker("skip") is not None:  # (--backends)
            continue
        lib, dtype = item.callspec.params["lib"], item.callspec.params["dtype"]
        if importlib.util.find_spec(lib) is None:
            continue  # the test skips
        folder = tmp_path_factory.mktemp(_cli_key(lib, dtype))
        path = folder / "x.npy"
        np.save(path, blobs(dtype=dtype))
        proc = subprocess.Popen(
            [sys.executable, "-W", "error", "-m", "kmeans_xp", "fit", str(path), "-k", "3",
             "--backend", lib, "--out", str(folder / "m.npz")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(), cwd=folder,
        )  # fmt: skip
        procs[_cli_key(lib, dtype)] = (proc, folder)
    yield procs
    for proc, _ in procs.values():
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


@pytest.mark.parametrize("lib, dtype", CLI_CASES)
def test_cli_fit_with_warnings_as_errors(request, lib, dtype):
    pytest.importorskip("dask.array" if lib == "dask" else lib)
    proc, folder = request.getfixturevalue("cli_fits")[_cli_key(lib, dtype)]
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr[-3000:]
    assert "warning" not in stderr.lower(), stderr[-3000:]
    with np.load(folder / "m.npz") as f:
        assert f["cluster_centers"].dtype == dtype
