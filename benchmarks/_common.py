"""Helpers shared by the benchmark scripts (not part of the library).

Deterministic data, the true inertia (recomputed the same way for every
implementation), timing, memory probes, environment capture and markdown
tables. The scripts put the repository root first on ``sys.path`` so the
kmeans_xp being measured is the one in this checkout.
"""

from __future__ import annotations

import datetime as _dt
import gc
import json
import os
import platform
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "benchmarks" / "out"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


# --------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------
def parse_workload(text: str) -> tuple[int, int, int]:
    """'100000x64x256' (or with '×', or '1e5x64x256') -> (n, d, k)."""
    parts = text.lower().replace("×", "x").split("x")
    if len(parts) != 3:
        raise ValueError(f"workload {text!r} is not NxDxK")
    n, d, k = (int(float(p)) for p in parts)
    if min(n, d, k) < 1 or k > n:
        raise ValueError(f"workload {text!r}: need n >= k >= 1 and d >= 1")
    return n, d, k


def workload_name(n: int, d: int, k: int) -> str:
    return f"{n}×{d}×{k}"


def make_blobs(
    n: int, d: int, k: int, seed: int = 0, spread: float = 5.0
) -> tuple[np.ndarray, np.ndarray]:
    """float32 blobs around k Gaussian centers, and k distinct samples as initial centers.

    Deterministic for (n, d, k, seed). Returns ``(X, init)``: X is C-contiguous
    (n, d) float32, init is (k, d) float32 (rows of X chosen without replacement).
    """
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((k, d), dtype=np.float32) * np.float32(spread)
    labels = rng.integers(0, k, size=n)
    X = rng.standard_normal((n, d), dtype=np.float32)
    X += centers[labels]
    init = X[rng.choice(n, size=k, replace=False)].copy()
    return np.ascontiguousarray(X), init


# --------------------------------------------------------------------------
# the true inertia, the same for everybody
# --------------------------------------------------------------------------
def true_inertia(X: np.ndarray, centers: np.ndarray, chunk_rows: int = 16384) -> tuple[float, int]:
    """(inertia, n_distinct): sum over samples of the squared distance to the
    closest of ``centers``, in float64, and how many centers are closest to at
    least one sample. Independent of the labels an implementation reports."""
    C = np.asarray(centers, dtype=np.float64)
    if C.ndim != 2 or C.shape[1] != X.shape[1]:
        raise ValueError(f"centers of shape {C.shape} do not match X {X.shape}")
    if not np.all(np.isfinite(C)):
        return float("nan"), 0
    k = C.shape[0]
    half_csq = 0.5 * np.einsum("ij,ij->i", C, C)
    total = 0.0
    counts = np.zeros(k, dtype=np.int64)
    for a in range(0, X.shape[0], chunk_rows):
        Xb = np.asarray(X[a : a + chunk_rows], dtype=np.float64)
        lab = np.argmin(half_csq[None, :] - Xb @ C.T, axis=1)
        diff = Xb - C[lab]
        total += float(np.einsum("ij,ij->", diff, diff))
        counts += np.bincount(lab, minlength=k)
    return total, int(np.count_nonzero(counts))


# --------------------------------------------------------------------------
# timing and memory
# --------------------------------------------------------------------------
def settle() -> None:
    """Collect garbage once and freeze what survives (the imported libraries),
    so that the collections before each timed call stay cheap."""
    gc.collect()
    gc.freeze()


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """(seconds, result) of one call, after a garbage collection."""
    gc.collect()
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return -1


class RSSPeak:
    """Sample the resident set size in a thread; ``peak_extra`` after exit.

    Sees every allocation (BLAS buffers, C++ and OpenMP temporaries), unlike
    tracemalloc, but only what reaches the OS: memory the allocator already
    holds from earlier runs is reused without a rise, so it can under-count.
    """

    def __init__(self, interval: float = 0.003) -> None:
        self.interval = interval
        self.base = self.peak = -1
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss_bytes())
            self._stop.wait(self.interval)

    def __enter__(self) -> RSSPeak:
        gc.collect()
        self.base = self.peak = _rss_bytes()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join()
        self.peak = max(self.peak, _rss_bytes())

    @property
    def peak_extra(self) -> int | None:
        if self.base < 0:
            return None
        return max(0, self.peak - self.base)


def peak_memory(fn: Callable[[], Any]) -> tuple[int, int | None, Any]:
    """(tracemalloc peak extra bytes, RSS peak extra bytes or None, result) of one call.

    tracemalloc sees NumPy's (and Python's) allocations made during the call,
    but not BLAS/OpenMP work buffers or memory allocated in C/C++ by other
    libraries (scikit-learn's Cython chunk buffers, FAISS).
    """
    gc.collect()
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    with RSSPeak() as rss:
        out = fn()
    peak = tracemalloc.get_traced_memory()[1] - base
    if not was_tracing:
        tracemalloc.stop()
    return max(0, peak), rss.peak_extra, out


# --------------------------------------------------------------------------
# environment
# --------------------------------------------------------------------------
def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def git_commit() -> str:
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "kmeans_xp"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        return (rev or "unknown") + (" (kmeans_xp/ modified)" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def blas_info() -> list[str]:
    """One line per thread pool threadpoolctl sees: library, version, kernel, threads."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return ["threadpoolctl not installed"]
    lines = []
    for info in threadpool_info():
        name = Path(info.get("filepath", "?")).name
        lines.append(
            f"{info.get('internal_api')} {info.get('version') or ''} "
            f"kernel={info.get('architecture', '-')} threads={info.get('num_threads')} ({name})"
        )
    return lines


def versions(modules: Iterable[str]) -> dict[str, str]:
    out = {}
    for name in modules:
        mod = sys.modules.get(name)
        if mod is None:
            try:
                mod = __import__(name)
            except Exception:
                continue
        out[name] = str(getattr(mod, "__version__", "?"))
    return out


def env_info(modules: Iterable[str] = ()) -> dict[str, Any]:
    return {
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "commit": git_commit(),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "openblas_env": {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS_")},
        "blas": blas_info(),
        "versions": versions(modules),
    }


def env_markdown(info: dict[str, Any]) -> str:
    lines = [
        f"- date: {info['date']}",
        f"- machine: {info['cpu']}, {info['cpus']} CPUs; Python {info['python']}",
        f"- kmeans_xp commit: {info['commit']}",
        f"- command: `{info['command']}`",
        f"- OPENBLAS_* environment: {info['openblas_env'] or 'none set'}",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()),
        "- thread pools (threadpoolctl):",
    ]
    lines += [f"  - {b}" for b in info["blas"]]
    return "\n".join(lines)


# --------------------------------------------------------------------------
# formatting
# --------------------------------------------------------------------------
def fmt(value: Any, spec: str = ".3g", missing: str = "—") -> str:
    if value is None:
        return missing
    if isinstance(value, float) and not np.isfinite(value):
        return "nan"
    if isinstance(value, (int, np.integer)) and spec == ".3g":
        return str(int(value))
    return format(value, spec)


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or not b or not np.isfinite(a) or not np.isfinite(b):
        return None
    return a / b


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    def cell(x: Any) -> str:
        return str(x).replace("|", "\\|").replace("\n", " ")

    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for r in rows:
        out.append("| " + " | ".join(cell(x) for x in r) + " |")
    return "\n".join(out)


def short_error_text(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def short_error(exc: BaseException, limit: int = 160) -> str:
    return short_error_text(f"{type(exc).__name__}: {exc}", limit)


def out_dir(path: str | os.PathLike[str] | None) -> Path:
    p = Path(path) if path else DEFAULT_OUT
    p.mkdir(parents=True, exist_ok=True)
    return p


def mib(nbytes: int | None) -> float | None:
    return None if nbytes is None else nbytes / 2**20


# --------------------------------------------------------------------------
# one worker process per thread setting
# --------------------------------------------------------------------------
#: the thread pools a "1 thread" worker limits (read at start: set before the process starts)
THREAD_VARS = (
    "KMEANS_XP_NUM_THREADS",
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
)


def run_worker(
    script: str, argv: list[str], threads: str, extra_one_thread: dict[str, str] | None = None
) -> dict[str, Any]:
    """Run ``script argv --worker threads`` in a fresh interpreter and return
    the JSON it prints, with ``load_before`` (1-minute load average at start).

    ``threads`` "1": every variable of ``THREAD_VARS`` set to 1 (and
    ``extra_one_thread`` applied: values appended to what the environment
    has); "all": those variables removed. A failed worker stops the run (its
    traceback is on stderr, which is not captured).
    """
    env = dict(os.environ)
    for var in THREAD_VARS:
        env.pop(var, None)
    if threads == "1":
        env.update(dict.fromkeys(THREAD_VARS, "1"))
        for var, value in (extra_one_thread or {}).items():
            env[var] = (env.get(var, "") + " " + value).strip()
    load = os.getloadavg()[0]
    proc = subprocess.run(
        [sys.executable, os.path.abspath(script), *argv, "--worker", threads],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    if proc.returncode != 0:
        raise SystemExit(
            f"{Path(script).stem}: the {threads}-thread run failed (exit status "
            f"{proc.returncode}); its traceback is above"
        )
    out = json.loads(proc.stdout)
    out["load_before"] = load
    return out
