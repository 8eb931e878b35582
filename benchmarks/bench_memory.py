"""Peak traced memory of a fit, as a multiple of X (issue 10's measurement).

    python benchmarks/bench_memory.py [--n 200000] [--d 32] [--k 64]

float32 data, 3 iterations (one pass of batches for MiniBatchKMeans), with the
given centers X[:k] and with the default initialisation; tracemalloc counts
NumPy's allocations. The target is <= 0.5 x X + O(k d); tests/test_engine.py
pins it.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from kmeans_xp import KMeans, MiniBatchKMeans, SphericalKMeans


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--d", type=int, default=32)
    ap.add_argument("--k", type=int, default=64)
    args = ap.parse_args()
    n, d, k = args.n, args.d, args.k
    X = (np.random.default_rng(0).normal(size=(n, d)) + 5.0).astype(np.float32)
    # load (or compile) the compiled loops once, outside the measured fits
    KMeans(k, init=X[:k].copy(), max_iter=1).fit(X[: 4 * k])
    print(f"| estimator | init | peak / X | seconds |  ({n} x {d} float32, k={k})")
    print("|---|---|---|---|")
    for given in (True, False):
        kw = {"init": X[:k].copy()} if given else {"random_state": 0}
        for name, est in (
            ("KMeans lloyd", KMeans(k, max_iter=3, **kw)),
            ("KMeans hamerly", KMeans(k, max_iter=3, algorithm="hamerly", **kw)),
            ("SphericalKMeans", SphericalKMeans(k, max_iter=3, **kw)),
            ("MiniBatchKMeans", MiniBatchKMeans(k, max_iter=1, batch_size=1024, **kw)),
        ):
            tracemalloc.start()
            start = time.perf_counter()
            est.fit(X)
            took = time.perf_counter() - start
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            init = "given" if given else "default"
            print(f"| {name} | {init} | {peak / X.nbytes:.3f} | {took:.2f} |")


if __name__ == "__main__":
    main()
