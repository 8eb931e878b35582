"""Cluster a .npy file larger than memory with MiniBatchKMeans.partial_fit.

The file is opened with ``np.load(path, mmap_mode="r")``: nothing is read
until a block is sliced, and only one block is in memory at a time. Each
block can be moved to any backend (``--backend torch`` sends it to a torch
tensor, on CUDA when available) before ``partial_fit``.

Run (writes a demo file first when PATH does not exist)::

    python examples/stream_minibatch.py data.npy --k 8 --block 65536
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from kmeans_xp import MiniBatchKMeans


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
    raise ValueError(f"unknown backend {backend!r}")


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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("path", help=".npy file of shape (n_samples, n_features)")
    p.add_argument("--k", type=int, default=8)
    p.add_argument("--block", type=int, default=65_536)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--backend", default="numpy", choices=["numpy", "torch", "cupy", "jax"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--demo-rows", type=int, default=1_000_000,
                   help="rows of the demo file written when PATH does not exist")
    p.add_argument("--demo-features", type=int, default=16)
    args = p.parse_args(argv)
    path = Path(args.path)
    if not path.exists():
        print(f"writing a demo file {path} ({args.demo_rows} x {args.demo_features})",
              file=sys.stderr)
        write_demo_file(path, args.demo_rows, args.demo_features, args.k, args.seed)
    model = stream_fit(path, args.k, block=args.block, epochs=args.epochs,
                       backend=args.backend, seed=args.seed)
    X = np.load(path, mmap_mode="r")
    print(f"{model.n_steps_} partial_fit steps over {X.shape[0]} rows in blocks of {args.block}")
    centers = np.asarray(model.cluster_centers_.tolist())
    for i, c in enumerate(centers):
        print(f"center {i}: " + " ".join(f"{v: .3f}" for v in c[:6]) + (" ..." if len(c) > 6 else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
