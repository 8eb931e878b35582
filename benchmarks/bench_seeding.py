#!/usr/bin/env python3
"""k-means++ seeding and Hamerly to convergence, side by side in one process.

For each shape (float32 blobs, ``_common.make_blobs``): greedy k-means++
(``kmeans_xp.kmeans_plusplus`` against ``sklearn.cluster.kmeans_plusplus``,
``random_state=1``, the same indices expected in float64 only), and a fit to
convergence from the same initial centers (kmeans_xp ``algorithm="hamerly"``
and ``"lloyd"`` against scikit-learn's Lloyd, default ``tol``). Runs
interleaved, the fastest of ``--repeat`` kept (wall time). With
``--default-fit``, both libraries' default fit too (``random_state`` 0, 1, ...
on both sides, median time). Prints one line a shape with the times and the
ratios to scikit-learn.

    python benchmarks/bench_seeding.py                            # all threads
    KMEANS_XP_NUM_THREADS=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \\
        python benchmarks/bench_seeding.py                        # one thread
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C

SHAPES = "1000000x32x64,100000x64x256"


def _fastest(fns: dict[str, Callable[[], Any]], repeat: int) -> dict[str, float]:
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(repeat):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t0)
    return best


def _default_fits(X: Any, k: int, repeat: int) -> str:
    """Both libraries' default fit (k-means++, n_init "auto", tol 1e-4),
    ``random_state`` 0 .. repeat-1 on both sides, interleaved: median time and
    the mean inertia ratio."""
    import statistics

    from sklearn.cluster import KMeans as SKKMeans

    from kmeans_xp import KMeans

    times: dict[str, list[float]] = {"ours": [], "sklearn": []}
    inertia: dict[str, list[float]] = {"ours": [], "sklearn": []}
    for seed in range(repeat):
        for name, cls in (("ours", KMeans), ("sklearn", SKKMeans)):
            t0 = time.perf_counter()
            model = cls(k, random_state=seed).fit(X)
            times[name].append(time.perf_counter() - t0)
            inertia[name].append(float(model.inertia_))
    ours, sk = statistics.median(times["ours"]), statistics.median(times["sklearn"])
    ratio = statistics.mean(inertia["ours"]) / statistics.mean(inertia["sklearn"])
    return (
        f"; default fit {ours:.2f} s vs scikit-learn {sk:.2f} s ({ours / sk:.2f}x,"
        f" median of seeds 0-{repeat - 1}; mean inertia ratio {ratio:.4f})"
    )


def _one_shape(shape: str, repeat: int, convergence: bool, default_fit: bool) -> str:
    from sklearn.cluster import KMeans as SKKMeans
    from sklearn.cluster import kmeans_plusplus as sk_plusplus

    from kmeans_xp import KMeans, kmeans_plusplus

    n, d, k = C.parse_workload(shape)
    X, init = C.make_blobs(n, d, k, seed=0)
    kmeans_plusplus(X[: 4 * k], k, random_state=0)  # compiled loops loaded
    KMeans(k, init=init, algorithm="hamerly", max_iter=2).fit(X[: 4 * k])
    seeding = _fastest(
        {
            "ours": lambda: kmeans_plusplus(X, k, random_state=1),
            "sklearn": lambda: sk_plusplus(X, k, random_state=1),
        },
        repeat,
    )
    line = (
        f"{shape}: k-means++ {seeding['ours']:.2f} s vs scikit-learn "
        f"{seeding['sklearn']:.2f} s ({seeding['ours'] / seeding['sklearn']:.2f}x)"
    )
    if convergence:
        conv = _fastest(
            {
                "hamerly": lambda: KMeans(k, init=init, algorithm="hamerly").fit(X),
                "lloyd": lambda: KMeans(k, init=init, algorithm="lloyd").fit(X),
                "sklearn": lambda: SKKMeans(k, init=init, n_init=1).fit(X),
            },
            repeat,
        )
        sk = conv["sklearn"]
        line += (
            f"; to convergence: hamerly {conv['hamerly']:.2f} s ({conv['hamerly'] / sk:.2f}x),"
            f" lloyd {conv['lloyd']:.2f} s ({conv['lloyd'] / sk:.2f}x),"
            f" scikit-learn lloyd {sk:.2f} s"
        )
    if default_fit:
        line += _default_fits(X, k, repeat)
    return line


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shapes", default=SHAPES, help="comma-separated NxDxK")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--no-convergence", action="store_true", help="the seeding only")
    p.add_argument(
        "--default-fit", action="store_true", help="also both default fits, seed by seed"
    )
    p.add_argument("--out", help="a folder to write the lines to (bench_seeding.txt) as well")
    args = p.parse_args(argv)
    lines = [f"kmeans_xp {C.git_commit()}, {C.cpu_model()}, repeat {args.repeat}, fastest run"]
    print(lines[0], flush=True)
    for shape in args.shapes.split(","):
        lines.append(_one_shape(shape, args.repeat, not args.no_convergence, args.default_fit))
        print(lines[-1], flush=True)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "bench_seeding.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
