#!/usr/bin/env python3
"""CPU scaling: time against n (1e4..1e6, d=32, k=64) and against k (8..4096,
n=1e5, d=32), for kmeans_xp and the competitors of bench_cpu.py.

Two measurements (``--what``):

- ``iter``: ms per iteration, same initial centers, tol=0, ``--iters`` iterations;
- ``fit``: seconds for a default fit (k-means++, default tol), random_state=--seed.

Where a competitor stops is recorded: a run that took more than
``--time-limit`` seconds (default 60) ends that competitor's sweep, and a
run whose time, extrapolated linearly from its previous size, would exceed the
limit is not started; scikit-learn's Elkan keeps an (n, k) float array of
lower bounds, so it is not started when that array would exceed
``--mem-limit-gb`` (default 4). Writes ``out/bench_scaling.{md,json,png}``.

    python benchmarks/bench_scaling.py                       # per iteration + default fit
    python benchmarks/bench_scaling.py --what iter           # per iteration only (faster)
    python benchmarks/bench_scaling.py --quick               # smoke test
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from functools import partial
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C
import bench_cpu

FULL = {
    "n": [10_000, 30_000, 100_000, 300_000, 1_000_000],
    "k": [8, 32, 128, 512, 1024, 2048, 4096],
}
QUICK = {"n": [2_000, 6_000], "k": [4, 16]}


def sweep(
    kind: str,
    sizes: list[int],
    args: argparse.Namespace,
    impls: list[bench_cpu.Impl],
    what: str,
    start: float,
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """One sweep over n or k for one measurement; returns rows and stop notes."""
    rows: list[dict[str, Any]] = []
    stopped: dict[str, str] = {}
    last: dict[str, tuple[int, float]] = {}
    for size in sizes:
        n = size if kind == "n" else args.n_for_k
        k = size if kind == "k" else args.k_for_n
        d = args.d
        if time.perf_counter() - start > args.budget:
            rows.append(
                {
                    "sweep": kind,
                    "what": what,
                    "n": n,
                    "d": d,
                    "k": k,
                    "cells": {},
                    "note": f"not run: script budget of {args.budget:.0f} s spent",
                }
            )
            continue
        X, init = C.make_blobs(n, d, k, seed=args.seed)
        cells: dict[str, str | float] = {}
        for im in impls:
            fn = im.iter_fn if what == "iter" else im.fit_fn
            if fn is None:
                cells[im.name] = "n/a"
                continue
            if im.name in stopped:
                cells[im.name] = "stopped"
                continue
            if "elkan" in im.name and im.name.startswith("sklearn"):
                need = n * k * X.itemsize * 2  # lower bounds + per-chunk copies
                if need > args.mem_limit_gb * 2**30:
                    stopped[im.name] = (
                        f"memory: its (n, k) bounds need {need / 2**30:.1f} GiB > "
                        f"{args.mem_limit_gb:g} GiB at n={n}, k={k}"
                    )
                    cells[im.name] = "stopped (memory)"
                    continue
            if im.name in last:
                prev_size, prev_t = last[im.name]
                pred = prev_t * size / prev_size
                if pred > args.time_limit:
                    stopped[im.name] = (
                        f"time: predicted {pred:.3g} s > {args.time_limit:g} s at "
                        f"n={n}, k={k} (from {prev_t:.3g} s at {kind}={prev_size})"
                    )
                    cells[im.name] = "stopped (time)"
                    continue
            best = float("inf")
            try:
                for _ in range(args.repeat if what == "iter" else args.fit_repeat):
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        if what == "iter":
                            t, (_, n_iter) = C.timed(partial(fn, X, init, args.iters))
                        else:
                            t, (_, n_iter) = C.timed(partial(fn, X, k, args.seed))
                    best = min(best, t)
            except Exception as exc:
                cells[im.name] = f"failed: {C.short_error(exc, 60)}"
                stopped[im.name] = f"failed at n={n}, k={k}: {C.short_error(exc)}"
                continue
            last[im.name] = (size, best)
            cells[im.name] = 1e3 * best / max(1, n_iter) if what == "iter" else best
            if best > args.time_limit:
                stopped[im.name] = (
                    f"time: a run took {best:.3g} s > {args.time_limit:g} s at n={n}, k={k}"
                )
        rows.append(
            {"sweep": kind, "what": what, "n": n, "d": d, "k": k, "cells": cells, "note": ""}
        )
        print(
            f"[{what} {kind}] n={n} k={k}: "
            + ", ".join(
                f"{name}={C.fmt(v, '.3g') if isinstance(v, float) else v}"
                for name, v in cells.items()
            ),
            file=sys.stderr,
            flush=True,
        )
    return rows, stopped


def plot(rows: list[dict[str, Any]], names: list[str], path: str) -> str | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        return f"plot skipped: {C.short_error(exc)}"
    have = {(r["what"], r["sweep"]) for r in rows}
    panels = [p for p in (("iter", "n"), ("iter", "k"), ("fit", "n"), ("fit", "k")) if p in have]
    if not panels:
        return "plot skipped: nothing measured"
    ncols = min(2, len(panels))
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.0 * ncols, 3.3 * nrows + 0.6), squeeze=False)
    flat = [ax for row in axes for ax in row]
    for ax in flat[len(panels) :]:
        ax.set_visible(False)
    for ax, (what, kind) in zip(flat, panels, strict=False):  # flat may have spare axes
        sel = [r for r in rows if r["what"] == what and r["sweep"] == kind]
        for name in names:
            pts = [
                (r[kind], r["cells"][name]) for r in sel if isinstance(r["cells"].get(name), float)
            ]
            if pts:
                ax.plot(*zip(*pts, strict=True), marker="o", ms=3, label=name)
                last_x = max(r[kind] for r in sel)
                if pts[-1][0] < last_x:  # mark where this competitor stopped
                    ax.plot([pts[-1][0]], [pts[-1][1]], marker="x", ms=9, color="k")
        ax.set_xscale("log")
        ax.set_yscale("log")
        fixed = f"d={sel[0]['d']}, " + (f"k={sel[0]['k']}" if kind == "n" else f"n={sel[0]['n']}")
        ax.set_title(
            f"{'ms per iteration' if what == 'iter' else 'default fit, s'} vs {kind} ({fixed})",
            fontsize=8,
        )
        ax.set_xlabel(kind, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(True, which="major", lw=0.3)
    handles, labels = flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=7, loc="lower center", ncol=min(3, len(labels)))
    fig.suptitle(
        "CPU scaling, float32 blobs (x: the competitor stopped after this point)", fontsize=9
    )
    fig.tight_layout(rect=(0, 0.09 if nrows > 1 else 0.14, 1, 1))
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--quick", action="store_true")
    p.add_argument("--what", default="iter,fit", help="iter, fit or both (default iter,fit)")
    p.add_argument("--ns", help="comma-separated n for the n sweep (default 1e4,3e4,1e5,3e5,1e6)")
    p.add_argument("--ks", help="comma-separated k for the k sweep (default 8..4096)")
    p.add_argument("--d", type=int, default=32)
    p.add_argument("--k-for-n", type=int, default=64, help="k in the n sweep (default 64)")
    p.add_argument("--n-for-k", type=int, default=100_000, help="n in the k sweep (default 1e5)")
    p.add_argument("--iters", type=int, default=5)
    p.add_argument(
        "--repeat", type=int, default=3, help="runs per size for iter, best kept (default 3)"
    )
    p.add_argument("--fit-repeat", type=int, default=1, help="runs per size for fit (default 1)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--time-limit", type=float, default=60.0, help="seconds per run (default 60)")
    p.add_argument("--mem-limit-gb", type=float, default=4.0)
    p.add_argument(
        "--budget",
        type=float,
        default=900.0,
        help="seconds for the whole script; sizes not started by then are skipped",
    )
    p.add_argument("--out")
    p.add_argument("--no-faiss", action="store_true")
    p.add_argument("--faiss-coretype", default="Haswell")
    p.add_argument("--no-plot", action="store_true")
    args = p.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    ns = [int(float(s)) for s in args.ns.split(",")] if args.ns else sizes["n"]
    ks = [int(float(s)) for s in args.ks.split(",")] if args.ks else sizes["k"]
    if args.quick:
        args.n_for_k = min(args.n_for_k, 3_000)
        args.iters = min(args.iters, 3)
    whats = [w.strip() for w in args.what.split(",") if w.strip()]
    out = C.out_dir(args.out)
    start = time.perf_counter()

    impls, notes = bench_cpu.make_impls(args)
    bench_cpu.warm_up(impls)
    C.settle()
    names = [im.name for im in impls]
    rows: list[dict[str, Any]] = []
    stops: list[str] = []
    for what in whats:
        for kind, sz in (("n", ns), ("k", ks)):
            r, stopped = sweep(kind, sz, args, impls, what, start)
            rows += r
            stops += [f"{what} vs {kind}: {name} stopped — {why}" for name, why in stopped.items()]

    info = C.env_info(["numpy", "sklearn", "faiss", "kmeans_xp"])
    md = [
        "# CPU scaling: kmeans_xp vs scikit-learn and FAISS",
        "",
        C.env_markdown(info),
        "",
        f"float32 blobs; iter: ms per iteration (same init, tol=0, {args.iters} iterations, "
        f"fit time / n_iter); fit: seconds for a default fit (k-means++, tol=1e-4, "
        f"random_state={args.seed}); "
        f"best of {args.repeat} (iter) / {args.fit_repeat} (fit). "
        f"Limits: {args.time_limit:g} s per run, "
        f"{args.mem_limit_gb:g} GiB for Elkan's bounds.",
        "",
    ]
    for what in whats:
        for kind in ("n", "k"):
            sel = [r for r in rows if r["what"] == what and r["sweep"] == kind]
            if not sel:
                continue
            unit = "ms per iteration" if what == "iter" else "default fit, seconds"
            md += [f"## {unit} vs {kind}", ""]
            table = []
            for r in sel:
                cells = [
                    C.fmt(r["cells"].get(nm), ".3g")
                    if isinstance(r["cells"].get(nm), float)
                    else str(r["cells"].get(nm, "—"))
                    for nm in names
                ]
                table.append([r["n"], r["d"], r["k"], *cells, r["note"]])
            md += [C.markdown_table(["n", "d", "k", *names, "note"], table), ""]
    md += ["## Where competitors stop", ""] + ([f"- {s}" for s in stops] or ["- none stopped"])
    if notes:
        md += [""] + [f"- {n}" for n in notes]
    if not args.no_plot:
        why = plot(rows, names, str(out / "bench_scaling.png"))
        md += ["", why if why else "Plot: `bench_scaling.png`"]
    text = "\n".join(md) + "\n"
    (out / "bench_scaling.md").write_text(text)
    (out / "bench_scaling.json").write_text(
        json.dumps(
            {"env": info, "args": vars(args), "rows": rows, "stops": stops, "notes": notes},
            indent=1,
            default=str,
        )
    )
    print(text)
    print(
        f"wrote {out / 'bench_scaling.md'} ({time.perf_counter() - start:.0f} s)", file=sys.stderr
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
