"""Smoke test of the benchmark scripts, so that they do not rot.

Runs ``benchmarks/bench_cpu.py --quick`` in a subprocess (a few seconds) and
checks the markdown table it prints and writes. CPU only: skipped when the
numpy backend is not among the selected ``--backends`` (the GPU check). Both
tests are in the slow set (``pytest -m slow``, which ``.ci/run`` runs).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"

EXPECTED_COLUMNS = [
    "workload",
    "implementation",
    "ms/iter",
    "× sk Lloyd",
    "conv s",
    "conv iters",
    "conv × sk Lloyd",
    "conv inertia",
    "fit s",
    "fit iters",
    "fit × sk",
    "fit inertia",
    "inertia × sk",
    "peak MiB (tracemalloc)",
    "peak × X",
    "RSS Δ MiB",
    "notes",
]


@pytest.fixture(autouse=True)
def _cpu_only(request: pytest.FixtureRequest) -> None:
    selected = request.config.getoption("--backends", default="numpy")
    if "numpy" not in [s.strip() for s in selected.split(",")]:
        pytest.skip("benchmark smoke test runs with the numpy backend only")


def _run(args: list[str], tmp_path: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.setdefault("MPLBACKEND", "Agg")
    return subprocess.run(
        [sys.executable, *args, "--out", str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _table(text: str, first_header: str) -> list[list[str]]:
    lines = [ln for ln in text.splitlines() if ln.startswith("| ")]
    start = next(i for i, ln in enumerate(lines) if ln.startswith(f"| {first_header} |"))
    rows = []
    for ln in lines[start:]:
        cells = [c.strip() for c in ln.strip()[1:-1].split(" | ")]
        if rows and len(cells) != len(rows[0]):
            break
        rows.append(cells)
    return rows


@pytest.mark.slow  # scikit-learn and kmeans_xp timed on two workloads (.ci/run runs it)
def test_bench_cpu_quick(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    proc = _run([str(BENCH / "bench_cpu.py"), "--quick"], tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    rows = _table(proc.stdout, "workload")
    assert rows[0] == EXPECTED_COLUMNS
    body = rows[1:]
    names = {r[1] for r in body}
    assert any(n.startswith("kmeans_xp lloyd") for n in names), names
    assert "sklearn lloyd (default)" in names and "sklearn elkan" in names
    col = {c: i for i, c in enumerate(EXPECTED_COLUMNS)}
    for r in body:
        if r[1].startswith(("kmeans_xp", "sklearn")):
            assert float(r[col["ms/iter"]]) > 0, r
            assert float(r[col["fit inertia"]]) > 0, r
            assert r[col["conv iters"]].isdigit(), r
        if r[1] == "sklearn lloyd (default)":
            assert r[col["× sk Lloyd"]] == "1.00"
    # kmeans_xp and scikit-learn from the same initial centers converge to the same inertia
    for wl in {r[0] for r in body}:
        conv = {
            r[1]: float(r[col["conv inertia"]])
            for r in body
            if r[0] == wl and r[1].startswith(("kmeans_xp lloyd", "sklearn lloyd"))
        }
        assert len(conv) == 2 and max(conv.values()) <= 1.001 * min(conv.values()), conv

    targets = _table(proc.stdout, "workload | target")
    assert targets[0] == ["workload", "target", "measured", "bound", "met", "miss"]
    assert len(targets) > 1

    assert (tmp_path / "bench_cpu.md").read_text().count("| workload |") == 2
    data = json.loads((tmp_path / "bench_cpu.json").read_text())
    assert len(data["workloads"]) == 2
    if (tmp_path / "bench_cpu.png").exists():
        assert (tmp_path / "bench_cpu.png").stat().st_size > 1000


@pytest.mark.slow  # k-means++ and default fits on both sides, 2 seeds (seconds)
def test_bench_pp_quality_quick(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    proc = _run([str(BENCH / "bench_pp_quality.py"), "--quick"], tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows = _table(proc.stdout, "seed")
    assert [r[0] for r in rows[1:]] == ["0", "1"]
    for r in rows[1:]:
        assert float(r[1]) > 0 and float(r[2]) > 0, r
    data = json.loads((tmp_path / "bench_pp_quality.json").read_text())
    assert len(data["rows"]) == 2


@pytest.mark.slow  # k-means++ and fits to convergence on both sides (seconds)
def test_bench_seeding_small(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    shapes = ["--shapes", "3000x4x8", "--repeat", "1", "--default-fit"]
    proc = _run([str(BENCH / "bench_seeding.py"), *shapes], tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    line = proc.stdout.strip().splitlines()[-1]
    assert line.startswith("3000x4x8: k-means++") and "hamerly" in line, line
    assert "default fit" in line and "mean inertia ratio" in line, line


@pytest.mark.slow  # both libraries' fits on two small shapes, torch and JAX (seconds)
def test_bench_everyday_quick(tmp_path: Path) -> None:
    """The everyday benchmark's smoke run writes its three tables: per
    iteration against scikit-learn, the tiny default fit, the backends."""
    pytest.importorskip("sklearn")
    args = ["--quick", "--no-backends", "--out", str(tmp_path)]
    proc = _run([str(BENCH / "bench_everyday.py"), *args], tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows = _table(proc.stdout, "n×d×k")
    shapes = [r[0] for r in rows[1:]]
    assert "4000×2×8" in shapes and "6000×16×8" in shapes, shapes
    assert "2000×2×8" in shapes, shapes  # the tiny default fit
    for r in rows[1:]:
        if r[0] != "n×d×k":  # (the second table's header)
            assert r[4].startswith("**") and r[4].endswith("×**"), r
    assert (tmp_path / "bench_everyday.md").exists()
    data = json.loads((tmp_path / "bench_everyday.json").read_text())
    assert data


@pytest.mark.slow  # a fresh interpreter importing every GPU library's CPU build
def test_bench_gpu_skips_cleanly_without_gpu(tmp_path: Path) -> None:
    """The GPU script exits 0 and says what it skipped on a machine without CUDA."""
    try:
        import cupy  # noqa: F401

        pytest.skip("CuPy present: the GPU script is run by benchmarks/gpu_check.sh")
    except Exception:
        pass
    proc = _run([str(BENCH / "bench_gpu.py"), "--small"], tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "| shape |" in proc.stdout
    assert "skip" in proc.stdout.lower()
