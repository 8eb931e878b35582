"""Cluster a .npy file larger than memory with MiniBatchKMeans.partial_fit.

The file is opened with ``np.load(path, mmap_mode="r")``: nothing is read
until a block is sliced, and only one block is in memory at a time. Each
block can be moved to any backend (``--backend torch`` sends it to a torch
tensor, on CUDA when available) before ``partial_fit``. At the end, one more
pass over the blocks gives the inertia of the whole file.

Run::

    python examples/stream_minibatch.py --k 8             # a demo file in a temporary folder
    python examples/stream_minibatch.py data.npy --k 8    # your file (a demo is written
                                                          # there if it does not exist)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

from kmeans_xp import MiniBatchKMeans

BACKENDS = ("numpy", "torch", "cupy", "jax")


def write_demo_file(path: Path, n: int, d: int, k: int, seed: int = 0) -> np.ndarray:
    """Write n rows around k centers to ``path`` block by block; return the centers."""
    rs = np.random.RandomState(seed)
    centers = rs.uniform(-20, 20, size=(k, d))
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, d))
    for start in range(0, n, 100_000):
        stop = min(n, start + 100_000)
        labels = rs.randint(0, k, size=stop - start)
        out[start:stop] = centers[labels] + rs.normal(size=(stop - start, d))
    out.flush()
    del out
    return centers


def fail(message: str) -> None:
    """One line on stderr, exit status 2 (as for a usage error)."""
    print(f"stream_minibatch.py: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def check_backend(backend: str) -> str:
    """Import the backend and try its device; one line naming the problem if not."""
    try:
        if backend == "torch":
            import torch

            device = "cuda" if torch.cuda.is_available() else "cpu"
            torch.ones(1, device=device).sum().item()
            return device
        if backend == "cupy":
            import cupy

            cupy.ones(1).sum().item()
            return "cuda"
        if backend == "jax":
            import jax

            return str(jax.devices()[0])
    except ImportError:
        fail(f"backend {backend!r} is not installed (pip install 'kmeans-xp[{backend}]')")
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        fail(f"backend {backend!r} has no usable device: {first}")
    return "cpu"


def to_backend(block: np.ndarray, backend: str):
    """Copy one block (a memmap slice) into memory on the chosen backend."""
    if backend == "numpy":
        return np.array(block)
    if backend == "torch":
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
        return torch.asarray(np.array(block), device=device)
    if backend == "cupy":
        import cupy

        return cupy.asarray(block)
    if backend == "jax":
        import jax.numpy as jnp

        return jnp.asarray(np.array(block))
    raise ValueError(f"unknown backend {backend!r}; expected one of {BACKENDS}")


def stream_fit(
    path: str | Path,
    n_clusters: int,
    *,
    block: int = 65_536,
    epochs: int = 1,
    backend: str = "numpy",
    seed: int = 0,
) -> MiniBatchKMeans:
    """``partial_fit`` over the blocks of a memory-mapped .npy file.

    The blocks are visited in a random order each epoch (rows of a file are
    often sorted, and mini-batch steps want a mixed stream).
    """
    X = np.load(path, mmap_mode="r")
    model = MiniBatchKMeans(n_clusters=n_clusters, random_state=seed)
    starts = np.arange(0, X.shape[0], block)
    order_rng = np.random.RandomState(seed)
    for _ in range(epochs):
        for start in order_rng.permutation(starts):
            model.partial_fit(to_backend(X[start : start + block], backend))
    return model


def file_inertia(model: MiniBatchKMeans, path: str | Path, block: int, backend: str) -> float:
    """The inertia of the whole file: one more pass over its blocks."""
    X = np.load(path, mmap_mode="r")
    return sum(
        -model.score(to_backend(X[start : start + block], backend))
        for start in range(0, X.shape[0], block)
    )


def run(args: argparse.Namespace, path: Path) -> None:
    if not path.exists():
        print(
            f"writing a demo file {path} ({args.demo_rows} x {args.demo_features} float32)",
            file=sys.stderr,
        )
        write_demo_file(path, args.demo_rows, args.demo_features, args.k, args.seed)
    model = stream_fit(
        path, args.k, block=args.block, epochs=args.epochs, backend=args.backend, seed=args.seed
    )
    X = np.load(path, mmap_mode="r")
    print(f"{model.n_steps_} partial_fit steps over {X.shape[0]} rows in blocks of {args.block}")
    centers = np.asarray(model.cluster_centers_.tolist())
    for i, c in enumerate(centers):
        shown = " ".join(f"{v: .3f}" for v in c[:6]) + (" ..." if len(c) > 6 else "")
        print(f"center {i}: {shown}")
    inertia = file_inertia(model, path, args.block, args.backend)
    print(f"inertia over the {X.shape[0]} rows: {inertia:.6g}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument(
        "path",
        nargs="?",
        default=None,
        help=".npy file of shape (n_samples, n_features); written with demo data when it "
        "does not exist; without it, a demo file in a temporary folder, removed at the end",
    )
    p.add_argument("--k", type=int, default=8, help="number of clusters")
    p.add_argument("--block", type=int, default=65_536, help="rows per partial_fit")
    p.add_argument("--epochs", type=int, default=1, help="passes over the file")
    p.add_argument("--backend", default="numpy", choices=BACKENDS, help="array library")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--demo-rows", type=int, default=1_000_000, help="rows of a demo file")
    p.add_argument("--demo-features", type=int, default=16, help="features of a demo file")
    args = p.parse_args(argv)
    for name in ("k", "block", "epochs", "demo_rows", "demo_features"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    check_backend(args.backend)
    if args.path is not None:
        path = Path(args.path)
        if path.suffix != ".npy":
            p.error(f"{path}: expected a .npy file")
        if not path.exists() and not path.parent.is_dir():
            p.error(f"{path}: folder {str(path.parent)!r} does not exist")
        run(args, path)
        return 0
    with tempfile.TemporaryDirectory(prefix="kmeans_xp_stream_") as tmp:
        run(args, Path(tmp) / "demo.npy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
