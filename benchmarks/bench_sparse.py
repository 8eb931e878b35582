#!/usr/bin/env python3
"""Sparse speed (issue 11): kmeans_xp against scikit-learn on a TF-IDF-like CSR matrix.

Measured side by side in one process per thread setting (competitors
interleaved round-robin, median of --repeat runs):

- **Lloyd per iteration**: ``KMeans(k, init=C0, n_init=1, max_iter=--iters,
  tol=0, algorithm="lloyd")`` on both sides from the same initial centers C0
  (k-means++ centers of the matrix); fit time / n_iter_ (the fit's fixed costs
  included, as a user sees them). Also whether the labels, the number of
  iterations and the inertia agree.
- **k-means++**: ``kmeans_plusplus(X, k, random_state=seed)`` on both sides
  (the same draws: the same indices are checked).

The matrix: --n documents over --d terms, about --nnz terms a document,
drawn from k topics (each with its own vocabulary) and a Zipf background,
counts weighted by idf and rows scaled to unit length (as
``TfidfVectorizer`` does), float64 CSR (``--dtype float32`` too).

Thread settings: "1" runs a subprocess with ``KMEANS_XP_NUM_THREADS=1
OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1``; "all" one with
those variables removed (both libraries on every core).

    python benchmarks/bench_sparse.py                      # 50000 x 20000, ~60 a row, k=20
    python benchmarks/bench_sparse.py --quick              # smoke test (a few seconds)
    python benchmarks/bench_sparse.py --threads 1 --repeat 3 --dtype float32

Writes ``benchmarks/out/bench_sparse.{md,json}`` (``--out`` to change) and
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


def tfidf_like(n: int, d: int, nnz: int, k: int, seed: int, dtype: str) -> Any:
    """A CSR matrix like ``TfidfVectorizer``'s output: unit rows, ~nnz terms each."""
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    ranks = np.arange(1, d + 1, dtype=np.float64)
    background = 1.0 / (ranks + 10.0) ** 1.1
    background /= background.sum()
    topic_of = rng.integers(0, k, n)
    vocab = rng.random((k, d)).argsort(axis=1)[:, : max(50, d // 20)]  # each topic's terms
    draws = round(nnz * 1.03)  # repeats are summed: about nnz distinct terms a row
    own = rng.random((n, draws)) < 0.5
    terms = rng.choice(d, size=(n, draws), p=background)
    picked = vocab[topic_of[:, None], rng.integers(0, vocab.shape[1], (n, draws))]
    terms = np.where(own, picked, terms)
    rows = np.repeat(np.arange(n), draws)
    counts = sp.csr_matrix((np.ones(n * draws), (rows, terms.ravel())), shape=(n, d))
    counts.sum_duplicates()
    df = np.bincount(counts.indices, minlength=d)
    idf = np.log((1 + n) / (1 + df)) + 1.0
    counts.data *= idf[counts.indices]
    norms = np.sqrt(np.asarray(counts.multiply(counts).sum(axis=1)).ravel())
    counts.data /= np.repeat(norms, np.diff(counts.indptr))
    return counts.astype(dtype)


def quiet(fn: Callable[[], Any]) -> Callable[[], Any]:
    def run() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn()

    return run


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    gc.collect()
    t0 = time.perf_counter()
    out = quiet(fn)()
    return time.perf_counter() - t0, out


def lloyd(lib: str, X: Any, init: np.ndarray, iters: int) -> Any:
    if lib == "kmeans_xp":
        from kmeans_xp import KMeans
    else:
        from sklearn.cluster import KMeans  # type: ignore[no-redef]
    return KMeans(
        init.shape[0], init=init, n_init=1, max_iter=iters, tol=0.0, algorithm="lloyd"
    ).fit(X)


def plusplus(lib: str, X: Any, k: int, seed: int) -> Any:
    if lib == "kmeans_xp":
        from kmeans_xp import kmeans_plusplus
    else:
        from sklearn.cluster import kmeans_plusplus  # type: ignore[no-redef]
    return kmeans_plusplus(X, k, random_state=seed)


LIBS = ("kmeans_xp", "sklearn")


def worker(args: argparse.Namespace) -> dict[str, Any]:
    import sklearn  # noqa: F401  (load scikit-learn and its thread pools first)

    out: dict[str, Any] = {"threads": args.worker, "rows": []}
    for dtype in args.dtype:
        X = tfidf_like(args.n, args.d, args.nnz, args.k, args.seed, dtype)
        init, _ = quiet(lambda X=X: plusplus("sklearn", X, args.k, args.seed))()
        init = np.asarray(init, dtype=dtype)
        # warm-up: first-call costs of both libraries
        for lib in LIBS:
            quiet(lambda lib=lib, X=X, init=init: lloyd(lib, X[:2000], init, 2))()
        lloyd_t: dict[str, list[float]] = {lib: [] for lib in LIBS}
        pp_t: dict[str, list[float]] = {lib: [] for lib in LIBS}
        fits: dict[str, Any] = {}
        seeds: dict[str, Any] = {}
        for rep in range(args.repeat):
            for lib in LIBS:
                t, km = timed(lambda lib=lib, X=X, init=init: lloyd(lib, X, init, args.iters))
                lloyd_t[lib].append(1e3 * t / max(1, int(km.n_iter_)))
                fits[lib] = km
            for lib in LIBS:
                t, (_, idx) = timed(
                    lambda lib=lib, X=X, rep=rep: plusplus(lib, X, args.k, args.seed + rep)
                )
                pp_t[lib].append(1e3 * t)
                seeds.setdefault(lib, []).append(np.asarray(idx))
        ours, theirs = fits["kmeans_xp"], fits["sklearn"]
        row = {
            "dtype": dtype,
            "shape": f"{X.shape[0]}×{X.shape[1]}",
            "nnz_per_row": X.nnz / X.shape[0],
            "k": args.k,
            "iters": [int(ours.n_iter_), int(theirs.n_iter_)],
            "lloyd_ms": {lib: statistics.median(v) for lib, v in lloyd_t.items()},
            "kmeanspp_ms": {lib: statistics.median(v) for lib, v in pp_t.items()},
            "labels_equal": bool(np.array_equal(ours.labels_, theirs.labels_)),
            "labels_differ": int(np.count_nonzero(ours.labels_ != theirs.labels_)),
            "inertia_rel_diff": abs(ours.inertia_ / theirs.inertia_ - 1.0),
            "centers_max_diff": float(
                np.abs(ours.cluster_centers_ - theirs.cluster_centers_).max()
            ),
            "seeds_equal": all(
                np.array_equal(a, b)
                for a, b in zip(seeds["kmeans_xp"], seeds["sklearn"], strict=True)
            ),
        }
        row["lloyd_ratio"] = row["lloyd_ms"]["kmeans_xp"] / row["lloyd_ms"]["sklearn"]
        row["kmeanspp_ratio"] = row["kmeanspp_ms"]["kmeans_xp"] / row["kmeanspp_ms"]["sklearn"]
        print(
            f"[{args.worker} thread(s)] {dtype}: Lloyd {row['lloyd_ratio']:.2f}×, "
            f"k-means++ {row['kmeanspp_ratio']:.2f}×",
            file=sys.stderr,
            flush=True,
        )
        out["rows"].append(row)
    from kmeans_xp._backend import _executor

    out["pools"] = [*C.blas_info(), f"kmeans_xp chunk threads={_executor.host_threads()}"]
    out["load"] = os.getloadavg()[0]
    return out


def run_setting(threads: str, argv: list[str]) -> dict[str, Any]:
    return C.run_worker(__file__, argv, threads)


def markdown(settings: list[dict[str, Any]], args: argparse.Namespace, info: dict[str, Any]) -> str:
    label = {"1": "1 thread", "all": f"all threads ({os.cpu_count()})"}
    md = ["# Sparse speed: kmeans_xp vs scikit-learn on a TF-IDF-like CSR matrix", ""]
    md += [C.env_markdown(info), ""]
    md.append(
        f"Lloyd: the same k-means++ initial centers, max_iter={args.iters}, tol=0, fit time / "
        f"n_iter_; k-means++: kmeans_plusplus(X, {args.k}, random_state=seed + repeat). Median "
        f"of {args.repeat} interleaved runs; ratio = kmeans_xp / scikit-learn (lower is faster)."
    )
    md.append("")
    header = [
        "threads",
        "dtype",
        "X",
        "nnz/row",
        "k",
        "iterations (xp / sk)",
        "Lloyd ms/iter xp",
        "Lloyd ms/iter sk",
        "Lloyd ratio",
        "labels equal",
        "inertia rel. diff",
        "k-means++ ms xp",
        "k-means++ ms sk",
        "k-means++ ratio",
        "same seeds",
        "load before → after",
    ]
    rows = []
    for s in settings:
        for r in s["rows"]:
            rows.append(
                [
                    label[s["threads"]],
                    r["dtype"],
                    r["shape"],
                    f"{r['nnz_per_row']:.1f}",
                    r["k"],
                    f"{r['iters'][0]} / {r['iters'][1]}",
                    f"{r['lloyd_ms']['kmeans_xp']:.1f}",
                    f"{r['lloyd_ms']['sklearn']:.1f}",
                    f"**{r['lloyd_ratio']:.2f}×**",
                    "yes" if r["labels_equal"] else f"no ({r['labels_differ']} differ)",
                    f"{r['inertia_rel_diff']:.1e}",
                    f"{r['kmeanspp_ms']['kmeans_xp']:.0f}",
                    f"{r['kmeanspp_ms']['sklearn']:.0f}",
                    f"**{r['kmeanspp_ratio']:.2f}×**",
                    "yes" if r["seeds_equal"] else "no",
                    f"{s['load_before']:.1f} → {s['load']:.1f}",
                ]
            )
    md.append(C.markdown_table(header, rows))
    return "\n".join(md) + "\n"


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=50_000)
    p.add_argument("--d", type=int, default=20_000)
    p.add_argument("--nnz", type=int, default=60, help="distinct terms a row, about")
    p.add_argument("--k", type=int, default=20)
    p.add_argument("--iters", type=int, default=10)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dtype", nargs="+", default=["float64"], choices=["float64", "float32"])
    p.add_argument("--threads", choices=["1", "all", "both"], default="both")
    p.add_argument("--quick", action="store_true", help="a small matrix, 2 repeats")
    p.add_argument("--out", default=str(C.DEFAULT_OUT / "bench_sparse"))
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.n, args.d, args.repeat, args.iters = 4000, 3000, 2, 5
    if args.worker:
        print(json.dumps(worker(args)))
        return
    child = [a for a in argv if a != "--worker"]
    settings = [
        run_setting(t, child) for t in (["1", "all"] if args.threads == "both" else [args.threads])
    ]
    info = C.env_info(["numpy", "scipy", "sklearn", "kmeans_xp"])
    md = markdown(settings, args, info)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out + ".md", "w") as fh:
        fh.write(md)
    with open(args.out + ".json", "w") as fh:
        json.dump({"env": info, "settings": settings}, fh, indent=1)
    print(md)


if __name__ == "__main__":
    main()
