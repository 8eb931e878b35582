"""The kmeans-xp command line (issue 5): fit, predict, demo, plots and errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kmeans_xp import KMeans, MiniBatchKMeans, SphericalKMeans
from kmeans_xp.cli import main

ROOT = Path(__file__).resolve().parents[1]


def blobs(n=300, d=2, k=3, seed=0):
    rs = np.random.RandomState(seed)
    centers = rs.uniform(-10, 10, size=(k, d))
    return centers[rs.randint(0, k, size=n)] + rs.normal(size=(n, d))


def run_module(*args, cwd=None):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "kmeans_xp", *args],
        capture_output=True, text=True, env=env, cwd=cwd or ROOT, timeout=120,
    )


def png_pixels(path):
    """The PNG as an (h, w, channels) float array, read back by matplotlib."""
    mpimg = pytest.importorskip("matplotlib.image")
    return mpimg.imread(str(path))


def assert_drawn(img, min_colors=4):
    """A 640x480 image, not blank: many non-white pixels, several distinct colors."""
    assert img.shape[:2] == (480, 640)
    rgb = img[..., :3]
    non_white = np.any(rgb < 0.95, axis=-1)
    assert non_white.mean() > 0.03
    # saturated (cluster-colored) pixels, in several distinct hues
    sat = rgb.max(-1) - rgb.min(-1) > 0.3
    assert sat.sum() > 500
    colors = np.unique(np.round(rgb[sat] * 8), axis=0)
    assert len(colors) >= min_colors


# ---------------------------------------------------------------------------
# demo
# ---------------------------------------------------------------------------
def test_demo_without_arguments():
    proc = run_module("demo")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.splitlines()
    assert out[0] == "kmeans_xp demo: 1500 points in 2-D, k=5 (numpy backend)"
    assert out[1].startswith("iterations:") and "inertia:" in out[1]
    assert len(out) == 3 + 5
    # progress on stderr by default
    assert proc.stderr.startswith("Iteration 1: inertia")


def test_demo_quiet_and_plot(tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--plot", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert "wrote demo_clusters.png" in captured.out
    assert_drawn(png_pixels(tmp_path / "demo_clusters.png"), min_colors=5)


def test_demo_plot_to_a_named_file(tmp_path):
    pytest.importorskip("matplotlib")
    png = tmp_path / "d.png"
    proc = run_module("demo", "--plot", str(png))
    assert proc.returncode == 0, proc.stderr
    assert_drawn(png_pixels(png), min_colors=5)


# ---------------------------------------------------------------------------
# fit
# ---------------------------------------------------------------------------
def test_fit_npy(tmp_path, capsys):
    X = blobs()
    np.save(tmp_path / "x.npy", X)
    code = main(["fit", str(tmp_path / "x.npy"), "-k", "3", "--seed", "4",
                 "--out", str(tmp_path / "m.npz"), "--labels", str(tmp_path / "l.npy")])
    assert code == 0
    captured = capsys.readouterr()
    assert "KMeans: 300 points in 2-D, k=3 (numpy backend, cpu)" in captured.out
    assert "Iteration 1: inertia" in captured.err and "elapsed" in captured.err
    ref = KMeans(3, random_state=4).fit(X)
    with np.load(tmp_path / "m.npz") as f:
        np.testing.assert_array_equal(f["cluster_centers"], ref.cluster_centers_)
        np.testing.assert_array_equal(f["labels"], ref.labels_)
        assert float(f["inertia"]) == ref.inertia_
        assert int(f["n_iter"]) == ref.n_iter_
        assert str(f["estimator"]) == "kmeans"
    np.testing.assert_array_equal(np.load(tmp_path / "l.npy"), ref.labels_)


@pytest.mark.parametrize("header", [True, False])
def test_fit_csv(tmp_path, capsys, header):
    X = blobs(200, 3, 4, seed=1)
    path = tmp_path / "x.csv"
    if header:
        np.savetxt(path, X, delimiter=",", header="a,b,c", comments="")
    else:
        np.savetxt(path, X, delimiter=",")
    assert path.read_text().startswith("a,b,c\n") == header
    assert main(["fit", str(path), "-k", "4", "--quiet", "--out", str(tmp_path / "m.npz")]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    ref = KMeans(4, random_state=0).fit(np.loadtxt(path, delimiter=",", skiprows=int(header)))
    with np.load(tmp_path / "m.npz") as f:
        np.testing.assert_allclose(f["cluster_centers"], ref.cluster_centers_, rtol=1e-12)
        np.testing.assert_array_equal(f["labels"], ref.labels_)


@pytest.mark.parametrize("estimator, Est", [("minibatch", MiniBatchKMeans), ("spherical", SphericalKMeans)])
def test_fit_other_estimators(tmp_path, capsys, estimator, Est):
    X = blobs(400, 3, 3, seed=2) + 20.0
    np.save(tmp_path / "x.npy", X)
    args = ["fit", str(tmp_path / "x.npy"), "-k", "3", "--estimator", estimator,
            "--out", str(tmp_path / "m.npz")]
    params = {}
    if estimator == "minibatch":
        args += ["--batch-size", "64"]
        params["batch_size"] = 64
    assert main(args) == 0
    captured = capsys.readouterr()
    assert f"{Est.__name__}: 400 points in 3-D" in captured.out
    progress = "Minibatch step 1/" if estimator == "minibatch" else "Iteration 1: inertia"
    assert progress in captured.err
    ref = Est(3, random_state=0, **params).fit(X)
    with np.load(tmp_path / "m.npz") as f:
        np.testing.assert_array_equal(f["cluster_centers"], ref.cluster_centers_)
        assert str(f["estimator"]) == estimator


@pytest.mark.parametrize("lib", ["torch", "jax"])
def test_fit_on_another_backend(tmp_path, capsys, lib):
    pytest.importorskip(lib)
    X = blobs(300, 2, 3, seed=3)
    np.save(tmp_path / "x.npy", X)
    assert main(["fit", str(tmp_path / "x.npy"), "-k", "3", "--backend", lib,
                 "--device", "cpu", "--quiet", "--out", str(tmp_path / "m.npz")]) == 0
    assert f"({lib} backend" in capsys.readouterr().out
    ref = KMeans(3, random_state=0).fit(X)
    with np.load(tmp_path / "m.npz") as f:
        np.testing.assert_array_equal(f["labels"], ref.labels_)
        np.testing.assert_allclose(f["cluster_centers"], ref.cluster_centers_, rtol=1e-10)


def test_fit_with_init_from_file(tmp_path, capsys):
    X = blobs(300, 2, 3, seed=5)
    init = X[:3].copy()
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "init.npy", init)
    assert main(["fit", str(tmp_path / "x.npy"), "-k", "3", "--init", str(tmp_path / "init.npy"),
                 "--quiet", "--out", str(tmp_path / "m.npz")]) == 0
    ref = KMeans(3, init=init).fit(X)
    with np.load(tmp_path / "m.npz") as f:
        np.testing.assert_array_equal(f["cluster_centers"], ref.cluster_centers_)
    assert main(["fit", str(tmp_path / "x.npy"), "-k", "3", "--init", "random", "--quiet",
                 "--n-init", "2", "--max-iter", "5"]) == 0


def test_fit_plot_projects_high_dimensional_data(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    X = blobs(600, 6, 4, seed=6)
    np.save(tmp_path / "x.npy", X)
    png = tmp_path / "clusters.png"
    assert main(["fit", str(tmp_path / "x.npy"), "-k", "4", "--quiet", "--plot", str(png)]) == 0
    assert f"wrote {png}" in capsys.readouterr().out
    assert_drawn(png_pixels(png), min_colors=4)


def test_projection_on_principal_axes():
    from kmeans_xp.cli import project_2d

    rs = np.random.RandomState(0)
    # variance along a known plane, tiny elsewhere
    basis = np.linalg.qr(rs.normal(size=(5, 5)))[0][:, :2]
    X = rs.normal(size=(500, 2)) * [5.0, 2.0] @ basis.T + 0.01 * rs.normal(size=(500, 5))
    P, C, names = project_2d(X, X[:3])
    assert P.shape == (500, 2) and C.shape == (3, 2)
    # the projection keeps almost all of the spread
    assert P.var(axis=0).sum() > 0.999 * (X - X.mean(0)).var(axis=0).sum()
    assert P[:, 0].var() > P[:, 1].var()
    np.testing.assert_allclose(C, P[:3])
    assert names[0].startswith("principal axis 1")


# ---------------------------------------------------------------------------
# predict
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("estimator, Est", [("kmeans", KMeans), ("spherical", SphericalKMeans)])
def test_predict(tmp_path, capsys, estimator, Est):
    X = blobs(300, 3, 3, seed=7)
    new = blobs(50, 3, 3, seed=8)
    np.save(tmp_path / "x.npy", X)
    np.savetxt(tmp_path / "new.csv", new, delimiter=",")
    model = str(tmp_path / "m.npz")
    assert main(["fit", str(tmp_path / "x.npy"), "-k", "3", "--quiet", "--estimator", estimator,
                 "--out", model]) == 0
    capsys.readouterr()
    ref = Est(3, random_state=0).fit(X)
    expected = ref.predict(new)
    assert main(["predict", model, str(tmp_path / "new.csv")]) == 0
    printed = np.array([int(v) for v in capsys.readouterr().out.split()])
    np.testing.assert_array_equal(printed, expected)
    assert main(["predict", model, str(tmp_path / "new.csv"), "--out", str(tmp_path / "p.csv")]) == 0
    np.testing.assert_array_equal(np.loadtxt(tmp_path / "p.csv", dtype=int), expected)
    assert main(["predict", model, str(tmp_path / "new.csv"), "--out", str(tmp_path / "p.npy")]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "p.npy"), expected)


def test_predict_on_torch(tmp_path, capsys):
    pytest.importorskip("torch")
    X = blobs(200, 2, 3, seed=9)
    np.save(tmp_path / "x.npy", X)
    model = str(tmp_path / "m.npz")
    assert main(["fit", str(tmp_path / "x.npy"), "-k", "3", "--quiet", "--out", model]) == 0
    capsys.readouterr()
    assert main(["predict", model, str(tmp_path / "x.npy"), "--backend", "torch", "--device", "cpu"]) == 0
    printed = np.array([int(v) for v in capsys.readouterr().out.split()])
    np.testing.assert_array_equal(printed, KMeans(3, random_state=0).fit(X).labels_)


# ---------------------------------------------------------------------------
# errors: exit status 2 and one clear line, no traceback
# ---------------------------------------------------------------------------
def _error(capsys, argv):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    return err


def test_missing_file_subprocess(tmp_path):
    proc = run_module("fit", str(tmp_path / "nope.npy"), "-k", "3")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip() == f"kmeans-xp fit: error: {tmp_path / 'nope.npy'}: no such file"


def test_unreadable_data(tmp_path, capsys):
    bad = tmp_path / "bad.npy"
    bad.write_bytes(b"this is not a numpy file")
    assert "could not read the data" in _error(capsys, ["fit", str(bad), "-k", "2"])
    text = tmp_path / "text.csv"
    text.write_text("a,b\n1,2\nx,y\n")
    assert "not a numeric CSV file" in _error(capsys, ["fit", str(text), "-k", "2"])
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert "empty file" in _error(capsys, ["fit", str(empty), "-k", "2"])
    other = tmp_path / "x.parquet"
    other.write_bytes(b"PAR1")
    assert "unknown file type '.parquet'" in _error(capsys, ["fit", str(other), "-k", "2"])
    obj = tmp_path / "obj.npy"
    np.save(obj, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    assert "could not read the data" in _error(capsys, ["fit", str(obj), "-k", "1"])
    cube = tmp_path / "cube.npy"
    np.save(cube, np.zeros((2, 2, 2)))
    assert "expected a 2-D array" in _error(capsys, ["fit", str(cube), "-k", "1"])
    nan = tmp_path / "nan.npy"
    np.save(nan, np.array([[1.0, np.nan], [0.0, 1.0]]))
    assert "X contains NaN" in _error(capsys, ["fit", str(nan), "-k", "1"])


def test_invalid_parameters(tmp_path, capsys):
    np.save(tmp_path / "x.npy", blobs(20))
    err = _error(capsys, ["fit", str(tmp_path / "x.npy"), "-k", "50"])
    assert "n_clusters=50 is larger than the number of samples" in err
    err = _error(capsys, ["fit", str(tmp_path / "x.npy"), "-k", "2", "--init", "best"])
    assert "unknown init 'best'" in err
    with pytest.raises(SystemExit) as info:  # argparse: -k is required
        main(["fit", str(tmp_path / "x.npy")])
    assert info.value.code == 2


def test_backend_not_installed(tmp_path, capsys, monkeypatch):
    np.save(tmp_path / "x.npy", blobs(20))
    monkeypatch.setitem(sys.modules, "cupy", None)  # import cupy -> ImportError
    err = _error(capsys, ["fit", str(tmp_path / "x.npy"), "-k", "2", "--backend", "cupy"])
    assert "backend 'cupy' is not installed (pip install 'kmeans-xp[cupy]')" in err


def test_backend_without_the_device(tmp_path, capsys):
    pytest.importorskip("torch")
    np.save(tmp_path / "x.npy", blobs(20))
    err = _error(capsys, ["fit", str(tmp_path / "x.npy"), "-k", "2", "--backend", "torch",
                          "--device", "cuda:99"])
    assert "backend 'torch' has no usable device 'cuda:99'" in err
    err = _error(capsys, ["fit", str(tmp_path / "x.npy"), "-k", "2", "--device", "cuda"])
    assert "numpy' runs on the cpu only" in err


def test_plot_without_matplotlib(tmp_path, capsys, monkeypatch):
    np.save(tmp_path / "x.npy", blobs(20))
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    err = _error(capsys, ["fit", str(tmp_path / "x.npy"), "-k", "2",
                          "--plot", str(tmp_path / "p.png")])
    assert "--plot needs matplotlib" in err and "kmeans-xp[plot]" in err
    assert not (tmp_path / "p.png").exists()
    assert "--plot needs matplotlib" in _error(capsys, ["demo", "--plot"])


def test_predict_errors(tmp_path, capsys):
    np.save(tmp_path / "x.npy", blobs(50, 2))
    np.save(tmp_path / "x3.npy", blobs(50, 3))
    model = str(tmp_path / "m.npz")
    assert main(["fit", str(tmp_path / "x.npy"), "-k", "2", "--quiet", "--out", model]) == 0
    capsys.readouterr()
    err = _error(capsys, ["predict", model, str(tmp_path / "x3.npy")])
    assert "has 3 features, but the model" in err and "fitted with 2" in err
    assert "no such file" in _error(capsys, ["predict", str(tmp_path / "none.npz"), str(tmp_path / "x.npy")])
    np.savez(tmp_path / "other.npz", something=np.zeros(3))
    assert "not a model written by" in _error(
        capsys, ["predict", str(tmp_path / "other.npz"), str(tmp_path / "x.npy")]
    )
