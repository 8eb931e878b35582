#!/usr/bin/env python3
"""Where a kmeans_xp Lloyd iteration spends its time on a CUDA GPU (torch).

Fits ``KMeans(init=C0, max_iter=M, tol=0)`` on float32 blobs under
``torch.profiler`` and prints the operations with the most GPU time, the
GPU-busy time per iteration next to the wall time per iteration, and how
often the host waited for the device (``cudaStreamSynchronize`` /
``cudaMemcpy`` calls, which the convergence scalars need).

    python benchmarks/profile_gpu.py                     # 1000000x32x64
    python benchmarks/profile_gpu.py --shape 1000000x128x1024 --iters 5
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shape", action="append", help="n x d x k (repeatable)")
    p.add_argument("--iters", type=int, default=5)
    p.add_argument("--top", type=int, default=12)
    p.add_argument("--cpu", action="store_true", help="dry run on the CPU (checks the script)")
    args = p.parse_args()
    try:
        import torch
        from torch.profiler import ProfilerActivity, profile
    except ImportError as exc:
        print(f"skipped: {exc}")
        return 0
    if not torch.cuda.is_available() and not args.cpu:
        print("skipped: torch has no usable CUDA device")
        return 0
    sync = torch.cuda.synchronize if not args.cpu else (lambda: None)
    from kmeans_xp import KMeans

    dev = torch.device("cpu" if args.cpu else "cuda")
    for shape in args.shape or ["1000000x32x64"]:
        n, d, k = (int(v) for v in shape.split("x"))
        X_host, C0_host = C.make_blobs(n, d, k, seed=0)
        X = torch.asarray(X_host, device=dev)
        C0 = torch.asarray(C0_host, device=dev)

        def fit(m: int, k: int = k, C0: Any = C0, X: Any = X) -> KMeans:
            return KMeans(k, init=C0, n_init=1, max_iter=m, tol=0.0, algorithm="lloyd").fit(X)

        fit(2)  # warm-up
        sync()
        t0 = time.perf_counter()
        fit(1)
        sync()
        t1 = time.perf_counter() - t0
        t0 = time.perf_counter()
        km = fit(args.iters + 1)
        sync()
        tn = time.perf_counter() - t0
        per_iter = (tn - t1) / (km.n_iter_ - 1)
        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            fit(args.iters + 1)
            sync()
        events = prof.key_averages()
        gpu_total = sum(getattr(e, "self_device_time_total", 0) for e in events) / 1e3
        syncs = sum(
            e.count
            for e in events
            if e.key in ("cudaStreamSynchronize", "cudaMemcpyAsync", "cudaDeviceSynchronize")
        )
        print(
            f"\n== {shape}: wall {1e3 * per_iter:.2f} ms/iteration (by difference), fit of "
            f"{args.iters + 1} iterations {1e3 * tn:.1f} ms; GPU busy {gpu_total:.1f} ms "
            f"in the profiled fit; host waits (sync / memcpy calls): {syncs}"
        )
        table = events.table(
            sort_by="self_device_time_total", row_limit=args.top, max_name_column_width=60
        )
        print(table)
        del X, C0
        if not args.cpu:
            torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
