"""MiniBatchKMeans (issue 5): fit and partial_fit on every eager backend."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kmeans_xp import KMeans, MiniBatchKMeans, NotFittedError
from kmeans_xp._testing import assert_same_backend, to_numpy

ROOT = Path(__file__).resolve().parents[1]
# Dask is lazy: MiniBatchKMeans rejects it with a clear TypeError (tested below)
EAGER = pytest.mark.backends("numpy", "array_api_strict", "torch", "jax", "cupy", "torch_cuda")


def blobs(n=1200, d=3, k=4, seed=0, spread=12.0):
    rs = np.random.RandomState(seed)
    centers = rs.uniform(-spread, spread, size=(k, d))
    labels = rs.randint(0, k, size=n)
    return centers[labels] + rs.normal(scale=0.5, size=(n, d)), centers, labels


def match_centers(found, true):
    """Distance from every true center to the closest found one."""
    d = np.linalg.norm(found[:, None, :] - true[None, :, :], axis=2)
    return d.min(axis=0)


def _dtype(backend, name):
    return getattr(backend.xp, name)


# ---------------------------------------------------------------------------
# fit
# ---------------------------------------------------------------------------
@EAGER
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_fit_finds_the_blobs(backend, dtype):
    if dtype == "float64" and not backend.has_float64:
        pytest.skip("no float64 on this device")
    X, true, _ = blobs()
    Xb = backend.asarray(X, dtype=dtype)
    mbk = MiniBatchKMeans(4, batch_size=128, random_state=0).fit(Xb)
    centers = mbk.cluster_centers_
    assert_same_backend(centers, Xb, dtype=Xb.dtype)
    assert_same_backend(mbk.labels_, Xb)
    assert tuple(centers.shape) == (4, 3)
    assert match_centers(to_numpy(centers), true).max() < 0.15
    # labels_ and inertia_ are those of the final centers
    np.testing.assert_array_equal(to_numpy(mbk.predict(Xb)), to_numpy(mbk.labels_))
    C = to_numpy(centers).astype(np.float64)
    d2 = ((X[:, None, :] - C[None]) ** 2).sum(-1)
    rtol = 1e-10 if dtype == "float64" else 1e-4
    np.testing.assert_allclose(mbk.inertia_, d2.min(1).sum(), rtol=rtol)
    assert mbk.score(Xb) == pytest.approx(-mbk.inertia_, rel=rtol)
    # close to the full-batch optimum
    km = KMeans(4, random_state=0).fit(X)
    assert mbk.inertia_ <= 1.02 * km.inertia_
    dist = mbk.transform(Xb)
    assert_same_backend(dist, Xb, dtype=Xb.dtype)
    np.testing.assert_allclose(to_numpy(dist) ** 2, d2, rtol=10 * rtol, atol=1e-3)
    assert mbk.n_iter_ == math.ceil(mbk.n_steps_ * 128 / X.shape[0])
    assert mbk.n_features_in_ == 3


@EAGER
def test_same_seed_same_result_on_every_backend(backend):
    X, _, _ = blobs(600, 4, 5, seed=1)
    w = np.random.RandomState(3).uniform(0.5, 2.0, size=600)
    params = dict(batch_size=50, random_state=7, max_iter=5, n_init=3, init="random")
    ref = MiniBatchKMeans(5, **params).fit(X, sample_weight=w)
    got = MiniBatchKMeans(5, **params).fit(backend.asarray(X), sample_weight=backend.asarray(w))
    again = MiniBatchKMeans(5, **params).fit(backend.asarray(X), sample_weight=backend.asarray(w))
    # bit-identical on the same backend
    np.testing.assert_array_equal(to_numpy(got.cluster_centers_), to_numpy(again.cluster_centers_))
    # and the same as NumPy's up to float rounding: same draws, same steps
    assert got.n_steps_ == ref.n_steps_
    np.testing.assert_allclose(
        to_numpy(got.cluster_centers_), ref.cluster_centers_, rtol=1e-9, atol=1e-9
    )
    np.testing.assert_array_equal(to_numpy(got.labels_), ref.labels_)
    assert got.inertia_ == pytest.approx(ref.inertia_, rel=1e-9)


def test_different_seeds_differ():
    X, _, _ = blobs(600, 4, 5, seed=1)
    a = MiniBatchKMeans(5, batch_size=50, random_state=0, max_iter=2).fit(X)
    b = MiniBatchKMeans(5, batch_size=50, random_state=1, max_iter=2).fit(X)
    assert not np.array_equal(a.cluster_centers_, b.cluster_centers_)


def test_integer_input_becomes_default_float():
    X, _, _ = blobs(300)
    mbk = MiniBatchKMeans(4, random_state=0, batch_size=64).fit(np.round(X).astype(np.int64))
    assert mbk.cluster_centers_.dtype == np.float64


def test_far_from_origin_float32():
    # centered internally (as KMeans): float32 data at 1e5 still cluster well
    X, true, _ = blobs(1000, 2, 3, seed=2)
    mbk = MiniBatchKMeans(3, batch_size=100, random_state=0).fit((X + 1e5).astype(np.float32))
    assert match_centers(mbk.cluster_centers_.astype(np.float64) - 1e5, true).max() < 0.2


def test_stopping_rules():
    X, _, _ = blobs(1000)
    n_max = (20 * 1000) // 100
    full = MiniBatchKMeans(
        4, batch_size=100, max_iter=20, max_no_improvement=None, random_state=0
    ).fit(X)
    assert full.n_steps_ == n_max
    assert full.n_iter_ == 20
    patient = MiniBatchKMeans(
        4, batch_size=100, max_iter=20, max_no_improvement=3, random_state=0
    ).fit(X)
    assert patient.n_steps_ < n_max
    shift = MiniBatchKMeans(
        4, batch_size=100, max_iter=20, max_no_improvement=None, tol=1e-3, random_state=0
    ).fit(X)
    assert shift.n_steps_ < n_max


def test_compute_labels_false():
    X, _, _ = blobs(800)
    mbk = MiniBatchKMeans(4, batch_size=100, random_state=0, compute_labels=False).fit(X)
    assert not hasattr(mbk, "labels_")
    exact = -mbk.score(X)
    # estimated from the smoothed batch inertia: right order of magnitude
    assert 0.5 * exact < mbk.inertia_ < 2.0 * exact
    labels = mbk.fit_predict(X)
    np.testing.assert_array_equal(labels, mbk.predict(X))


def test_low_count_centers_are_reassigned():
    # one initial center far from all data never absorbs a row: reassignment
    # moves it onto the data; without reassignment it stays where it was
    X, true, _ = blobs(1000, 2, 3, seed=4)
    init = np.vstack([true[:2], [[1e3, 1e3]]])
    # seed 1: the batches are drawn as scikit-learn 1.9 draws them, and with
    # seed 0 its reassigned center lands off the third blob too (0.438)
    moved = MiniBatchKMeans(3, init=init, batch_size=100, random_state=1).fit(X)
    assert np.abs(moved.cluster_centers_).max() < 100
    assert match_centers(moved.cluster_centers_, true).max() < 0.3
    stuck = MiniBatchKMeans(
        3, init=init, batch_size=100, random_state=0, reassignment_ratio=0.0
    ).fit(X)
    np.testing.assert_array_equal(stuck.cluster_centers_[2], [1e3, 1e3])


def test_verbose_progress_on_stderr(capsys):
    X, _, _ = blobs(300)
    MiniBatchKMeans(4, batch_size=100, max_iter=2, random_state=0, verbose=1).fit(X)
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = [line for line in captured.err.splitlines() if line.startswith("Minibatch step")]
    assert len(lines) >= 2
    assert "batch inertia" in lines[0] and "center shift" in lines[0] and "elapsed" in lines[0]


# ---------------------------------------------------------------------------
# partial_fit
# ---------------------------------------------------------------------------
def test_partial_fit_step_is_the_running_mean():
    """Direct computation: each center is the mean of every row it absorbed."""
    rs = np.random.RandomState(0)
    init = np.array([[0.0, 0.0], [10.0, 10.0]])
    b1 = rs.normal(size=(40, 2)) + rs.randint(0, 2, size=(40, 1)) * 10.0
    b2 = rs.normal(size=(30, 2)) + rs.randint(0, 2, size=(30, 1)) * 10.0
    mbk = MiniBatchKMeans(2, init=init, reassignment_ratio=0.0)
    mbk.partial_fit(b1)
    lab1 = np.argmin(((b1[:, None] - init[None]) ** 2).sum(-1), axis=1)
    c1 = np.array([b1[lab1 == j].mean(0) for j in range(2)])
    np.testing.assert_allclose(mbk.cluster_centers_, c1, rtol=1e-12)
    mbk.partial_fit(b2)
    lab2 = np.argmin(((b2[:, None] - c1[None]) ** 2).sum(-1), axis=1)
    c2 = np.array([np.vstack([b1[lab1 == j], b2[lab2 == j]]).mean(0) for j in range(2)])
    np.testing.assert_allclose(mbk.cluster_centers_, c2, rtol=1e-12)
    np.testing.assert_array_equal(
        mbk.labels_, np.argmin(((b2[:, None] - c2[None]) ** 2).sum(-1), 1)
    )
    assert mbk.n_steps_ == 2


@EAGER
def test_partial_fit_stream_matches_numpy(backend):
    X, true, _ = blobs(1500, 3, 4, seed=5)
    blocks = np.array_split(X, 10)
    ref = MiniBatchKMeans(4, random_state=0)
    got = MiniBatchKMeans(4, random_state=0)
    for blk in blocks:
        ref.partial_fit(blk)
        got.partial_fit(backend.asarray(blk))
    assert got.n_steps_ == ref.n_steps_ == 10
    assert_same_backend(got.cluster_centers_, backend.asarray(blocks[0]))
    np.testing.assert_allclose(
        to_numpy(got.cluster_centers_), ref.cluster_centers_, rtol=1e-9, atol=1e-9
    )
    assert match_centers(ref.cluster_centers_, true).max() < 0.3
    np.testing.assert_array_equal(to_numpy(got.labels_), ref.labels_)


@EAGER
def test_partial_fit_from_memmap_file(backend, tmp_path):
    """Stream an np.load(..., mmap_mode="r") file block by block."""
    X, true, _ = blobs(4000, 3, 4, seed=6)
    path = tmp_path / "data.npy"
    np.save(path, X.astype(np.float32))
    mm = np.load(path, mmap_mode="r")
    assert isinstance(mm, np.memmap)
    streamed = MiniBatchKMeans(4, random_state=0)
    in_memory = MiniBatchKMeans(4, random_state=0)
    full = np.asarray(X.astype(np.float32))
    for start in range(0, mm.shape[0], 500):
        block = mm[start : start + 500]
        # NumPy takes the memmap slice itself; other backends get a copy
        streamed.partial_fit(block if backend.name == "numpy" else backend.asarray(np.array(block)))
        in_memory.partial_fit(full[start : start + 500])
    centers = streamed.cluster_centers_
    if backend.name == "numpy":
        assert type(centers) is np.ndarray  # not a memmap
    assert centers.dtype == _dtype(backend, "float32")
    np.testing.assert_allclose(to_numpy(centers), in_memory.cluster_centers_, rtol=1e-5, atol=1e-5)
    assert match_centers(to_numpy(centers).astype(np.float64), true).max() < 0.3
    assert streamed.n_steps_ == 8


def test_partial_fit_after_fit_continues():
    X, _, _ = blobs(600)
    mbk = MiniBatchKMeans(4, batch_size=100, random_state=0).fit(X)
    steps = mbk.n_steps_
    before = mbk.cluster_centers_.copy()
    mbk.partial_fit(X[:100])
    assert mbk.n_steps_ == steps + 1
    # a small move: the counts of the fit are kept
    assert np.abs(mbk.cluster_centers_ - before).max() < 0.5


def test_fit_after_partial_fit_restarts():
    X, _, _ = blobs(600)
    a = MiniBatchKMeans(4, batch_size=100, random_state=0)
    a.partial_fit(X[:50] * 3.0)
    a.fit(X)
    b = MiniBatchKMeans(4, batch_size=100, random_state=0).fit(X)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)


@pytest.mark.slow  # a subprocess of several seconds (the slow set runs in CI)
def test_example_script_streams_a_file(tmp_path):
    path = tmp_path / "demo.npy"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "stream_minibatch.py"),
            str(path),
            "--k",
            "3",
            "--block",
            "2000",
            "--demo-rows",
            "10000",
            "--demo-features",
            "4",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert path.exists()
    assert "5 partial_fit steps over 10000 rows" in proc.stdout
    assert proc.stdout.count("center ") == 3


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "params, exc, pattern",
    [
        (dict(batch_size=0), ValueError, r"'batch_size' parameter .* in the range \[1, inf\)"),
        (dict(batch_size=2.5), TypeError, r"'batch_size' parameter .* must be an int"),
        (dict(max_iter=0), ValueError, r"'max_iter' parameter .* in the range \[1, inf\)"),
        (dict(tol=-1.0), ValueError, r"'tol' parameter .* in the range \[0.0, inf\)"),
        (dict(reassignment_ratio=-0.1), ValueError, r"'reassignment_ratio' parameter"),
        (dict(max_no_improvement=-1), ValueError, r"'max_no_improvement' parameter .* \[0, inf\)"),
        (dict(init_size=0), ValueError, r"'init_size' parameter .* in the range \[1, inf\)"),
        (dict(n_init=0), ValueError, r"'n_init' parameter .* \{'auto'\} or an int"),
        (dict(compute_labels="yes"), TypeError, r"'compute_labels' parameter .* 'bool'"),
        (dict(init="kmeans"), ValueError, r"'init' parameter .* Got 'kmeans' instead"),
        (dict(n_clusters=0), ValueError, r"'n_clusters' parameter .* in the range \[1, inf\)"),
        (dict(n_clusters=500), ValueError, r"n_samples=\d+ should be >= n_clusters=500"),
    ],
)
def test_bad_parameters(params, exc, pattern):
    X, _, _ = blobs(100)
    with pytest.raises(exc, match=pattern):
        MiniBatchKMeans(**params).fit(X)


def test_partial_fit_errors():
    X, _, _ = blobs(100)
    with pytest.raises(
        ValueError, match="n_samples=5 in the first batch should be >= n_clusters=8"
    ):
        MiniBatchKMeans(8).partial_fit(X[:5])
    mbk = MiniBatchKMeans(4, random_state=0).partial_fit(X)
    # later batches may be smaller than n_clusters
    mbk.partial_fit(X[:2])
    with pytest.raises(ValueError, match="X has 2 features, but MiniBatchKMeans is expecting 3"):
        mbk.partial_fit(X[:, :2])
    with pytest.raises(ValueError, match="X has 2 features, but MiniBatchKMeans is expecting 3"):
        mbk.predict(X[:, :2])
    with pytest.raises(NotFittedError, match="not fitted yet"):
        MiniBatchKMeans(2).predict(X)


@pytest.mark.needs_backends("numpy", "torch")
def test_mixed_backends_rejected():
    torch = pytest.importorskip("torch")
    X, _, _ = blobs(100)
    mbk = MiniBatchKMeans(4, random_state=0).partial_fit(X)
    with pytest.raises(TypeError, match="fitted on numpy arrays; pass numpy input or refit"):
        mbk.partial_fit(torch.asarray(X))
    # sample_weight follows X (as in scikit-learn)
    mbk = MiniBatchKMeans(4, random_state=0).fit(torch.asarray(X), sample_weight=np.ones(100))
    assert isinstance(mbk.cluster_centers_, torch.Tensor)


@pytest.mark.needs_backends("numpy", "dask")
def test_dask_is_rejected_with_a_clear_error():
    da = pytest.importorskip("dask.array")
    X, _, _ = blobs(100)
    Xd = da.from_array(X, chunks=(50, 3))
    for call in (MiniBatchKMeans(4).fit, MiniBatchKMeans(4).partial_fit):
        with pytest.raises(
            TypeError,
            match=r"MiniBatchKMeans does not support dask arrays.*partial_fit\(block.compute\(\)\)",
        ):
            call(Xd)
