#!/usr/bin/env python3
"""CPU suite: kmeans_xp (NumPy) against scikit-learn (Lloyd, Elkan) and FAISS CPU.

For each workload n×d×k (float32 blobs, deterministic) it measures, side by
side in one run (every competitor repeated round-robin):

- per iteration: the same initial centers, ``tol=0``, ``--iters`` iterations;
  fit time / n_iter (the fit's fixed costs are included, as a user sees them);
  best of --repeat;
- to convergence: the same initial centers, default ``tol=1e-4``, max_iter=300;
  best of --repeat;
- default fit: k-means++ and the defaults of each library (scikit-learn's
  n_init="auto" is one k-means++ run), random_state = --seed, --seed+1, ...
  (one per repeat): median time, mean inertia over those seeds;
- the true inertia of every result, recomputed in float64 from the centers
  (sum of squared distances to the closest center), so all are compared alike;
- peak extra memory of the default fit: tracemalloc (NumPy/Python allocations;
  BLAS buffers, scikit-learn's Cython buffers and FAISS's C++ memory are not
  seen) and the sampled rise of the resident set size.

Ratios are to scikit-learn measured in the same run. Writes
``out/bench_cpu.{md,json,png}`` (``--out`` to change) and prints the table.

    python benchmarks/bench_cpu.py                 # full size (minutes)
    python benchmarks/bench_cpu.py --quick         # smoke test (seconds)
    python benchmarks/bench_cpu.py --workloads 100000x64x256 --repeat 5
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C

FULL_WORKLOADS = ["100000x64x256", "1000000x32x64"]
QUICK_WORKLOADS = ["4000x16x32", "8000x8x16"]
TOL = 1e-4
CONV_MAX_ITER = 300

COLUMNS = [
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


# --------------------------------------------------------------------------
# competitors
# --------------------------------------------------------------------------
@dataclass
class Impl:
    """One implementation: three ways to run it, each returning (centers, n_iter)."""

    name: str
    iter_fn: Callable[[np.ndarray, np.ndarray, int], tuple[np.ndarray, int]] | None
    conv_fn: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, int]] | None
    fit_fn: Callable[[np.ndarray, int, int], tuple[np.ndarray, int]] | None
    note: str = ""
    tracemalloc_sees_all: bool = True
    notes: list[str] = field(default_factory=list)


def _load_faiss(coretype: str | None) -> Any:
    """Import FAISS; its bundled OpenBLAS 0.3.15 predates recent CPUs and falls
    back to a generic kernel when OPENBLAS_CORETYPE is unset, so pin it for
    FAISS alone (NumPy's and SciPy's OpenBLAS are already loaded by then)."""
    import scipy.linalg  # noqa: F401  (load SciPy's OpenBLAS first)

    pinned = False
    if coretype and "OPENBLAS_CORETYPE" not in os.environ:
        os.environ["OPENBLAS_CORETYPE"] = coretype
        pinned = True
    try:
        import faiss
    finally:
        if pinned:
            del os.environ["OPENBLAS_CORETYPE"]
    return faiss


def xp_algorithms() -> list[str]:
    """The kmeans_xp algorithms to measure: the default, Lloyd and Hamerly ("elkan" is
    an alias of Hamerly). Not probed: an algorithm that fails stops the benchmark."""
    from kmeans_xp import KMeans

    return list(dict.fromkeys([KMeans().algorithm, "lloyd", "hamerly"]))


def make_impls(args: argparse.Namespace) -> tuple[list[Impl], list[str]]:
    notes: list[str] = []
    impls: list[Impl] = []

    from kmeans_xp import KMeans as XKMeans

    algos = xp_algorithms()
    default_alg = XKMeans().algorithm

    def xp_impl(alg: str) -> Impl:
        def it(X: np.ndarray, init: np.ndarray, iters: int) -> tuple[np.ndarray, int]:
            km = XKMeans(
                init.shape[0], init=init, n_init=1, max_iter=iters, tol=0.0, algorithm=alg
            ).fit(X)
            return np.asarray(km.cluster_centers_), int(km.n_iter_)

        def conv(X: np.ndarray, init: np.ndarray) -> tuple[np.ndarray, int]:
            km = XKMeans(
                init.shape[0], init=init, n_init=1, max_iter=CONV_MAX_ITER, tol=TOL, algorithm=alg
            ).fit(X)
            return np.asarray(km.cluster_centers_), int(km.n_iter_)

        def fit(X: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, int]:
            km = XKMeans(k, random_state=seed, algorithm=alg).fit(X)
            return np.asarray(km.cluster_centers_), int(km.n_iter_)

        label = f"kmeans_xp {alg}" + (" (default)" if alg == default_alg else "")
        return Impl(label, it, conv, fit)

    for alg in algos:
        impls.append(xp_impl(alg))

    try:
        from sklearn.cluster import KMeans as SKMeans

        def sk_impl(alg: str) -> Impl:
            def it(X: np.ndarray, init: np.ndarray, iters: int) -> tuple[np.ndarray, int]:
                km = SKMeans(
                    init.shape[0], init=init, n_init=1, max_iter=iters, tol=0.0, algorithm=alg
                ).fit(X)
                return km.cluster_centers_, int(km.n_iter_)

            def conv(X: np.ndarray, init: np.ndarray) -> tuple[np.ndarray, int]:
                km = SKMeans(
                    init.shape[0],
                    init=init,
                    n_init=1,
                    max_iter=CONV_MAX_ITER,
                    tol=TOL,
                    algorithm=alg,
                ).fit(X)
                return km.cluster_centers_, int(km.n_iter_)

            def fit(X: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, int]:
                km = SKMeans(k, random_state=seed, algorithm=alg).fit(X)
                return km.cluster_centers_, int(km.n_iter_)

            return Impl(
                f"sklearn {alg}" + (" (default)" if alg == "lloyd" else ""),
                it,
                conv,
                fit,
                tracemalloc_sees_all=False,
            )

        impls += [sk_impl("lloyd"), sk_impl("elkan")]
    except ImportError as exc:
        notes.append(f"scikit-learn not measured (ratios unavailable): {C.short_error(exc)}")

    if not args.no_faiss:
        try:
            faiss = _load_faiss(args.faiss_coretype)

            def it(X: np.ndarray, init: np.ndarray, iters: int) -> tuple[np.ndarray, int]:
                km = faiss.Kmeans(
                    X.shape[1],
                    init.shape[0],
                    niter=iters,
                    seed=args.seed,
                    max_points_per_centroid=10**9,
                    min_points_per_centroid=1,
                    verbose=False,
                )
                km.train(X, init_centroids=init)
                return km.centroids, iters

            def fit(X: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, int]:
                km = faiss.Kmeans(X.shape[1], k, seed=seed, verbose=False)
                km.train(X)
                return km.centroids, int(km.cp.niter)

            impls.append(
                Impl(
                    "faiss cpu",
                    it,
                    None,
                    fit,
                    tracemalloc_sees_all=False,
                    notes=[
                        "no tol: conv n/a",
                        "fit: FAISS defaults (random init, niter=25, 256 samples/centroid)",
                    ],
                )
            )
        except ImportError as exc:
            notes.append(f"FAISS not measured: {C.short_error(exc)}")
    return impls, notes


def warm_up(impls: list[Impl]) -> None:
    """One tiny run of each: imports, thread pools, first-call costs. An error
    propagates: a failing implementation stops the benchmark."""
    Xw, iw = C.make_blobs(2000, 8, 8, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for im in impls:
            if im.iter_fn is not None:
                im.iter_fn(Xw, iw, 2)
            if im.fit_fn is not None:
                im.fit_fn(Xw, 8, 0)


# --------------------------------------------------------------------------
# one workload
# --------------------------------------------------------------------------
def run_workload(
    n: int, d: int, k: int, impls: list[Impl], args: argparse.Namespace
) -> dict[str, Any]:
    X, init = C.make_blobs(n, d, k, seed=args.seed)
    name = C.workload_name(n, d, k)
    res: dict[str, dict[str, Any]] = {im.name: {} for im in impls}
    print(f"[{name}] X is {X.nbytes / 2**20:.1f} MiB", file=sys.stderr, flush=True)

    def run(fn: Callable[[], Any]) -> tuple[float, Any]:
        """(seconds, result); warnings silenced (tol=0 runs), errors propagate."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return C.timed(fn)

    # GEMM floor: X @ C.T alone, whole (one n×k result) or in row blocks into one
    # reused buffer (no page faults for a fresh n×k array); the faster counts
    block = max(1, min(n, (8 << 20) // (4 * k)))
    buf = np.empty((block, k), dtype=X.dtype)
    Ct = np.ascontiguousarray(init.T)

    def gemm_blocks() -> None:
        for a in range(0, n, block):
            b = min(n, a + block)
            np.matmul(X[a:b], Ct, out=buf[: b - a])

    gemm = min(
        min(C.timed(lambda: X @ Ct)[0], C.timed(gemm_blocks)[0]) for _ in range(max(3, args.repeat))
    )
    load = [os.getloadavg()[0]]

    # Round-robin repeats so that drift in machine load hits everybody alike.
    # iter / conv: the same init each time, best time kept. fit: seeds
    # seed, seed+1, ...: median time, mean inertia over the seeds.
    for phase in ("iter", "conv", "fit"):
        for rep in range(args.repeat):
            for im in impls:
                r = res[im.name]
                if phase == "iter" and im.iter_fn is not None:
                    t, (centers, n_iter) = run(partial(im.iter_fn, X, init, args.iters))
                elif phase == "conv" and im.conv_fn is not None:
                    t, (centers, n_iter) = run(partial(im.conv_fn, X, init))
                elif phase == "fit" and im.fit_fn is not None:
                    t, (centers, n_iter) = run(partial(im.fit_fn, X, k, args.seed + rep))
                else:
                    continue
                if phase == "fit":
                    inertia, distinct = C.true_inertia(X, centers)
                    r.setdefault("fit_runs", []).append(
                        {
                            "seed": args.seed + rep,
                            "s": t,
                            "iters": n_iter,
                            "inertia": inertia,
                            "distinct": distinct,
                        }
                    )
                    continue
                if t < r.get(f"{phase}_s", float("inf")):
                    r[f"{phase}_s"] = t
                    r[f"{phase}_iters"] = n_iter
                if rep == 0:
                    r[f"{phase}_inertia"], r[f"{phase}_distinct"] = C.true_inertia(X, centers)
            print(f"[{name}] {phase} {rep + 1}/{args.repeat} done", file=sys.stderr, flush=True)
    for im in impls:
        runs = res[im.name].get("fit_runs")
        if runs:
            r = res[im.name]
            r["fit_s"] = float(np.median([u["s"] for u in runs]))
            r["fit_iters"] = float(np.mean([u["iters"] for u in runs]))
            r["fit_inertia"] = float(np.mean([u["inertia"] for u in runs]))
            r["fit_distinct"] = min(u["distinct"] for u in runs)
    load.append(os.getloadavg()[0])

    if not args.no_memory:
        for im in impls:
            if im.fit_fn is None:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tm, rss, _ = C.peak_memory(partial(im.fit_fn, X, k, args.seed))
            res[im.name]["peak_tracemalloc"] = tm
            res[im.name]["peak_rss"] = rss
        print(f"[{name}] memory done", file=sys.stderr, flush=True)

    for im in impls:
        r = res[im.name]
        if "iter_s" in r:
            r["ms_per_iter"] = 1e3 * r["iter_s"] / max(1, r["iter_iters"])
        r["notes"] = list(im.notes)
        if not im.tracemalloc_sees_all and "peak_tracemalloc" in r:
            r["notes"].append("tracemalloc misses its C buffers")
        if "iter_iters" in r and r["iter_iters"] < args.iters:
            r["notes"].append(f"stopped after {r['iter_iters']} of {args.iters} iterations")
        for ph in ("iter", "conv", "fit"):
            if r.get(f"{ph}_distinct") is not None and r[f"{ph}_distinct"] < k:
                r["notes"].append(f"{ph}: only {r[f'{ph}_distinct']} of {k} clusters non-empty")
    return {
        "workload": name,
        "n": n,
        "d": d,
        "k": k,
        "x_bytes": int(X.nbytes),
        "gemm_ms": 1e3 * gemm,
        "iters": args.iters,
        "results": res,
        "load": load,
    }


# --------------------------------------------------------------------------
# reporting
# --------------------------------------------------------------------------
SK_LLOYD = "sklearn lloyd (default)"


def xp_default_name(w: dict[str, Any]) -> str | None:
    return next((n for n in w["results"] if n.startswith("kmeans_xp") and "(default)" in n), None)


def table_rows(w: dict[str, Any]) -> list[list[str]]:
    res = w["results"]
    sk = res.get(SK_LLOYD, {})
    rows = []
    gemm_ratio = C.ratio(w["gemm_ms"], sk.get("ms_per_iter"))
    rows.append(
        [
            w["workload"],
            "NumPy GEMM X @ C.T alone (floor)",
            C.fmt(w["gemm_ms"], ".3g"),
            C.fmt(gemm_ratio, ".2f"),
        ]
        + ["—"] * 12
        + ["one matmul, no argmin/update"]
    )
    for name, r in res.items():
        peak = r.get("peak_tracemalloc")
        rows.append(
            [
                w["workload"],
                name,
                C.fmt(r.get("ms_per_iter"), ".3g"),
                C.fmt(C.ratio(r.get("ms_per_iter"), sk.get("ms_per_iter")), ".2f"),
                C.fmt(r.get("conv_s"), ".2f"),
                C.fmt(r.get("conv_iters")),
                C.fmt(C.ratio(r.get("conv_s"), sk.get("conv_s")), ".2f"),
                C.fmt(r.get("conv_inertia"), ".6g"),
                C.fmt(r.get("fit_s"), ".2f"),
                C.fmt(r.get("fit_iters"), ".3g"),
                C.fmt(C.ratio(r.get("fit_s"), sk.get("fit_s")), ".2f"),
                C.fmt(r.get("fit_inertia"), ".6g"),
                C.fmt(C.ratio(r.get("fit_inertia"), sk.get("fit_inertia")), ".4f"),
                C.fmt(C.mib(peak), ".1f"),
                C.fmt(C.ratio(peak, w["x_bytes"]), ".2f"),
                C.fmt(C.mib(r.get("peak_rss")), ".1f"),
                "; ".join(r.get("notes", [])),
            ]
        )
    return rows


def target_rows(w: dict[str, Any]) -> list[list[str]]:
    """Issue-4 targets that this workload measures: value, bound, met, miss."""
    res = w["results"]
    sk = res.get(SK_LLOYD, {})
    xd = xp_default_name(w)
    xl = "kmeans_xp lloyd" + (" (default)" if xd == "kmeans_xp lloyd (default)" else "")
    rows = []

    def add(what: str, value: float | None, bound: float) -> None:
        if value is None:
            rows.append([w["workload"], what, "—", f"≤ {bound:g}", "not measured", "—"])
            return
        met = value <= bound
        rows.append(
            [
                w["workload"],
                what,
                f"{value:.3g}",
                f"≤ {bound:g}",
                "yes" if met else "no",
                "—" if met else f"{value / bound:.2f}× the bound",
            ]
        )

    x_lloyd = res.get(xl, {})
    add(
        "per iteration, kmeans_xp Lloyd / sklearn Lloyd",
        C.ratio(x_lloyd.get("ms_per_iter"), sk.get("ms_per_iter")),
        1.0,
    )
    if xd:
        add(
            f"default fit time, {xd} / sklearn default",
            C.ratio(res[xd].get("fit_s"), sk.get("fit_s")),
            0.33,
        )
        add(
            f"default fit inertia, {xd} / sklearn default",
            C.ratio(res[xd].get("fit_inertia"), sk.get("fit_inertia")),
            1.01,
        )
    acc = [n for n in res if n.startswith("kmeans_xp") and ("hamerly" in n or "elkan" in n)]
    if not acc:
        rows.append(
            [
                w["workload"],
                "time to convergence, kmeans_xp hamerly / sklearn Lloyd",
                "—",
                "≤ 0.5",
                "no: algorithm='hamerly' not available",
                "—",
            ]
        )
    for name in acc:
        add(
            f"time to convergence, {name} / sklearn Lloyd",
            C.ratio(res[name].get("conv_s"), sk.get("conv_s")),
            0.5,
        )
        same = res[name].get("conv_inertia"), x_lloyd.get("conv_inertia")
        if None not in same:
            rel = abs(same[0] - same[1]) / max(abs(same[1]), 1e-300)
            rows.append(
                [
                    w["workload"],
                    f"{name}: conv inertia vs kmeans_xp Lloyd (rel. diff)",
                    f"{rel:.2g}",
                    "0 (exact)",
                    "yes" if rel < 1e-6 else "no",
                    "—",
                ]
            )
    if xd and res[xd].get("peak_tracemalloc") is not None:
        # O(k·d) allowance: a few dozen (k, d) float64 arrays
        bound_bytes = 0.5 * w["x_bytes"] + 32 * w["k"] * w["d"] * 8
        peak = res[xd]["peak_tracemalloc"]
        rows.append(
            [
                w["workload"],
                f"peak extra memory of {xd} fit (tracemalloc)",
                f"{peak / 2**20:.1f} MiB = {peak / w['x_bytes']:.2f}× X",
                f"≤ {bound_bytes / 2**20:.1f} MiB (0.5× X + 32·k·d·8 B)",
                "yes" if peak <= bound_bytes else "no",
                "—" if peak <= bound_bytes else f"{peak / bound_bytes:.2f}× the bound",
            ]
        )
    return rows


def plot(results: list[dict[str, Any]], path: str) -> str | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import matplotlib.ticker
    except ImportError as exc:
        return f"plot skipped: {C.short_error(exc)}"
    metrics = [
        ("ms_per_iter", "per iteration\n(same init)"),
        ("conv_s", "to convergence\n(same init)"),
        ("fit_s", "default fit\n(k-means++)"),
    ]
    fig, axes = plt.subplots(1, len(results), figsize=(5.2 * len(results), 3.8), squeeze=False)
    for ax, w in zip(axes[0], results, strict=True):
        res = w["results"]
        sk = res.get(SK_LLOYD, {})
        names = list(res)
        width = 0.8 / max(1, len(names))
        for i, name in enumerate(names):
            vals = [C.ratio(res[name].get(m), sk.get(m)) for m, _ in metrics]
            xs = [j + (i - (len(names) - 1) / 2) * width for j in range(len(metrics))]
            ys = [v if v is not None else np.nan for v in vals]
            ax.bar(xs, ys, width, label=name)
            for x, y in zip(xs, ys, strict=True):
                if np.isfinite(y):
                    ax.text(x, y, f"{y:.2g}", ha="center", va="bottom", fontsize=6)
        ax.axhline(1.0, color="k", lw=0.8)
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xticks(range(len(metrics)), [lab for _, lab in metrics], fontsize=8)
        ax.set_title(f"{w['workload']} float32", fontsize=9)
        ax.set_ylabel("time / scikit-learn Lloyd (log)", fontsize=8)
        ax.tick_params(axis="y", labelsize=8)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=7, loc="lower center", ncol=min(6, len(labels)))
    fig.suptitle("CPU K-Means, ratio to scikit-learn Lloyd (lower is faster)", fontsize=10)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--quick", action="store_true", help="small workloads, 1 repeat: a smoke test in seconds"
    )
    p.add_argument(
        "--workloads", help=f"comma-separated NxDxK (default: {','.join(FULL_WORKLOADS)})"
    )
    p.add_argument(
        "--repeat",
        type=int,
        help="runs of each measurement; the best time is kept (default 3, quick 1)",
    )
    p.add_argument(
        "--iters", type=int, default=10, help="iterations for the per-iteration time (default 10)"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="output folder (default benchmarks/out)")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory runs")
    p.add_argument("--no-plot", action="store_true")
    p.add_argument("--no-faiss", action="store_true")
    p.add_argument(
        "--faiss-coretype",
        default="Haswell",
        help="OPENBLAS_CORETYPE for FAISS's own OpenBLAS when the variable is unset "
        "(its 0.3.15 does not know recent CPUs); '' to leave it alone",
    )
    args = p.parse_args(argv)
    if args.repeat is None:
        args.repeat = 1 if args.quick else 3
    if args.quick:
        args.iters = min(args.iters, 5)
    workloads = (
        args.workloads.split(",")
        if args.workloads
        else (QUICK_WORKLOADS if args.quick else FULL_WORKLOADS)
    )
    shapes = [C.parse_workload(s) for s in workloads]
    out = C.out_dir(args.out)

    impls, notes = make_impls(args)
    warm_up(impls)
    C.settle()

    info = C.env_info(["numpy", "sklearn", "faiss", "kmeans_xp", "threadpoolctl"])
    results = [run_workload(n, d, k, impls, args) for n, d, k in shapes]

    md = [
        "# CPU benchmark: kmeans_xp vs scikit-learn and FAISS",
        "",
        C.env_markdown(info),
        "",
        f"Per iteration: same initial centers, tol=0, {args.iters} iterations, fit time / n_iter, "
        f"best of {args.repeat}; convergence: same init, tol={TOL}, max_iter={CONV_MAX_ITER}, best "
        f"of {args.repeat}; default fit: k-means++, "
        f"random_state={args.seed}..{args.seed + args.repeat - 1}"
        ", median time and mean inertia over those seeds. Inertia: true inertia of the returned "
        "centers (float64, closest center). Ratios: to scikit-learn Lloyd in this run. GEMM floor: "
        "X @ C.T alone, the faster of one call and 8 MiB row blocks into one buffer. "
        "1-minute load average before/after each workload: "
        + ", ".join(f"{w['workload']} {w['load'][0]:.1f}/{w['load'][1]:.1f}" for w in results)
        + f" (on {os.cpu_count()} CPUs; other jobs share this machine).",
        "",
    ]
    md.append(C.markdown_table(COLUMNS, [r for w in results for r in table_rows(w)]))
    md += ["", "## Targets (issue 4)", ""]
    md.append(
        C.markdown_table(
            ["workload", "target", "measured", "bound", "met", "miss"],
            [r for w in results for r in target_rows(w)],
        )
    )
    if notes:
        md += [""] + [f"- {n}" for n in notes]
    png = out / "bench_cpu.png"
    if not args.no_plot:
        why = plot(results, str(png))
        md += ["", why if why else f"Plot: `{png.name}`"]
    text = "\n".join(md) + "\n"
    (out / "bench_cpu.md").write_text(text)
    (out / "bench_cpu.json").write_text(
        json.dumps(
            {"env": info, "args": vars(args), "notes": notes, "workloads": results},
            indent=1,
            default=str,
        )
    )
    print(text)
    print(f"wrote {out / 'bench_cpu.md'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
