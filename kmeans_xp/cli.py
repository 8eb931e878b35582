"""Command line: ``kmeans-xp demo``."""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

import numpy as np


def demo_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A built-in data set: 1,500 points in 2-D around 5 known centers."""
    rs = np.random.RandomState(seed)
    centers = np.array([[0.0, 0.0], [6.0, 6.0], [-6.0, 5.0], [5.0, -6.0], [-5.0, -5.0]])
    labels = rs.randint(0, len(centers), size=1500)
    X = centers[labels] + rs.normal(scale=1.0, size=(1500, 2))
    return X, centers


def _cmd_demo(args: argparse.Namespace) -> int:
    from . import KMeans

    X, true_centers = demo_data(args.seed)
    km = KMeans(n_clusters=5, random_state=args.seed).fit(X)
    order = np.lexsort(km.cluster_centers_.T[::-1])
    print(f"kmeans_xp demo: {X.shape[0]} points in {X.shape[1]}-D, k=5 (numpy backend)")
    print(f"iterations: {km.n_iter_}   inertia: {km.inertia_:.4f}")
    sizes = np.bincount(km.labels_, minlength=5)
    print("cluster  size  center")
    for i in order:
        c = km.cluster_centers_[i]
        print(f"{i:7d} {sizes[i]:5d}  ({c[0]: .3f}, {c[1]: .3f})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kmeans-xp", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="cluster a built-in data set and print the result")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
