"""The kmeans-xp command line (issues 5 and 12): fit, predict, demo, plots and errors."""

from __future__ import annotations

import json
import os
import runpy
import subprocess
import sys
import textwrap
import types
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
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd or ROOT,
        timeout=120,
    )


def png_pixels(path):
    """The PNG as an (h, w, channels) float array, read back by matplotlib."""
    mpimg = pytest.importorskip("matplotlib.image")
    return mpimg.imread(str(path))


def assert_drawn(img, min_colors=4):
    """A 480 pixels high image (wider with a legend), not blank: many non-white
    pixels, several distinct colors."""
    assert img.shape[0] == 480 and img.shape[1] >= 640
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
    assert "Iteration 1: inertia" in proc.stderr


def test_demo_quiet_and_plot(tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--plot", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert "wrote demo_clusters.png" in captured.out
    assert_drawn(png_pixels(tmp_path / "demo_clusters.png"), min_colors=5)


def test_demo_plot_to_a_named_file(tmp_path, capsys):
    # in-process: test_demo_without_arguments runs ``python -m kmeans_xp demo``
    pytest.importorskip("matplotlib")
    png = tmp_path / "d.png"
    assert main(["demo", "--plot", str(png)]) == 0
    assert f"wrote {png}" in capsys.readouterr().out
    assert_drawn(png_pixels(png), min_colors=5)


# ---------------------------------------------------------------------------
# fit
# ---------------------------------------------------------------------------
def test_fit_npy(tmp_path, capsys):
    X = blobs()
    np.save(tmp_path / "x.npy", X)
    code = main(
        [
            "fit",
            str(tmp_path / "x.npy"),
            "-k",
            "3",
            "--seed",
            "4",
            "--out",
            str(tmp_path / "m.npz"),
            "--labels",
            str(tmp_path / "l.npy"),
        ]
    )
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


@pytest.mark.parametrize(
    "estimator, Est", [("minibatch", MiniBatchKMeans), ("spherical", SphericalKMeans)]
)
def test_fit_other_estimators(tmp_path, capsys, estimator, Est):
    X = blobs(400, 3, 3, seed=2) + 20.0
    np.save(tmp_path / "x.npy", X)
    args = [
        "fit",
        str(tmp_path / "x.npy"),
        "-k",
        "3",
        "--estimator",
        estimator,
        "--out",
        str(tmp_path / "m.npz"),
    ]
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
    assert (
        main(
            [
                "fit",
                str(tmp_path / "x.npy"),
                "-k",
                "3",
                "--backend",
                lib,
                "--device",
                "cpu",
                "--quiet",
                "--out",
                str(tmp_path / "m.npz"),
            ]
        )
        == 0
    )
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
    assert (
        main(
            [
                "fit",
                str(tmp_path / "x.npy"),
                "-k",
                "3",
                "--init",
                str(tmp_path / "init.npy"),
                "--quiet",
                "--out",
                str(tmp_path / "m.npz"),
            ]
        )
        == 0
    )
    ref = KMeans(3, init=init).fit(X)
    with np.load(tmp_path / "m.npz") as f:
        np.testing.assert_array_equal(f["cluster_centers"], ref.cluster_centers_)
    assert (
        main(
            [
                "fit",
                str(tmp_path / "x.npy"),
                "-k",
                "3",
                "--init",
                "random",
                "--quiet",
                "--n-init",
                "2",
                "--max-iter",
                "5",
            ]
        )
        == 0
    )


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
    assert (
        main(
            [
                "fit",
                str(tmp_path / "x.npy"),
                "-k",
                "3",
                "--quiet",
                "--estimator",
                estimator,
                "--out",
                model,
            ]
        )
        == 0
    )
    capsys.readouterr()
    ref = Est(3, random_state=0).fit(X)
    expected = ref.predict(new)
    assert main(["predict", model, str(tmp_path / "new.csv")]) == 0
    printed = np.array([int(v) for v in capsys.readouterr().out.split()])
    np.testing.assert_array_equal(printed, expected)
    assert (
        main(["predict", model, str(tmp_path / "new.csv"), "--out", str(tmp_path / "p.csv")]) == 0
    )
    np.testing.assert_array_equal(np.loadtxt(tmp_path / "p.csv", dtype=int), expected)
    assert (
        main(["predict", model, str(tmp_path / "new.csv"), "--out", str(tmp_path / "p.npy")]) == 0
    )
    np.testing.assert_array_equal(np.load(tmp_path / "p.npy"), expected)


def test_predict_on_torch(tmp_path, capsys):
    pytest.importorskip("torch")
    X = blobs(200, 2, 3, seed=9)
    np.save(tmp_path / "x.npy", X)
    model = str(tmp_path / "m.npz")
    assert main(["fit", str(tmp_path / "x.npy"), "-k", "3", "--quiet", "--out", model]) == 0
    capsys.readouterr()
    assert (
        main(["predict", model, str(tmp_path / "x.npy"), "--backend", "torch", "--device", "cpu"])
        == 0
    )
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
    assert "text.csv: line 3, column 1: 'x' is not a number" in _error(
        capsys, ["fit", str(text), "-k", "2"]
    )
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
    assert "n_clusters=50" in err and "20" in err
    err = _error(capsys, ["fit", str(tmp_path / "x.npy"), "-k", "2", "--init", "best"])
    assert "unknown --init 'best'; expected one of k-means++, k-means||, random" in err
    assert len(err.splitlines()) == 1  # before loading the data
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
    err = _error(
        capsys,
        ["fit", str(tmp_path / "x.npy"), "-k", "2", "--backend", "torch", "--device", "cuda:99"],
    )
    assert "backend 'torch' has no usable device 'cuda:99'" in err
    err = _error(capsys, ["fit", str(tmp_path / "x.npy"), "-k", "2", "--device", "cuda"])
    assert "--device cuda does not apply to --backend numpy" in err


def test_plot_without_matplotlib(tmp_path, capsys, monkeypatch):
    np.save(tmp_path / "x.npy", blobs(20))
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    err = _error(
        capsys, ["fit", str(tmp_path / "x.npy"), "-k", "2", "--plot", str(tmp_path / "p.png")]
    )
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
    assert "no such file" in _error(
        capsys, ["predict", str(tmp_path / "none.npz"), str(tmp_path / "x.npy")]
    )
    np.savez(tmp_path / "other.npz", something=np.zeros(3))
    assert "not a model written by" in _error(
        capsys, ["predict", str(tmp_path / "other.npz"), str(tmp_path / "x.npy")]
    )


# ---------------------------------------------------------------------------
# issue 12: a CLI that keeps its promises
# ---------------------------------------------------------------------------
def _one_line_error(capsys, argv):
    """Exit status 2 and exactly one line on stderr: no progress, so no work done."""
    err = _error(capsys, argv)
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("kmeans-xp ")
    return lines[0]


@pytest.fixture
def data_file(tmp_path):
    X = blobs(200, 2, 3, seed=11)
    np.save(tmp_path / "x.npy", X)
    return tmp_path / "x.npy"


@pytest.mark.parametrize(
    "option, name",
    [("--plot", "c.png"), ("--out", "m.npz"), ("--labels", "l.csv"), ("--labels", "l.npy")],
)
def test_item1_output_folder_missing_fails_before_the_fit(data_file, capsys, option, name):
    pytest.importorskip("matplotlib")
    target = data_file.parent / "nodir" / name
    line = _one_line_error(capsys, ["fit", str(data_file), "-k", "3", option, str(target)])
    assert f"{option} {target}: folder" in line and "does not exist" in line
    assert not target.parent.exists()


def test_item1_predict_output_folder_missing(data_file, capsys):
    model = data_file.parent / "m.npz"
    assert main(["fit", str(data_file), "-k", "3", "--quiet", "--out", str(model)]) == 0
    capsys.readouterr()
    target = data_file.parent / "nodir" / "l.csv"
    line = _one_line_error(capsys, ["predict", str(model), str(data_file), "--out", str(target)])
    assert "does not exist" in line


def test_item1_unwritable_and_overwriting_outputs(data_file, capsys):
    line = _one_line_error(capsys, ["fit", str(data_file), "-k", "3", "--labels", str(data_file)])
    assert "would overwrite the input file" in line
    line = _one_line_error(
        capsys, ["fit", str(data_file), "-k", "3", "--labels", str(data_file.parent)]
    )
    assert "unsupported file type" in line or "is a directory" in line


def test_item2_out_path_is_honoured_exactly(data_file, capsys):
    tmp = data_file.parent
    line = _one_line_error(capsys, ["fit", str(data_file), "-k", "3", "--out", str(tmp / "m.txt")])
    assert "--out" in line and "'.txt'" in line and "m.npz" in line
    assert sorted(p.name for p in tmp.iterdir()) == ["x.npy"]
    # np.savez("m.NPZ") would write m.NPZ.npz: the CLI writes the name given
    model = tmp / "model.NPZ"
    assert main(["fit", str(data_file), "-k", "3", "--quiet", "--out", str(model)]) == 0
    assert f"wrote {model}" in capsys.readouterr().out
    assert sorted(p.name for p in tmp.iterdir()) == ["model.NPZ", "x.npy"]
    assert main(["predict", str(model), str(data_file), "--out", str(tmp / "p.txt")]) == 0
    assert sorted(p.name for p in tmp.iterdir()) == ["model.NPZ", "p.txt", "x.npy"]
    ref = KMeans(3, random_state=0).fit(np.load(data_file))
    np.testing.assert_array_equal(np.loadtxt(tmp / "p.txt", dtype=int), ref.labels_)


def test_item3_predict_given_data_or_text_as_the_model(data_file, capsys):
    tmp = data_file.parent
    line = _one_line_error(capsys, ["predict", str(data_file), str(data_file)])
    assert "a .npy array, not a model" in line and "fit --out" in line
    bad = tmp / "bad.npz"
    bad.write_text("hello, I am text\n")
    line = _one_line_error(capsys, ["predict", str(bad), str(data_file)])
    assert "not a model (not an .npz archive)" in line and "pickle" not in line
    csv_file = tmp / "x.csv"
    np.savetxt(csv_file, np.load(data_file), delimiter=",")
    line = _one_line_error(capsys, ["predict", str(csv_file), str(data_file)])
    assert "not an .npz archive" in line
    np.savez(tmp / "other.npz", something=np.zeros(3))
    line = _one_line_error(capsys, ["predict", str(tmp / "other.npz"), str(data_file)])
    assert "not a model written by 'kmeans-xp fit --out'" in line
    # a model given as the data
    model = tmp / "m.npz"
    assert main(["fit", str(data_file), "-k", "2", "--quiet", "--out", str(model)]) == 0
    line = _one_line_error(capsys, ["predict", str(model), str(model)])
    assert "a .npz archive (a model?)" in line


def test_item4_torch_cuda_device_without_cuda_is_one_line(data_file, capsys):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    for device in ("cuda", "cuda:1"):
        line = _one_line_error(
            capsys,
            ["fit", str(data_file), "-k", "3", "-q", "--backend", "torch", "--device", device],
        )
        assert f"backend 'torch' has no usable device '{device}'" in line
        assert "no CUDA device is available" in line and len(line) < 250


def test_item4_jax_unknown_device_is_one_line(data_file, capsys):
    pytest.importorskip("jax")
    line = _one_line_error(
        capsys, ["fit", str(data_file), "-k", "3", "-q", "--backend", "jax", "--device", "cpu:7"]
    )
    assert "backend 'jax' has no usable device 'cpu:7'" in line


@pytest.mark.parametrize(
    "extra, expected",
    [
        (["--batch-size", "64"], "--batch-size applies to --estimator minibatch only"),
        (["--batch-size", "64", "--estimator", "spherical"], "--batch-size applies to"),
        (["--algorithm", "elkan", "--estimator", "minibatch"], "--algorithm applies to"),
        (["--algorithm", "lloyd", "--estimator", "spherical"], "--algorithm applies to"),
        (
            ["--backend", "dask", "--device", "cuda"],
            "--device cuda does not apply to --backend dask",
        ),
        (["--device", "cuda:0"], "--device cuda:0 does not apply to --backend numpy"),
        (["--backend", "dask", "--estimator", "minibatch"], "needs an in-memory backend"),
    ],
)
def test_item5_options_that_do_not_apply_are_refused(data_file, capsys, extra, expected):
    line = _one_line_error(capsys, ["fit", str(data_file), "-k", "3", *extra])
    assert expected in line


def test_item5_predict_device_with_numpy(data_file, capsys):
    line = _one_line_error(capsys, ["predict", str(data_file), str(data_file), "--device", "cuda"])
    assert "--device cuda does not apply to --backend numpy" in line


def test_item6_n_init_auto_and_numbers(data_file, capsys):
    X = np.load(data_file)
    for value, n_init in (("auto", "auto"), ("3", 3)):
        model = data_file.parent / f"m{value}.npz"
        argv = ["fit", str(data_file), "-k", "3", "--quiet", "--init", "random"]
        assert main([*argv, "--n-init", value, "--out", str(model)]) == 0
        ref = KMeans(3, init="random", n_init=n_init, random_state=0).fit(X)
        with np.load(model) as f:
            np.testing.assert_array_equal(f["cluster_centers"], ref.cluster_centers_)
    with pytest.raises(SystemExit) as info:
        main(["fit", str(data_file), "-k", "3", "--n-init", "0"])
    assert info.value.code == 2
    assert "expected 'auto' or a positive integer, got '0'" in capsys.readouterr().err


def _options(parser):
    """(subcommand, action) of every option of every subcommand."""
    import argparse

    subs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in subs.choices.items():
        for action in sub._actions:
            if action.option_strings and not isinstance(action, argparse._HelpAction):
                yield name, action


def test_item6_help_shows_every_default(capsys):
    from kmeans_xp.cli import build_parser

    parser = build_parser()
    seen = 0
    for name, action in _options(parser):
        assert action.help and (action.required or "default" in action.help), (
            name,
            action.option_strings,
        )
        seen += 1
    assert seen >= 20
    for name in ("fit", "predict", "demo"):
        with pytest.raises(SystemExit) as info:
            main([name, "--help"])
        assert info.value.code == 0
        text = " ".join(capsys.readouterr().out.split())
        assert "(default: " in text
    with pytest.raises(SystemExit):
        main(["fit", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for expected in ("(default: auto)", "(default: 300;", "(default: 1024)", "(default: lloyd)"):
        assert expected in text


def test_item6_version():
    import kmeans_xp

    proc = run_module("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"kmeans-xp {kmeans_xp.__version__}"


def test_item7_something_on_stderr_before_the_fit(data_file, capsys, monkeypatch):
    seen = {}

    def fit(self, X, *args, **kwargs):
        seen["err"] = capsys.readouterr().err
        raise ValueError("stop here")

    monkeypatch.setattr(KMeans, "fit", fit)
    assert main(["fit", str(data_file), "-k", "3"]) == 2
    lines = seen["err"].splitlines()
    assert lines[0].startswith(f"loading {data_file.name} (200 x 2 float64, ")
    assert lines[0].endswith("kB) ...")
    assert lines[1].startswith("fitting KMeans(n_clusters=3) on 200 x 2 float64")


def test_item7_jax_says_it_compiles(data_file, capsys, monkeypatch):
    pytest.importorskip("jax")
    seen = {}

    def fit(self, X, *args, **kwargs):
        seen["err"] = capsys.readouterr().err
        raise ValueError("stop here")

    monkeypatch.setattr(KMeans, "fit", fit)
    assert main(["fit", str(data_file), "-k", "3", "--backend", "jax"]) == 2
    assert "(jax backend" in seen["err"] and "compile" in seen["err"]


def test_item7_progress_labels_seeding_restarts_and_the_end(data_file, capsys):
    """The library's progress lines (the lead's part of issue 12) through the CLI."""
    assert main(["fit", str(data_file), "-k", "3", "--n-init", "2"]) == 0
    err = capsys.readouterr().err.splitlines()
    for run in (1, 2):
        assert f"init {run}/2: k-means++ seeding (k=3)" in err
        ends = [
            line
            for line in err
            if line.startswith(f"init {run}/2: converged after ")
            or line.startswith(f"init {run}/2: stopped at max_iter=")
        ]
        assert len(ends) == 1, err
        assert ", inertia " in ends[0] and ends[0].endswith("s")
    assert main(["fit", str(data_file), "-k", "3", "--max-iter", "1", "--n-init", "1"]) == 0
    err = capsys.readouterr().err
    assert "init 1/1: stopped at max_iter=1, inertia " in err


CSV_CASES = [
    # (file text, expected message after "PATH: ")
    ("a,b\n1,2\n3,x\n", "line 3, column 2: 'x' is not a number"),
    ("1,2\n3,x\n", "line 2, column 2: 'x' is not a number"),
    ("a,b\n1,2\n3,\n", "missing value at line 3, column 2"),
    ("a,b\n1,2\n,4\n", "missing value at line 3, column 1"),
    (
        "a,b\n1,2\n\n3,4,5\n",
        "line 4 has 3 values but line 2 has 2; every row needs one value per column",
    ),
    ("a,b\n", "no data rows after the header line"),
    ("a,b\n\n\n", "no data rows after the header line"),
    ("", "empty file"),
]


# Every case in one fresh interpreter (not pytest's, which captures warnings):
# each under its own ``warnings.catch_warnings()`` (the interpreter's default
# filters, a fresh "once per location" registry) with stderr captured, so that a
# NumPy warning printed on the way shows in that case's stderr.
CSV_SCRIPT = textwrap.dedent(
    """
    import contextlib, io, json, sys, traceback, warnings
    from kmeans_xp.cli import main

    results = []
    for path in sys.argv[1:]:
        err = io.StringIO()
        out = contextlib.redirect_stdout(io.StringIO())
        with warnings.catch_warnings(), contextlib.redirect_stderr(err), out:
            try:
                code = main(["fit", path, "-k", "1", "-q"])
            except SystemExit as exc:
                code = exc.code
            except BaseException:
                code = "raised"
                traceback.print_exc()
        results.append([code, err.getvalue()])
    print(json.dumps(results))
    """
)


@pytest.fixture(scope="module")
def csv_case_results(tmp_path_factory):
    """(path, exit status, stderr) of ``kmeans-xp fit PATH -k 1 -q`` for each of CSV_CASES."""
    root = tmp_path_factory.mktemp("csv_cases")
    paths = []
    for i, (text, _) in enumerate(CSV_CASES):
        (root / str(i)).mkdir()
        path = root / str(i) / "d.csv"
        path.write_text(text)
        paths.append(path)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [sys.executable, "-c", CSV_SCRIPT, *map(str, paths)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    return [(path, code, err) for path, (code, err) in zip(paths, results, strict=True)]


@pytest.mark.parametrize("case", range(len(CSV_CASES)))
def test_item9_csv_messages_name_file_lines(csv_case_results, case):
    path, code, err = csv_case_results[case]
    expected = CSV_CASES[case][1]
    assert code == 2, err
    assert err == f"kmeans-xp fit: error: {path}: {expected}\n"
    assert "usecols" not in err


@pytest.mark.parametrize(
    "text",
    [
        '"a","b"\n"1","2"\n"3","4"\n"5.5","6"\n',
        '"1", "2"\n"3", "4"\n"5.5", "6"\n',
        "a;b\n1;2\n3;4\n5.5;6\n",
        "a\tb\n1\t2\n3\t4\n5.5\t6\n",
        "# comment\n1 2\n3  4\n5.5 6\n",
    ],
)
def test_item9_quoted_and_other_csv_dialects(tmp_path, capsys, text):
    path = tmp_path / "d.csv"
    path.write_text(text)
    model = tmp_path / "m.npz"
    assert main(["fit", str(path), "-k", "1", "--quiet", "--out", str(model)]) == 0
    with np.load(model) as f:
        np.testing.assert_allclose(f["cluster_centers"], [[9.5 / 3, 4.0]], rtol=1e-15)
        assert f["labels"].shape == (3,)


@pytest.mark.slow  # a subprocess of several seconds (the slow set runs in CI)
def test_item10_closed_pipe_is_quiet(tmp_path):
    X = blobs(60_000, 2, 3, seed=12)  # 60,000 labels: more than a pipe's buffer
    np.save(tmp_path / "x.npy", X)
    model = tmp_path / "m.npz"
    assert main(["fit", str(tmp_path / "x.npy"), "-k", "3", "-q", "--out", str(model)]) == 0
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    # the three pipelines run side by side (each its own interpreter and pipe)
    procs = [
        subprocess.Popen(
            [
                "bash",
                "-c",
                f'"{sys.executable}" -m kmeans_xp {cmd} | head -1; '
                'echo "status ${PIPESTATUS[0]}" >&2',
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        for cmd in (
            f"predict {model} {tmp_path / 'x.npy'}",
            f"fit {tmp_path / 'x.npy'} -k 3 -q",
            "fit --help",
        )
    ]
    try:
        outputs = [proc.communicate(timeout=120) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for stdout, stderr in outputs:
        assert len(stdout.splitlines()) == 1
        assert "Traceback" not in stderr and "BrokenPipe" not in stderr
        status = stderr.splitlines()[-1]
        assert status in ("status 0", "status 141"), stderr


def test_item11_summary_without_rounding_noise(tmp_path, capsys):
    from kmeans_xp.cli import format_values

    assert format_values(
        np.array([-2.22e-16, 5.99871234, 1234.5678, -0.0]), np.array([1.0, 6.0, 2000.0, 3.0])
    ) == ["0", "5.9987", "1234.6", "0"]
    # small scales keep their digits
    assert format_values(np.array([1.5e-7, 0.0]), np.array([2e-7, 0.0])) == ["0.00000015", "0"]
    # a feature whose mean is rounding noise: 0.1 + 0.2 - 0.3 != 0
    X = np.array([[0.0, 0.1], [0.0, 0.2], [0.0, -0.3], [10.0, 0.1], [10.0, 0.2], [10.0, -0.3]])
    km = KMeans(2, random_state=0).fit(X)
    assert np.any((km.cluster_centers_[:, 1] != 0) & (np.abs(km.cluster_centers_[:, 1]) < 1e-15))
    np.save(tmp_path / "x.npy", X)
    assert main(["fit", str(tmp_path / "x.npy"), "-k", "2", "--quiet"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.strip()[:1].isdigit()]
    assert len(rows) == 2
    for line in rows:
        assert "e-" not in line and line.endswith(", 0)"), out


def test_item11_demo_and_fit_list_clusters_alike(tmp_path, capsys):
    from kmeans_xp.cli import demo_data

    assert main(["demo", "--quiet"]) == 0
    demo = capsys.readouterr().out.splitlines()
    np.save(tmp_path / "demo.npy", demo_data(0)[0])
    assert main(["fit", str(tmp_path / "demo.npy"), "-k", "5", "--quiet"]) == 0
    fit = capsys.readouterr().out.splitlines()
    assert demo[1:] == fit[1:]
    assert [int(line.split()[0]) for line in demo[3:]] == [0, 1, 2, 3, 4]


def _figure(X, k, seed=0):
    from kmeans_xp.cli import draw_clusters

    km = KMeans(k, random_state=seed).fit(X)
    return km, draw_clusters(X, km.labels_, km.cluster_centers_, "t")


def test_item12_legend_keyed_to_the_cluster_numbers():
    pytest.importorskip("matplotlib")
    km, fig = _figure(blobs(600, 2, 5, seed=13), 5)
    ax = fig.axes[0]
    sizes = np.bincount(km.labels_, minlength=5)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        f"{i} ({sizes[i]})" for i in range(5)
    ]
    assert ax.get_legend().get_title().get_text() == "cluster (size)"
    # each center carries its number
    assert sorted(t.get_text() for t in ax.texts) == [str(i) for i in range(5)]
    # the samples of cluster i are drawn in legend entry i's color
    from matplotlib.colors import to_rgba

    handles = ax.get_legend().legend_handles
    for i, coll in enumerate(ax.collections[:5]):
        assert coll.get_offsets().shape[0] == sizes[i]
        np.testing.assert_allclose(
            coll.get_facecolor()[0][:3], to_rgba(handles[i].get_facecolor()[0])[:3]
        )


def test_item12_palette_distinct_up_to_20_then_markers():
    pytest.importorskip("matplotlib")
    from kmeans_xp.cli import cluster_styles

    colors, markers = cluster_styles(20)
    rgb = colors[:, :3]
    dist = np.sqrt(((rgb[:, None] - rgb[None]) ** 2).sum(-1))
    assert dist[np.triu_indices(20, 1)].min() > 0.2  # tab20's closest pair: 0.098
    assert len(set(markers)) == 1
    colors, markers = cluster_styles(45)
    styles = {(tuple(np.round(c, 3)), m) for c, m in zip(colors, markers, strict=True)}
    assert len(styles) == 45
    X = blobs(1000, 3, 25, seed=14)
    _, fig = _figure(X, 25)
    ax = fig.axes[0]
    assert sorted(int(t.get_text()) for t in ax.texts) == list(range(25))


def test_item12_one_dimensional_data_as_a_histogram():
    pytest.importorskip("matplotlib")
    X = blobs(300, 1, 3, seed=15)
    _, fig = _figure(X, 3)
    ax = fig.axes[0]
    assert ax.get_ylabel() == "number of samples"
    assert ax.get_xlabel() == "feature 0"
    assert len(ax.patches) > 10  # histogram bars
    assert len(ax.get_legend().get_texts()) == 3


@pytest.mark.parametrize(
    "suffix, magic", [(".png", b"\x89PNG"), (".svg", b"<?xml"), (".pdf", b"%PDF")]
)
def test_item12_plot_format_from_the_extension(data_file, capsys, suffix, magic):
    pytest.importorskip("matplotlib")
    out = data_file.parent / f"c{suffix.upper()}"
    assert main(["fit", str(data_file), "-k", "3", "--quiet", "--plot", str(out)]) == 0
    assert out.read_bytes().startswith(magic)


def test_item12_unknown_plot_format_fails_before_the_fit(data_file, capsys):
    pytest.importorskip("matplotlib")
    line = _one_line_error(
        capsys, ["fit", str(data_file), "-k", "3", "--plot", str(data_file.parent / "c.jpg")]
    )
    assert "unsupported file type '.jpg'; use one of .png, .svg, .pdf" in line
    line = _one_line_error(capsys, ["demo", "--plot", str(data_file.parent / "c.gif")])
    assert "unsupported file type '.gif'" in line
    assert sorted(p.name for p in data_file.parent.iterdir()) == ["x.npy"]


def test_warnings_print_as_one_line(tmp_path, capsys):
    # two distinct points, three clusters: the library's ConvergenceWarning
    X = np.array([[0.0, 0.0]] * 5 + [[1.0, 1.0]] * 5)
    np.save(tmp_path / "x.npy", X)
    assert main(["fit", str(tmp_path / "x.npy"), "-k", "3", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("kmeans-xp fit: warning: ")
    assert len(err.splitlines()) == 1


# ---------------------------------------------------------------------------
# item 13: examples/stream_minibatch.py
# ---------------------------------------------------------------------------
EXAMPLE = ROOT / "examples" / "stream_minibatch.py"


@pytest.fixture
def run_example(monkeypatch, capsys):
    """Run the example as ``__main__`` in this process (test_minibatch.py runs it as a
    script in a fresh interpreter): ``run_example(*args, cwd=...)`` gives its exit
    status and what it printed."""

    def run(*args, cwd, missing=()):
        monkeypatch.chdir(cwd)
        monkeypatch.setattr(sys, "argv", [str(EXAMPLE), *args])
        for name in missing:  # import NAME -> ImportError
            monkeypatch.setitem(sys.modules, name, None)
        capsys.readouterr()
        try:
            runpy.run_path(str(EXAMPLE), run_name="__main__")
            code = 0
        except SystemExit as exc:
            code = 0 if exc.code is None else exc.code
        captured = capsys.readouterr()
        return types.SimpleNamespace(returncode=code, stdout=captured.out, stderr=captured.err)

    return run


def test_item13_example_writes_its_demo_file_to_a_temporary_folder(tmp_path, run_example):
    n, d = 8000, 4
    proc = run_example(
        "--k",
        "3",
        "--block",
        "2000",
        "--demo-rows",
        str(n),
        "--demo-features",
        str(d),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert list(tmp_path.iterdir()) == []  # nothing left in the working folder
    assert "writing a demo file" in proc.stderr and "kmeans_xp_stream_" in proc.stderr
    demo = Path(proc.stderr.split("writing a demo file ")[1].split(" (")[0])
    assert not demo.exists()  # and the temporary folder is gone
    assert f"4 partial_fit steps over {n} rows" in proc.stdout
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith(f"inertia over the {n} rows: ")
    # unit-variance blobs, found: about one unit of squared distance per value
    inertia = float(last.rsplit(" ", 1)[1])
    assert 0.8 * n * d < inertia < 1.3 * n * d


def test_item13_example_on_a_named_file_reports_its_inertia(tmp_path, run_example):
    X = blobs(3000, 3, 3, seed=16).astype(np.float32)
    np.save(tmp_path / "x.npy", X)
    proc = run_example(str(tmp_path / "x.npy"), "--k", "3", "--block", "1000", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    printed = float(proc.stdout.strip().splitlines()[-1].rsplit(" ", 1)[1])
    centers = np.array(
        [[float(v) for v in line.split(":")[1].split()] for line in proc.stdout.splitlines()
         if line.startswith("center ")]
    )  # fmt: skip
    # the inertia of the printed centers (3 decimals) on the whole file
    expected = ((X[:, None, :] - centers[None]) ** 2).sum(-1).min(1).sum()
    np.testing.assert_allclose(printed, expected, rtol=1e-3)


def test_item13_example_missing_backend_is_one_line(tmp_path, run_example):
    proc = run_example("--backend", "cupy", cwd=tmp_path, missing=("cupy",))
    assert proc.returncode == 2
    assert proc.stderr == (
        "stream_minibatch.py: error: backend 'cupy' is not installed "
        "(pip install 'kmeans-xp[cupy]')\n"
    )
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------
# found going through the CLI as a person would
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "argv, expected",
    [
        (["fit", "{x}", "-k", "0"], "argument -k/--n-clusters: expected a positive integer"),
        (["fit"], "the following arguments are required: data, -k/--n-clusters"),
        ([], "the following arguments are required: COMMAND"),
        (["fit", "{x}", "-k", "3", "--estimator", "bogus"], "argument --estimator: invalid"),
        (["fit", "{x}", "-k", "3", "--seed", "-1"], "argument --seed: expected an integer"),
        (["predict", "{x}"], "the following arguments are required: data"),
    ],
)
def test_usage_errors_are_one_line(data_file, capsys, argv, expected):
    with pytest.raises(SystemExit) as info:
        main([a.format(x=data_file) for a in argv])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1, err
    assert expected in err and "--help')" in err


def test_a_model_given_as_the_data_fails_before_loading(data_file, capsys):
    model = data_file.parent / "m.npz"
    assert main(["fit", str(data_file), "-k", "2", "--quiet", "--out", str(model)]) == 0
    capsys.readouterr()
    line = _one_line_error(capsys, ["fit", str(model), "-k", "2"])
    assert "a .npz archive (a model?); expected data in a .npy or .csv file" in line


def test_pandas_index_column_is_pointed_out(tmp_path, capsys):
    X = blobs(60, 3, 2, seed=17)
    named = tmp_path / "named.csv"
    # what pandas' DataFrame(X, columns=list("abc")).to_csv(path) writes
    rows = [",a,b,c"] + [f"{i}," + ",".join(repr(float(v)) for v in row) for i, row in enumerate(X)]
    named.write_text("\n".join(rows) + "\n")
    assert main(["fit", str(named), "-k", "2", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert "60 points in 4-D" in captured.out
    assert captured.err.startswith("kmeans-xp fit: warning: ")
    assert "a row index (pandas' to_csv)?" in captured.err and "index=False" in captured.err
    # with numbers as column names the header line itself is not all text
    numbered = tmp_path / "numbered.csv"
    numbered.write_text("\n".join([",0,1,2", *rows[1:]]) + "\n")
    line = _one_line_error(capsys, ["fit", str(numbered), "-k", "2", "-q"])
    assert line.endswith(
        "missing value at line 1, column 1 (a header with an unnamed index column? write it "
        "with index=False)"
    )
