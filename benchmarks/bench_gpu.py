#!/usr/bin/env python3
"""GPU suite: kmeans_xp on CuPy and torch CUDA against hand-written Lloyd
iterations, the fp32 GEMM floor and flash-kmeans.

Per shape n×d×k (float32 blobs made on the host, the same for everybody, and
the same initial centers) it reports milliseconds per Lloyd iteration with
device synchronisation:

- fp32 GEMM floor: ``X @ C.T`` alone (cuBLAS, TF32 off), median of repeats;
- hand-written CuPy / torch Lloyd: full (n, k) score matrix, argmin, then
  ``cupyx.scatter_add`` / ``index_add_`` and ``bincount`` (written here);
- kmeans_xp on CuPy and on torch CUDA (``KMeans(init=C0, tol=0)``), and
  ``algorithm="hamerly"`` when this kmeans_xp accepts it;
- flash-kmeans (``batch_kmeans_Euclid``, Triton, TF32 ``tl.dot``) if importable.

Fits are timed as (t(N+1 iterations) - t(1 iteration)) / N, so fixed costs
(validation, the final assignment, the inertia) are left out the same way for
kmeans_xp and flash-kmeans. Peak extra memory: CuPy memory pool growth /
``torch.cuda.max_memory_allocated`` above what was allocated before. The true
inertia of every result is recomputed in float64 (same code for all).

    python benchmarks/bench_gpu.py                  # the three issue-4 shapes
    python benchmarks/bench_gpu.py --scaling        # + n = 1e5..1e7 at d=32, k=64
    python benchmarks/bench_gpu.py --small          # tiny shapes; skips cleanly without a GPU
    python benchmarks/bench_gpu.py --small --cpu    # dry run of the torch code on the CPU

Writes ``bench_gpu.{md,json}`` and ``bench_gpu_short.md`` into --out
(default: $OUT if set, else benchmarks/out).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C

FULL_SHAPES = ["1000000x32x64", "1000000x128x1024", "4000000x64x256"]
SMALL_SHAPES = ["20000x16x8", "20000x64x256"]
SCALING_SHAPES = ["100000x32x64", "1000000x32x64", "10000000x32x64"]

COLUMNS = [
    "shape",
    "backend",
    "implementation",
    "ms/iter",
    "× GEMM floor",
    "× hand-written",
    "peak extra MiB",
    "peak × X",
    "inertia (true)",
    "inertia × hand-written",
    "notes",
]


# --------------------------------------------------------------------------
# backends: CuPy and torch, each with timing, memory and a hand-written Lloyd
# --------------------------------------------------------------------------
class Backend:
    name = "?"
    xp: Any = None

    def sync(self) -> None: ...
    def to_device(self, a: np.ndarray) -> Any: ...
    def to_host(self, a: Any) -> np.ndarray: ...
    def mem_reset(self) -> None: ...
    def mem_peak_extra(self) -> int: ...
    def free(self) -> None: ...
    def gemm(self, X: Any, Cc: Any) -> Any: ...
    def lloyd(self, X: Any, Cc: Any, iters: int) -> Any: ...

    def time_call(self, fn: Callable[[], Any], reps: int) -> float:
        """Median seconds of ``fn`` over ``reps`` calls, after one warm-up."""
        fn()
        self.sync()
        ts = []
        for _ in range(reps):
            self.sync()
            t0 = time.perf_counter()
            fn()
            self.sync()
            ts.append(time.perf_counter() - t0)
        return float(np.median(ts))

    def time_once(self, fn: Callable[[], Any]) -> tuple[float, Any]:
        self.sync()
        t0 = time.perf_counter()
        out = fn()
        self.sync()
        return time.perf_counter() - t0, out


class CupyBackend(Backend):
    name = "cupy"

    def __init__(self) -> None:
        import cupy
        import cupyx

        cupy.ones(1).sum().item()  # raises without a usable device
        self.cp, self.cupyx = cupy, cupyx
        self.pool = cupy.get_default_memory_pool()
        self.xp = cupy
        self._base = 0
        props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
        name = props["name"]
        self.device_name = name.decode() if isinstance(name, bytes) else str(name)

    def sync(self) -> None:
        self.cp.cuda.get_current_stream().synchronize()

    def to_device(self, a: np.ndarray) -> Any:
        return self.cp.asarray(a)

    def to_host(self, a: Any) -> np.ndarray:
        return self.cp.asnumpy(a)

    def free(self) -> None:
        self.sync()
        self.pool.free_all_blocks()

    def mem_reset(self) -> None:
        self.free()
        self._base = self.pool.total_bytes()

    def mem_peak_extra(self) -> int:
        # the pool keeps freed blocks: its growth bounds the peak from above
        return max(0, self.pool.total_bytes() - self._base)

    def gemm(self, X: Any, Cc: Any) -> Any:
        return X @ Cc.T

    def lloyd(self, X: Any, Cc: Any, iters: int) -> Any:
        cp = self.cp
        k = Cc.shape[0]
        for _ in range(iters):
            scores = X @ Cc.T  # (n, k), materialized
            scores *= -2.0
            scores += (Cc * Cc).sum(axis=1)[None, :]
            labels = scores.argmin(axis=1)
            del scores
            sums = cp.zeros_like(Cc)
            self.cupyx.scatter_add(sums, labels, X)
            counts = cp.bincount(labels, minlength=k).astype(Cc.dtype)
            Cc = cp.where(counts[:, None] > 0, sums / cp.maximum(counts, 1)[:, None], Cc)
        return Cc


class TorchBackend(Backend):
    name = "torch"

    def __init__(self, allow_cpu: bool) -> None:
        import torch

        self.torch = torch
        if torch.cuda.is_available():
            self.dev = torch.device("cuda")
            torch.ones(1, device=self.dev).sum().item()
            torch.backends.cuda.matmul.allow_tf32 = False  # exact fp32 GEMMs
            torch.backends.cudnn.allow_tf32 = False
            self.device_name = torch.cuda.get_device_name(self.dev)
            self.name = "torch_cuda"
        elif allow_cpu:
            self.dev = torch.device("cpu")
            self.device_name = "CPU (dry run)"
            self.name = "torch_cpu"
        else:
            raise RuntimeError("torch has no usable CUDA device")
        import array_api_compat.torch as xp

        self.xp = xp
        self._base = 0

    @property
    def cuda(self) -> bool:
        return self.dev.type == "cuda"

    def sync(self) -> None:
        if self.cuda:
            self.torch.cuda.synchronize(self.dev)

    def to_device(self, a: np.ndarray) -> Any:
        return self.torch.from_numpy(np.ascontiguousarray(a)).to(self.dev)

    def to_host(self, a: Any) -> np.ndarray:
        return a.detach().cpu().numpy()

    def free(self) -> None:
        self.sync()
        if self.cuda:
            self.torch.cuda.empty_cache()

    def mem_reset(self) -> None:
        self.free()
        if self.cuda:
            self.torch.cuda.reset_peak_memory_stats(self.dev)
            self._base = self.torch.cuda.memory_allocated(self.dev)

    def mem_peak_extra(self) -> int | None:  # type: ignore[override]
        if not self.cuda:
            return None
        return max(0, self.torch.cuda.max_memory_allocated(self.dev) - self._base)

    def gemm(self, X: Any, Cc: Any) -> Any:
        return X @ Cc.T

    def lloyd(self, X: Any, Cc: Any, iters: int) -> Any:
        torch = self.torch
        k = Cc.shape[0]
        for _ in range(iters):
            scores = torch.addmm((Cc * Cc).sum(dim=1)[None, :], X, Cc.T, alpha=-2.0)
            labels = scores.argmin(dim=1)
            del scores
            sums = torch.zeros_like(Cc).index_add_(0, labels, X)
            counts = torch.bincount(labels, minlength=k).to(Cc.dtype)
            Cc = torch.where(counts[:, None] > 0, sums / counts.clamp(min=1)[:, None], Cc)
        return Cc


# --------------------------------------------------------------------------
# measurements
# --------------------------------------------------------------------------
def fit_per_iter(
    be: Backend, run: Callable[[int], tuple[Any, int]], iters: int
) -> tuple[float, Any, int | None]:
    """(seconds per iteration, centers after iters+1, peak extra bytes) by the
    difference of an (iters+1)-iteration and a 1-iteration run."""
    run(2)  # warm-up: kernel compilation, autotuning
    be.sync()
    # the fastest of a few: one slow 1-iteration run (an allocator growing,
    # say) made a difference negative in the first GPU run
    ones = [be.time_once(lambda: run(1)) for _ in range(3)]
    t1, (_, n1) = min(ones, key=lambda r: r[0])
    be.mem_reset()
    tn, (centers, nn) = be.time_once(lambda: run(iters + 1))
    peak = be.mem_peak_extra()
    tn = min(tn, be.time_once(lambda: run(iters + 1))[0])
    if nn <= n1:
        raise RuntimeError(f"ran {nn} iterations for max_iter={iters + 1}: stopped early")
    return (tn - t1) / (nn - n1), centers, peak


def xp_algorithms() -> tuple[list[str], dict[str, str]]:
    from kmeans_xp import KMeans

    algos, skipped = [], {}
    for alg in ("lloyd", "hamerly"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                KMeans(3, algorithm=alg, n_init=1, random_state=0).fit(
                    np.random.default_rng(0).standard_normal((40, 2)).astype(np.float32)
                )
            algos.append(alg)
        except ValueError as exc:
            skipped[alg] = C.short_error(exc)
        except Exception as exc:
            skipped[alg] = "fails: " + C.short_error(exc)
    return algos, skipped


def load_flash() -> tuple[Any, str]:
    import flash_kmeans

    fn = flash_kmeans.batch_kmeans_Euclid
    kind = "Triton" if "triton" in getattr(fn, "__module__", "") else "torch fallback (no Triton)"
    return fn, f"flash-kmeans {getattr(flash_kmeans, '__version__', '?')}, {kind}"


def true_inertia_dev(be: Backend | None, X_host: np.ndarray, Xd: Any, centers: np.ndarray) -> float:
    """Float64 true inertia; on the GPU through torch or CuPy when available."""
    Cc = np.asarray(centers, dtype=np.float64)
    if be is None or (isinstance(be, TorchBackend) and not be.cuda):
        return C.true_inertia(X_host, Cc)[0]
    if isinstance(be, TorchBackend):
        torch = be.torch
        Cd = torch.from_numpy(Cc).to(be.dev)
        half = 0.5 * (Cd * Cd).sum(1)
        total = torch.zeros((), dtype=torch.float64, device=be.dev)
        for a in range(0, Xd.shape[0], 1 << 18):
            Xb = Xd[a : a + (1 << 18)].double()
            lab = torch.argmin(half[None, :] - Xb @ Cd.T, dim=1)
            diff = Xb - Cd[lab]
            total += (diff * diff).sum()
        return float(total)
    cp = be.cp  # type: ignore[attr-defined]
    Cd = cp.asarray(Cc)
    half = 0.5 * (Cd * Cd).sum(1)
    total = cp.zeros((), dtype=cp.float64)
    for a in range(0, Xd.shape[0], 1 << 18):
        Xb = Xd[a : a + (1 << 18)].astype(cp.float64)
        lab = cp.argmin(half[None, :] - Xb @ Cd.T, axis=1)
        diff = Xb - Cd[lab]
        total += (diff * diff).sum()
    return float(total)


def run_shape(
    n: int,
    d: int,
    k: int,
    backends: list[Backend],
    args: argparse.Namespace,
    xp_algos: list[str],
    flash: tuple[Any, str] | None,
) -> list[dict[str, Any]]:
    from kmeans_xp import KMeans

    shape = C.workload_name(n, d, k)
    X, C0 = C.make_blobs(n, d, k, seed=args.seed)
    rows: list[dict[str, Any]] = []
    x_bytes = int(X.nbytes)

    def row(be: Backend, impl: str, **kw: Any) -> dict[str, Any]:
        r = {
            "shape": shape,
            "backend": be.name,
            "implementation": impl,
            "x_bytes": x_bytes,
            "notes": [],
        }
        r.update(kw)
        rows.append(r)
        print(
            f"[{shape}] {be.name} {impl}: "
            f"{C.fmt(r.get('ms'), '.3f')} ms/iter {'; '.join(r['notes'])}",
            file=sys.stderr,
            flush=True,
        )
        return r

    for be in backends:
        try:
            Xd, Cd = be.to_device(X), be.to_device(C0)
        except Exception as exc:  # out of memory for this shape, say
            row(be, "(data)", notes=[f"skipped: {C.short_error(exc)}"])
            continue
        be.sync()
        # GEMM floor
        try:
            be.mem_reset()
            t = be.time_call(partial(be.gemm, Xd, Cd), args.reps)
            row(be, "fp32 GEMM X @ C.T (floor)", ms=1e3 * t, peak=be.mem_peak_extra())
        except Exception as exc:
            row(be, "fp32 GEMM X @ C.T (floor)", notes=[f"failed: {C.short_error(exc)}"])
        # hand-written Lloyd
        try:
            be.lloyd(Xd, Cd, 1)
            be.sync()
            be.mem_reset()
            t, cen = be.time_once(partial(be.lloyd, Xd, Cd, args.iters))
            peak = be.mem_peak_extra()
            # the same N+1 iterations as the fits below, for the inertia comparison
            cen = be.lloyd(Xd, Cd, args.iters + 1)
            row(
                be,
                "hand-written Lloyd (n×k scores)",
                ms=1e3 * t / args.iters,
                peak=peak,
                inertia=true_inertia_dev(be, X, Xd, be.to_host(cen)),
            )
        except Exception as exc:
            row(be, "hand-written Lloyd (n×k scores)", notes=[f"failed: {C.short_error(exc)}"])
        be.free()
        # kmeans_xp
        for alg in xp_algos:
            impl = f"kmeans_xp {alg}"

            def run(m: int, alg: str = alg, Xd: Any = Xd, Cd: Any = Cd) -> tuple[Any, int]:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    km = KMeans(k, init=Cd, n_init=1, max_iter=m, tol=0.0, algorithm=alg).fit(Xd)
                return km.cluster_centers_, int(km.n_iter_)

            try:
                s, cen, peak = fit_per_iter(be, run, args.iters)
                row(
                    be,
                    impl,
                    ms=1e3 * s,
                    peak=peak,
                    inertia=true_inertia_dev(be, X, Xd, be.to_host(cen)),
                )
            except Exception as exc:
                row(be, impl, notes=[f"failed: {C.short_error(exc)}"])
            be.free()
        # flash-kmeans (torch tensors only)
        if isinstance(be, TorchBackend):
            if flash is None:
                row(be, "flash-kmeans", notes=["skipped: not importable"])
            else:
                fn, label = flash

                def frun(m: int, fn: Any = fn, Xd: Any = Xd, Cd: Any = Cd) -> tuple[Any, int]:
                    out = fn(Xd[None], k, max_iters=m, tol=0.0, init_centroids=Cd[None].clone())
                    n_it = int(out[2]) if len(out) > 2 else m
                    return out[1][0], n_it

                try:
                    s, cen, peak = fit_per_iter(be, frun, args.iters)
                    row(
                        be,
                        "flash-kmeans",
                        ms=1e3 * s,
                        peak=peak,
                        inertia=true_inertia_dev(be, X, Xd, be.to_host(cen)),
                        notes=[label + " (TF32 dot by default)"],
                    )
                except Exception as exc:
                    row(be, "flash-kmeans", notes=[f"failed: {C.short_error(exc)}"])
                be.free()
        del Xd, Cd
        be.free()
    # ratios within the shape and backend
    for r in rows:
        same = [q for q in rows if q["backend"] == r["backend"]]
        floor = next(
            (q.get("ms") for q in same if q["implementation"].startswith("fp32 GEMM")), None
        )
        hand = next((q for q in same if q["implementation"].startswith("hand-written")), {})
        r["x_floor"] = C.ratio(r.get("ms"), floor)
        r["x_hand"] = C.ratio(r.get("ms"), hand.get("ms"))
        r["x_hand_inertia"] = C.ratio(r.get("inertia"), hand.get("inertia"))
    return rows


def target_rows(rows: list[dict[str, Any]]) -> list[list[str]]:
    out = []

    def find(shape: str, impl: str) -> dict[str, Any] | None:
        return next(
            (
                r
                for r in rows
                if r["shape"] == shape
                and r["backend"] == "cupy"
                and r["implementation"] == impl
                and r.get("ms") is not None
            ),
            None,
        )

    def add(what: str, value: float | None, bound: float, unit: str = "") -> None:
        if value is None:
            out.append([what, "—", f"≤ {bound:g}{unit}", "not measured", "—"])
        else:
            met = value <= bound
            out.append(
                [
                    what,
                    f"{value:.3g}{unit}",
                    f"≤ {bound:g}{unit}",
                    "yes" if met else "no",
                    "—" if met else f"{value / bound:.2f}× the bound",
                ]
            )

    r = find("1000000×128×1024", "kmeans_xp lloyd")
    add("CuPy exact fp32 per iteration / GEMM floor, 1M×128×1024", r and r.get("x_floor"), 1.3)
    r = find("1000000×32×64", "kmeans_xp lloyd")
    add("CuPy exact fp32 per iteration, 1M×32×64", r and r.get("ms"), 1.0, " ms")
    for r in rows:
        if (
            r["implementation"] == "kmeans_xp lloyd"
            and r["backend"] == "cupy"
            and r.get("peak") is not None
        ):
            bound = 0.5 * r["x_bytes"] + 32 * 8 * _kd(r["shape"])
            add(f"CuPy peak extra memory / (0.5× X + O(k·d)), {r['shape']}", r["peak"] / bound, 1.0)
    return out


def _kd(shape: str) -> int:
    _, d, k = C.parse_workload(shape)
    return k * d


def write_outputs(
    out: Any,
    info: dict[str, Any],
    args: argparse.Namespace,
    rows: list[dict[str, Any]],
    notes: list[str],
) -> str:
    """Write bench_gpu.{md,json} and bench_gpu_short.md; return the markdown."""
    table = [
        [
            r["shape"],
            r["backend"],
            r["implementation"],
            C.fmt(r.get("ms"), ".3f"),
            C.fmt(r.get("x_floor"), ".2f"),
            C.fmt(r.get("x_hand"), ".2f"),
            C.fmt(C.mib(r.get("peak")), ".1f"),
            C.fmt(C.ratio(r.get("peak"), r["x_bytes"]), ".2f"),
            C.fmt(r.get("inertia"), ".7g"),
            C.fmt(r.get("x_hand_inertia"), ".5f"),
            "; ".join(r["notes"]),
        ]
        for r in rows
    ]
    if not rows:
        table = [["—", "—", "—", "—", "—", "—", "—", "—", "—", "—", "skipped: no GPU backend"]]
    md = [
        "# GPU benchmark: kmeans_xp vs hand-written Lloyd, GEMM floor, flash-kmeans",
        "",
        C.env_markdown(info),
        f"- devices: {', '.join(info['devices']) or 'none'}",
        "",
        f"ms per Lloyd iteration, float32, same data and initial centers; fits timed as "
        f"(t({args.iters + 1} it) − t(1 it)) / {args.iters}; hand-written: {args.iters} "
        "iterations / count; GEMM: median. Ratios within the same backend. Inertia: true, float64, "
        f"after {args.iters + 1} iterations (the hand-written Lloyd and flash-kmeans keep an empty "
        "cluster's center where kmeans_xp relocates it as scikit-learn does, so their inertia "
        "can differ when a cluster empties).",
        "",
        C.markdown_table(COLUMNS, table),
        "",
        "## Targets (issue 4)",
        "",
        C.markdown_table(["target", "measured", "bound", "met", "miss"], target_rows(rows)),
    ]
    md += [""] + [f"- {n}" for n in notes]
    text = "\n".join(md) + "\n"
    short = C.markdown_table(
        ["shape", "backend", "implementation", "ms/iter", "× floor"],
        [
            [
                r["shape"],
                r["backend"],
                r["implementation"],
                C.fmt(r.get("ms"), ".3f"),
                C.fmt(r.get("x_floor"), ".2f"),
            ]
            for r in rows
        ]
        or [["—", "—", "skipped", "—", "—"]],
    )
    (out / "bench_gpu.md").write_text(text)
    (out / "bench_gpu_short.md").write_text(short + "\n")
    (out / "bench_gpu.json").write_text(
        json.dumps(
            {"env": info, "args": vars(args), "notes": notes, "rows": rows}, indent=1, default=str
        )
    )
    return text


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--small", action="store_true", help="tiny shapes (a dry run)")
    p.add_argument("--shapes", help=f"comma-separated NxDxK (default: {','.join(FULL_SHAPES)})")
    p.add_argument("--scaling", action="store_true", help="add n = 1e5, 1e6, 1e7 at d=32, k=64")
    p.add_argument("--iters", type=int, default=10)
    p.add_argument("--reps", type=int, default=10, help="repeats of the GEMM floor (median)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--backends", default="cupy,torch", help="cupy,torch (default both)")
    p.add_argument("--cpu", action="store_true", help="let the torch part run on the CPU (dry run)")
    p.add_argument("--no-flash", action="store_true")
    p.add_argument(
        "--budget",
        type=float,
        default=420.0,
        help="seconds; shapes not started by then are skipped (default 420)",
    )
    p.add_argument("--out", help="output folder (default $OUT, else benchmarks/out)")
    args = p.parse_args(argv)
    start = time.perf_counter()
    out = C.out_dir(args.out or os.environ.get("OUT") or None)
    shapes = (
        args.shapes.split(",") if args.shapes else (SMALL_SHAPES if args.small else FULL_SHAPES)
    )
    if args.scaling:
        shapes += [
            s
            for s in (["20000x32x64", "50000x32x64"] if args.small else SCALING_SHAPES)
            if s not in shapes
        ]
    if args.small:
        args.iters = min(args.iters, 3)
        args.reps = min(args.reps, 3)

    notes: list[str] = []
    backends: list[Backend] = []
    wanted = [b.strip() for b in args.backends.split(",") if b.strip()]
    if "cupy" in wanted:
        try:
            backends.append(CupyBackend())
        except Exception as exc:
            notes.append(f"CuPy skipped: {C.short_error(exc)}")
    if "torch" in wanted:
        try:
            backends.append(TorchBackend(args.cpu))
        except Exception as exc:
            notes.append(f"torch skipped: {C.short_error(exc)}")
    flash = None
    if args.no_flash:
        notes.append("flash-kmeans skipped: --no-flash")
    elif any(isinstance(b, TorchBackend) for b in backends):
        try:
            flash = load_flash()
        except Exception as exc:
            notes.append(f"flash-kmeans skipped: not importable ({C.short_error(exc)})")
    xp_algos, skipped = xp_algorithms()
    notes += [f"kmeans_xp algorithm={a!r} not measured: {why}" for a, why in skipped.items()]
    notes.append(
        "kmeans_xp reduced-precision (TF32) mode: not measured (no such option in this "
        "kmeans_xp yet)"
    )

    info = C.env_info(["numpy", "cupy", "torch", "kmeans_xp", "flash_kmeans", "triton"])
    info["devices"] = sorted({getattr(b, "device_name", "?") for b in backends})
    rows: list[dict[str, Any]] = []
    if backends:
        for s in shapes:
            if time.perf_counter() - start > args.budget:
                notes.append(f"{s} skipped: time budget of {args.budget:.0f} s spent")
                continue
            n, d, k = C.parse_workload(s)
            rows += run_shape(n, d, k, backends, args, xp_algos, flash)
            write_outputs(out, info, args, rows, [*notes, "(partial: written after each shape)"])
    else:
        notes.append("no GPU backend usable: nothing measured (skipped)")
    text = write_outputs(out, info, args, rows, notes)
    print(text)
    print(f"wrote {out / 'bench_gpu.md'} ({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
