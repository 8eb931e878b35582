#!/usr/bin/env python3
"""Dask: kmeans_xp on a Dask array against dask-ml's KMeans, on the same
dask.distributed LocalCluster (2 worker processes, 1 thread each).

The data (float32 blobs, 1M×32, k=64 by default) are made on the client,
turned into a Dask array of ``--chunks`` row blocks and persisted on the
workers before any timing, so both estimators start from the same
distributed array. Each fit is timed until its centers are on the client.
Reported per implementation: time, iterations, the true inertia of its
centers (float64, closest center, computed the same way for all) and the
number of distinct clusters found (centers closest to at least one sample).
In-memory references on the client: kmeans_xp on NumPy and scikit-learn.

A failing implementation is reported in the table with its error and the
others still run.

    python benchmarks/bench_dask.py            # 1M×32×64
    python benchmarks/bench_dask.py --quick    # 20k×8×8, seconds
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C

COLUMNS = [
    "implementation",
    "data",
    "time s",
    "× dask-ml",
    "iters",
    "inertia (true)",
    "inertia × kmeans_xp NumPy",
    "clusters found",
    "notes",
]


class _Said(logging.Handler):
    """Collects the messages logged during one fit (level WARNING and up)."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(C.short_error_text(record.getMessage()))


def to_numpy(a: Any) -> np.ndarray:
    if hasattr(a, "compute"):
        a = a.compute()
    if hasattr(a, "get") and not isinstance(a, np.ndarray):  # CuPy
        a = a.get()
    return np.asarray(a)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--quick", action="store_true", help="20000×8×8: a smoke test")
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--d", type=int, default=32)
    p.add_argument("--k", type=int, default=64)
    p.add_argument("--chunks", type=int, default=0, help="rows per Dask chunk (default n/8)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads-per-worker", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--skip", default="", help="comma-separated names to skip: xp-dask,dask-ml,xp-numpy,sklearn"
    )
    p.add_argument("--out")
    args = p.parse_args(argv)
    if args.quick:
        args.n, args.d, args.k = 20_000, 8, 8
    n, d, k = args.n, args.d, args.k
    chunk = args.chunks or max(1, -(-n // 8))
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    out = C.out_dir(args.out)

    import dask.array as da
    from dask.distributed import Client, LocalCluster, wait

    X, _ = C.make_blobs(n, d, k, seed=args.seed)
    rows: list[dict[str, Any]] = []

    def run(
        key: str, name: str, data: str, fn: Callable[[], tuple[Any, int]], note: str = ""
    ) -> None:
        r: dict[str, Any] = {
            "key": key,
            "implementation": name,
            "data": data,
            "notes": [note] if note else [],
        }
        rows.append(r)
        if key in skip:
            r["notes"].append("skipped (--skip)")
            return
        said = _Said()
        root = logging.getLogger()
        root.addHandler(said)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                t0 = time.perf_counter()
                centers, n_iter = fn()
                centers = to_numpy(centers)
                r["time"] = time.perf_counter() - t0
            said.messages += [C.short_error_text(str(w.message)) for w in caught]
            r["iters"] = n_iter
            r["inertia"], r["found"] = C.true_inertia(X, centers)
        except Exception as exc:
            r["notes"].append("failed: " + C.short_error(exc, 300))
            traceback.print_exc(file=sys.stderr)
        finally:
            root.removeHandler(said)
        # what the library said about its clustering (e.g. dask-ml's init)
        r["notes"] += [
            f"said: {m}" for m in dict.fromkeys(said.messages) if "cluster" in m.lower()
        ][:3]
        print(
            f"[dask] {name}: {C.fmt(r.get('time'), '.2f')} s {'; '.join(r['notes'])}",
            file=sys.stderr,
            flush=True,
        )

    def xp_numpy() -> tuple[Any, int]:
        from kmeans_xp import KMeans

        km = KMeans(k, random_state=args.seed).fit(X)
        return km.cluster_centers_, int(km.n_iter_)

    def sk_numpy() -> tuple[Any, int]:
        from sklearn.cluster import KMeans

        km = KMeans(k, random_state=args.seed).fit(X)
        return km.cluster_centers_, int(km.n_iter_)

    # In-memory references first, before the cluster exists: its worker
    # processes would compete for the cores, and starting them sets
    # OMP_NUM_THREADS=1 in this process's environment.
    import sklearn.cluster as _sk_cluster  # noqa: F401  (load OpenMP with the machine's threads)

    info = C.env_info(["numpy", "dask", "distributed", "dask_ml", "sklearn", "kmeans_xp"])
    run("xp-numpy", "kmeans_xp (NumPy)", "in memory, no cluster", xp_numpy, "defaults (k-means++)")
    run("sklearn", "scikit-learn KMeans", "in memory, no cluster", sk_numpy, "defaults (k-means++)")
    refs, rows = rows, []

    cluster = LocalCluster(
        n_workers=args.workers,
        threads_per_worker=args.threads_per_worker,
        processes=True,
        dashboard_address=None,
    )
    client = Client(cluster)
    try:
        Xd = da.from_array(X, chunks=(chunk, d)).persist()
        wait(Xd)
        print(
            f"[dask] {C.workload_name(n, d, k)} persisted on {args.workers} workers in "
            f"{Xd.numblocks[0]} chunks",
            file=sys.stderr,
            flush=True,
        )

        def xp_dask() -> tuple[Any, int]:
            from kmeans_xp import KMeans

            km = KMeans(k, random_state=args.seed).fit(Xd)
            return km.cluster_centers_, int(km.n_iter_)

        def dask_ml() -> tuple[Any, int]:
            from dask_ml.cluster import KMeans

            km = KMeans(n_clusters=k, random_state=args.seed).fit(Xd)
            return km.cluster_centers_, int(km.n_iter_)

        run(
            "xp-dask",
            "kmeans_xp (Dask)",
            f"Dask, {args.workers} workers",
            xp_dask,
            "defaults (k-means|| on Dask)",
        )
        run(
            "dask-ml",
            "dask-ml KMeans",
            f"Dask, {args.workers} workers",
            dask_ml,
            "defaults (k-means||)",
        )
    finally:
        client.close()
        cluster.close()
    rows += refs

    by = {r["key"]: r for r in rows}
    ml, ref = by["dask-ml"], by["xp-numpy"]
    table = []
    for r in rows:
        found = r.get("found")
        notes = list(r["notes"])
        if found is not None and found < k:
            notes.append(f"only {found} of {k} clusters")
        table.append(
            [
                r["implementation"],
                r["data"],
                C.fmt(r.get("time"), ".2f"),
                C.fmt(C.ratio(r.get("time"), ml.get("time")), ".2f"),
                C.fmt(r.get("iters")),
                C.fmt(r.get("inertia"), ".6g"),
                C.fmt(C.ratio(r.get("inertia"), ref.get("inertia")), ".4f"),
                f"{found} / {k}" if found is not None else "—",
                "; ".join(notes),
            ]
        )
    xd = by["xp-dask"]
    targets = []

    def add(what: str, value: float | None, ok: bool | None, bound: str, miss: str) -> None:
        targets.append(
            [
                what,
                "—" if value is None else f"{value:.3g}",
                bound,
                "not measured" if ok is None else ("yes" if ok else "no"),
                "—" if ok in (None, True) else miss,
            ]
        )

    tr = C.ratio(xd.get("time"), ml.get("time"))
    add(
        "time, kmeans_xp Dask / dask-ml",
        tr,
        None if tr is None else tr <= 0.25,
        "≤ 0.25",
        f"{(tr or 0) / 0.25:.2f}× the bound",
    )
    f = xd.get("found")
    add(
        "clusters found by kmeans_xp Dask",
        f,
        None if f is None else f == k,
        f"= {k}",
        f"{k - (f or 0)} missing",
    )
    ir = C.ratio(xd.get("inertia"), ref.get("inertia"))
    add(
        "inertia, kmeans_xp Dask / kmeans_xp NumPy",
        ir,
        None if ir is None else abs(ir - 1) <= 0.01,
        "within 1 %",
        f"{abs((ir or 1) - 1) * 100:.2f} % off",
    )

    md = [
        "# Dask benchmark: kmeans_xp vs dask-ml",
        "",
        C.env_markdown(info),
        "",
        f"{C.workload_name(n, d, k)} float32 blobs in {-(-n // chunk)} chunks of {chunk} rows, "
        f"persisted on a LocalCluster of {args.workers} worker processes × "
        f"{args.threads_per_worker} thread; "
        f"random_state={args.seed}; one run each; time until the centers are on the client.",
        "",
        C.markdown_table(COLUMNS, table),
        "",
        "## Targets (issue 4 / ANCHORS.md)",
        "",
        C.markdown_table(["target", "measured", "bound", "met", "miss"], targets),
    ]
    text = "\n".join(md) + "\n"
    (out / "bench_dask.md").write_text(text)
    (out / "bench_dask.json").write_text(
        json.dumps({"env": info, "args": vars(args), "rows": rows}, indent=1, default=str)
    )
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
