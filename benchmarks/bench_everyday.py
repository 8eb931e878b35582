#!/usr/bin/env python3
"""Everyday speed (issue 13): kmeans_xp against scikit-learn at small k, and torch / JAX on the CPU.

Three tables, each measured side by side in one process (competitors interleaved
round-robin, median of --repeat runs), once per thread setting:

- **everyday**: per-iteration time of kmeans_xp Lloyd / scikit-learn Lloyd on
  float32 blobs, the same initial centers, ``max_iter=--iters, tol=0``: fit time /
  n_iter_ (the fit's fixed costs included, as a user sees them). scikit-learn stops
  at strict convergence (no label changed) even with ``tol=0``, so each shape's
  blobs are drawn with the first spread (5, then 0.5, 1) with which scikit-learn
  runs every iteration; a row where either side still stopped early says so;
- **tiny default fit**: 10k×2, k=8, every default (k-means++, n_init="auto",
  tol=1e-4), random_state 0, 1, ... (one per repeat) on both sides, each
  seed's fits timed 7 times (interleaved): median time;
- **backends**: per-iteration time of torch CPU and JAX CPU arrays / NumPy arrays
  (kmeans_xp Lloyd, the same init and iterations); the first fit of each backend
  at that shape (imports done, JAX's compilation included) is reported apart.

Thread settings: "1" runs a subprocess with ``KMEANS_XP_NUM_THREADS=1
OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1`` and XLA's CPU
client on one thread (thread pools read these at start, hence a subprocess
per setting); "all" runs one with those variables removed. Any error of an
implementation stops the run with its traceback and a non-zero exit status.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_everyday.py
    python benchmarks/bench_everyday.py --quick        # smoke test (about 20 s, one thread)
    python benchmarks/bench_everyday.py --threads 1 --shapes 100000x16x8 --no-backends

Writes ``benchmarks/out/bench_everyday.{md,json}`` (``--out`` to change) and
prints the markdown.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C

SHAPES = [
    "10000x2x8",
    "100000x16x8",
    "1000000x4x3",
    "60000x784x10",
    "200000x32x32",
    "20000x128x100",
    "100000x64x256",
]
BACKEND_SHAPES = ["100000x16x8", "100000x64x256"]
QUICK_SHAPES = ["4000x2x8", "6000x16x8"]
QUICK_BACKEND_SHAPES = ["4000x16x8"]
TINY = (10_000, 2, 8)
QUICK_TINY = (2_000, 2, 8)
TINY_TIMES = 7  # timed fits of the tiny default fit a seed (median of all)
SPREADS = (5.0, 0.5, 1.0)
XLA_ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


# --------------------------------------------------------------------------
# the worker: one thread setting, in its own process
# --------------------------------------------------------------------------
def _quiet(fn: Callable[[], Any]) -> Callable[[], Any]:
    """``fn`` with warnings silenced (ConvergenceWarning of tol=0 runs); errors propagate."""

    def run() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn()

    return run


def timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall seconds, CPU seconds of this process, result) of one call, after a collection.

    With one thread, CPU time is what the run costs without the time the shared
    machine's other jobs took the core away; with several threads it also counts
    threads that spin while they wait, so it is only reported for one thread.
    """
    gc.collect()
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, time.process_time() - c0, out


def _fits(backend: str) -> tuple[Callable[[np.ndarray], Any], Callable[[Any], Any]]:
    """(to_backend(X), wait(result)) for kmeans_xp on ``backend``."""
    if backend == "numpy":
        return (lambda X: X), (lambda r: r)
    if backend == "torch":
        import torch

        return (lambda X: torch.asarray(X)), (lambda r: r)
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        return (lambda X: jnp.asarray(X)), jax.block_until_ready
    raise ValueError(f"unknown backend {backend!r}")


def xp_lloyd(X: Any, init: Any, iters: int) -> tuple[Any, int]:
    from kmeans_xp import KMeans

    km = KMeans(init.shape[0], init=init, n_init=1, max_iter=iters, tol=0.0, algorithm="lloyd").fit(
        X
    )
    return km.cluster_centers_, int(km.n_iter_)


def sk_lloyd(X: np.ndarray, init: np.ndarray, iters: int) -> tuple[Any, int]:
    from sklearn.cluster import KMeans

    km = KMeans(init.shape[0], init=init, n_init=1, max_iter=iters, tol=0.0, algorithm="lloyd").fit(
        X
    )
    return km.cluster_centers_, int(km.n_iter_)


def pick_data(
    n: int, d: int, k: int, iters: int, seed: int
) -> tuple[np.ndarray, np.ndarray, float]:
    """Blobs on which scikit-learn runs all ``iters`` iterations (first spread that does)."""
    for spread in SPREADS:
        X, init = C.make_blobs(n, d, k, seed=seed, spread=spread)
        if _quiet(lambda X=X, init=init: sk_lloyd(X, init, iters))()[1] >= iters:
            return X, init, spread
    return X, init, spread  # the last one; the row's note says it stopped early


def everyday_row(shape: str, args: argparse.Namespace) -> dict[str, Any]:
    n, d, k = C.parse_workload(shape)
    X, init, spread = pick_data(n, d, k, args.iters, args.seed)
    impls = {"kmeans_xp": xp_lloyd, "sklearn": sk_lloyd}
    runs: dict[str, list[tuple[float, float, int]]] = {name: [] for name in impls}
    for _ in range(args.repeat):
        for name, fn in impls.items():
            t, cpu, (_, n_iter) = timed(_quiet(lambda fn=fn: fn(X, init, args.iters)))
            runs[name].append((t, cpu, n_iter))
    row: dict[str, Any] = {"shape": shape, "spread": spread, "notes": []}
    for name, rs in runs.items():
        row[f"{name}_ms"] = statistics.median(1e3 * t / max(1, it) for t, _, it in rs)
        row[f"{name}_cpu_ms"] = statistics.median(1e3 * c / max(1, it) for _, c, it in rs)
        row[f"{name}_iters"] = min(it for _, _, it in rs)
        if row[f"{name}_iters"] < args.iters:
            row["notes"].append(f"{name} stopped after {row[f'{name}_iters']} iterations")
    row["ratio"] = row["kmeans_xp_ms"] / row["sklearn_ms"]
    row["cpu_ratio"] = row["kmeans_xp_cpu_ms"] / row["sklearn_cpu_ms"]
    print(f"[{args.threads} thread(s)] {shape}: {row['ratio']:.2f}×", file=sys.stderr, flush=True)
    return row


def tiny_fit(args: argparse.Namespace) -> dict[str, Any]:
    from sklearn.cluster import KMeans as SK

    from kmeans_xp import KMeans as XK

    n, d, k = QUICK_TINY if args.quick else TINY
    X, _ = C.make_blobs(n, d, k, seed=args.seed)
    impls = {
        "kmeans_xp": lambda s: XK(k, random_state=s).fit(X),
        "sklearn": lambda s: SK(k, random_state=s).fit(X),
    }
    times: dict[str, list[float]] = {name: [] for name in impls}
    cpus: dict[str, list[float]] = {name: [] for name in impls}
    inertia: dict[str, list[float]] = {name: [] for name in impls}
    for rep in range(args.repeat):
        # a fit takes milliseconds: each seed's fits timed TINY_TIMES times
        # (interleaved), so that one slow moment of the machine is one time
        # of many
        for timing in range(1 if args.quick else TINY_TIMES):
            for name, fn in impls.items():
                t, cpu, km = timed(_quiet(lambda fn=fn, rep=rep: fn(args.seed + rep)))
                times[name].append(t)
                cpus[name].append(cpu)
                if timing == 0:
                    inertia[name].append(C.true_inertia(X, np.asarray(km.cluster_centers_))[0])
    out: dict[str, Any] = {"shape": C.workload_name(n, d, k)}
    for name in impls:
        out[f"{name}_s"] = statistics.median(times[name])
        out[f"{name}_cpu_s"] = statistics.median(cpus[name])
        out[f"{name}_inertia"] = float(np.mean(inertia[name]))
    out["ratio"] = out["kmeans_xp_s"] / out["sklearn_s"]
    out["cpu_ratio"] = out["kmeans_xp_cpu_s"] / out["sklearn_cpu_s"]
    out["inertia_ratio"] = out["kmeans_xp_inertia"] / out["sklearn_inertia"]
    return out


def backend_row(shape: str, backends: list[str], args: argparse.Namespace) -> dict[str, Any]:
    n, d, k = C.parse_workload(shape)
    X, init, spread = pick_data(n, d, k, args.iters, args.seed)
    data = {}
    first: dict[str, float] = {}
    runs: dict[str, list[tuple[float, int]]] = {b: [] for b in backends}
    for b in backends:
        to, wait = _fits(b)
        Xb, ib = to(X), to(init)
        data[b] = (Xb, ib, wait)
        # first fit at this shape: JAX traces and compiles here
        first[b], _ = C.timed(
            _quiet(lambda Xb=Xb, ib=ib, wait=wait: wait(xp_lloyd(Xb, ib, args.iters)[0]))
        )
    for _ in range(args.repeat):
        for b in backends:
            Xb, ib, wait = data[b]

            def fit(Xb: Any = Xb, ib: Any = ib, wait: Any = wait) -> int:
                centers, n_iter = xp_lloyd(Xb, ib, args.iters)
                wait(centers)
                return n_iter

            t, n_iter = C.timed(_quiet(fit))
            runs[b].append((t, n_iter))
    row: dict[str, Any] = {"shape": shape, "spread": spread, "notes": []}
    for b in backends:
        row[f"{b}_ms"] = statistics.median(1e3 * t / max(1, it) for t, it in runs[b])
        row[f"{b}_first_s"] = first[b]
        its = min(it for _, it in runs[b])
        if its < args.iters:
            row["notes"].append(f"{b} stopped after {its} iterations")
        if b != "numpy":
            row[f"{b}_ratio"] = row[f"{b}_ms"] / row["numpy_ms"]
    print(f"[{args.threads} thread(s)] backends {shape} done", file=sys.stderr, flush=True)
    return row


def thread_report() -> list[str]:
    lines = C.blas_info()
    try:
        import torch

        lines.append(f"torch intra-op threads={torch.get_num_threads()}")
    except ImportError:
        pass
    from kmeans_xp._backend import _executor

    if hasattr(_executor, "host_threads"):
        lines.append(f"kmeans_xp chunk threads={_executor.host_threads()}")
    lines.append("XLA_FLAGS=" + os.environ.get("XLA_FLAGS", "(unset)"))
    return lines


def worker(args: argparse.Namespace) -> dict[str, Any]:
    """Every table for the thread setting this process was started with."""
    import sklearn  # noqa: F401  (load scikit-learn's BLAS before measuring anything)

    backends, missing = ["numpy"], {}
    for b in ("torch", "jax"):
        try:
            _fits(b)
            backends.append(b)
        except ImportError as exc:
            missing[b] = C.short_error(exc)
    # warm-up: imports, thread pools, first-call costs of both libraries (not JAX's
    # compilation at the measured shapes, which the backend table reports)
    Xw, iw = C.make_blobs(2000, 8, 8, seed=1)
    _quiet(lambda: (xp_lloyd(Xw, iw, 2), sk_lloyd(Xw, iw, 2)))()
    C.settle()
    res: dict[str, Any] = {
        "threads": args.threads,
        "thread_pools": thread_report(),
        "missing": missing,
    }
    res["everyday"] = [everyday_row(s, args) for s in args.shapes]
    res["tiny"] = tiny_fit(args) if not args.no_tiny else None
    res["backends"] = (
        [] if args.no_backends else [backend_row(s, backends, args) for s in args.backend_shapes]
    )
    res["backend_names"] = backends
    res["load"] = os.getloadavg()[0]
    return res


# --------------------------------------------------------------------------
# the driver: one worker process per thread setting, then the tables
# --------------------------------------------------------------------------
def run_setting(threads: str, args: argparse.Namespace, argv: list[str]) -> dict[str, Any]:
    return C.run_worker(__file__, argv, threads, {"XLA_FLAGS": XLA_ONE_THREAD})


def f(x: float | None, spec: str = ".3g") -> str:
    return C.fmt(x, spec)


def markdown(settings: list[dict[str, Any]], args: argparse.Namespace, info: dict[str, Any]) -> str:
    by = {s["threads"]: s for s in settings}
    names = [t for t in args.thread_settings if t in by]
    label = {"1": "1 thread", "all": f"all threads ({os.cpu_count()})"}
    md = [
        "# Everyday speed: kmeans_xp vs scikit-learn at small k; torch and JAX on the CPU",
        "",
        C.env_markdown(info),
        "",
    ]
    md.append(
        f"Per iteration: float32 blobs, the same initial centers, max_iter={args.iters}, "
        f"tol=0, fit time / n_iter_, median of {args.repeat} interleaved runs; ratio = "
        "kmeans_xp Lloyd / scikit-learn Lloyd (lower is faster). Thread settings run in "
        "separate processes; 1-minute load average before each: "
        + ", ".join(f"{label[t]} {by[t]['load_before']:.1f}" for t in names)
        + f" (on {os.cpu_count()} CPUs). With one thread the CPU-time ratio (process CPU "
        "time per iteration, same runs) is also given: on a shared machine it leaves out "
        "the time other jobs held the core; with several threads it would count threads "
        "spinning in their pools, so it is not shown."
    )
    md += ["", "## Everyday table (per iteration, kmeans_xp Lloyd ÷ scikit-learn Lloyd)", ""]
    header = ["n×d×k", "blob spread"]
    for t in names:
        header += [f"{label[t]}: kmeans_xp ms", "sklearn ms", "ratio"]
        if t == "1":
            header.append("CPU-time ratio")
    header.append("notes")
    rows = []
    for i, shape in enumerate(args.shapes):
        first = by[names[0]]["everyday"][i]
        row = [C.workload_name(*C.parse_workload(shape)), f(first["spread"], "g")]
        notes = []
        for t in names:
            r = by[t]["everyday"][i]
            row += [f(r["kmeans_xp_ms"]), f(r["sklearn_ms"]), f"**{r['ratio']:.2f}×**"]
            if t == "1":
                row.append(f"{r['cpu_ratio']:.2f}×")
            notes += [f"{label[t]}: {n}" for n in r["notes"]]
        rows.append([*row, "; ".join(notes)])
    md.append(C.markdown_table(header, rows))
    if any(by[t]["tiny"] for t in names):
        md += [
            "",
            "## Tiny default fit (every default, random_state = "
            f"{args.seed}..{args.seed + args.repeat - 1}, each timed "
            f"{1 if args.quick else TINY_TIMES} times, median time)",
            "",
        ]
        rows = []
        for t in names:
            r = by[t]["tiny"]
            if r:
                rows.append(
                    [
                        r["shape"],
                        label[t],
                        f(r["kmeans_xp_s"] * 1e3),
                        f(r["sklearn_s"] * 1e3),
                        f"**{r['ratio']:.2f}×**",
                        f"{r['cpu_ratio']:.2f}×" if t == "1" else "—",
                        f(r["inertia_ratio"], ".4f"),
                    ]
                )
        md.append(
            C.markdown_table(
                [
                    "n×d×k",
                    "threads",
                    "kmeans_xp ms",
                    "sklearn ms",
                    "time ratio",
                    "CPU-time ratio",
                    "mean inertia ratio",
                ],
                rows,
            )
        )
    if any(by[t]["backends"] for t in names):
        md += [
            "",
            "## Backends on the CPU (kmeans_xp Lloyd per iteration ÷ NumPy's)",
            "",
            "First fit: the first fit of that backend at that shape in the process "
            "(JAX traces and compiles there), in seconds, not in the per-iteration figures.",
            "",
        ]
        rows = []
        for t in names:
            bn = by[t]["backend_names"]
            for r in by[t]["backends"]:
                row = [C.workload_name(*C.parse_workload(r["shape"])), label[t], f(r["numpy_ms"])]
                for b in ("torch", "jax"):
                    if b in bn:
                        row += [
                            f(r[f"{b}_ms"]),
                            f"**{r[f'{b}_ratio']:.2f}×**",
                            f(r[f"{b}_first_s"], ".2f"),
                        ]
                    else:
                        row += ["—", "—", by[t]["missing"].get(b, "—")]
                rows.append([*row, "; ".join(r["notes"])])
        md.append(
            C.markdown_table(
                [
                    "n×d×k",
                    "threads",
                    "numpy ms",
                    "torch ms",
                    "torch ÷ numpy",
                    "torch first fit s",
                    "jax ms",
                    "jax ÷ numpy",
                    "jax first fit s (compile)",
                    "notes",
                ],
                rows,
            )
        )
    md += ["", "Thread pools seen by each run:", ""]
    for t in names:
        md.append(f"- {label[t]}: " + "; ".join(by[t]["thread_pools"]))
    return "\n".join(md) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="tiny shapes, 1 repeat, 5 iterations: a smoke test in seconds",
    )
    p.add_argument("--shapes", help="comma-separated NxDxK for the everyday table")
    p.add_argument("--backend-shapes", help="comma-separated NxDxK for the backend table")
    p.add_argument("--threads", help="thread settings: 1, all or 1,all (default 1,all; quick 1)")
    p.add_argument("--repeat", type=int, help="interleaved runs, median kept (default 3, quick 1)")
    p.add_argument("--iters", type=int, help="fixed iterations (default 20, quick 5)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-backends", action="store_true", help="skip the torch/JAX table")
    p.add_argument("--no-tiny", action="store_true", help="skip the tiny default fit")
    p.add_argument("--out", help="output folder (default benchmarks/out)")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.repeat = args.repeat or (1 if args.quick else 3)
    args.iters = args.iters or (5 if args.quick else 20)
    args.shapes = (
        args.shapes.split(",") if args.shapes else (QUICK_SHAPES if args.quick else SHAPES)
    )
    args.backend_shapes = (
        args.backend_shapes.split(",")
        if args.backend_shapes
        else (QUICK_BACKEND_SHAPES if args.quick else BACKEND_SHAPES)
    )
    for s in args.shapes + args.backend_shapes:
        C.parse_workload(s)  # a bad shape fails here, before any work
    args.threads = args.threads or ("1" if args.quick else "1,all")
    args.thread_settings = [t.strip() for t in args.threads.split(",")]
    bad = [t for t in args.thread_settings if t not in ("1", "all")]
    if bad:
        p.error(f"--threads takes 1, all or 1,all, not {bad}")

    if args.worker:
        args.threads = args.worker
        json.dump(worker(args), sys.stdout)
        return 0

    out = C.out_dir(args.out)
    info = C.env_info(["numpy", "sklearn", "torch", "jax", "kmeans_xp", "threadpoolctl"])
    settings = [run_setting(t, args, argv) for t in args.thread_settings]
    text = markdown(settings, args, info)
    (out / "bench_everyday.md").write_text(text)
    (out / "bench_everyday.json").write_text(
        json.dumps({"env": info, "args": vars(args), "settings": settings}, indent=1, default=str)
    )
    print(text)
    print(f"wrote {out / 'bench_everyday.md'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
