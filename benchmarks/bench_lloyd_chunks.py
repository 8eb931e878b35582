#!/usr/bin/env python3
"""Lloyd chunks of rows read in place, side by side in one process.

Per-iteration time of kmeans_xp Lloyd with ``Data.for_lloyd`` (chunks sized by
the scores alone, taken in blocks of the budget's rows) against the same fit
with it switched off (chunks sized by the scores and the features), and
scikit-learn's, on float32 blobs with the same initial centers, ``max_iter=10,
tol=0``; runs interleaved, the fastest of ``--repeat`` kept (process CPU time
when ``KMEANS_XP_NUM_THREADS=1``, wall time otherwise). Prints one line a shape.

    python benchmarks/bench_lloyd_chunks.py                      # all threads
    KMEANS_XP_NUM_THREADS=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \\
        python benchmarks/bench_lloyd_chunks.py                  # one thread
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C

SHAPES = "60000x784x10,200000x32x32,100000x16x8,20000x128x100,100000x64x256"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shapes", default=SHAPES, help="comma-separated NxDxK")
    p.add_argument("--repeat", type=int, default=7)
    args = p.parse_args(argv)
    from sklearn.cluster import KMeans as SKKMeans

    from kmeans_xp import KMeans, _assign

    warnings.simplefilter("ignore")
    real = _assign.Data.for_lloyd
    one_thread = os.environ.get("KMEANS_XP_NUM_THREADS") == "1"
    clock = time.process_time if one_thread else time.perf_counter
    iters = 10
    for shape in args.shapes.split(","):
        n, d, k = (int(v) for v in shape.split("x"))
        X, init = C.make_blobs(n, d, k, seed=0, spread=0.5 if k == 100 else 5.0)

        def ours(on: bool, X: Any = X, init: Any = init, k: int = k) -> Callable[[], Any]:
            def one_fit() -> Any:
                _assign.Data.for_lloyd = real if on else (lambda self: self)  # type: ignore[method-assign]
                try:
                    return KMeans(
                        k, init=init, n_init=1, max_iter=iters, tol=0, algorithm="lloyd"
                    ).fit(X)
                finally:
                    _assign.Data.for_lloyd = real  # type: ignore[method-assign]

            return one_fit

        runs = {
            "sklearn": lambda X=X, init=init, k=k: SKKMeans(
                k, init=init, n_init=1, max_iter=iters, tol=0
            ).fit(X),
            "old chunks": ours(False),
            "new chunks": ours(True),
        }
        for fit in runs.values():
            fit()
        best = dict.fromkeys(runs, float("inf"))
        for _ in range(args.repeat):
            for name, fit in runs.items():
                t0 = clock()
                fit()
                best[name] = min(best[name], (clock() - t0) / iters * 1e3)
        cells = ", ".join(f"{name} {ms:.2f} ms" for name, ms in best.items())
        ratio = best["new chunks"] / best["old chunks"]
        print(f"{shape}: {cells}; new / old {ratio:.3f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
