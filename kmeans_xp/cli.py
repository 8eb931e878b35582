"""Command line: ``kmeans-xp fit``, ``kmeans-xp predict`` and ``kmeans-xp demo``.

Examples::

    kmeans-xp demo                                  # built-in data set, no arguments
    kmeans-xp demo --plot                           # ... and draw it to demo_clusters.png
    kmeans-xp fit data.npy -k 8 --out model.npz --plot clusters.png
    kmeans-xp fit data.csv -k 8 --backend torch --estimator minibatch --seed 1
    kmeans-xp predict model.npz new.csv --out labels.csv

Progress (one line per iteration: inertia, center shift, elapsed) goes to
stderr unless ``--quiet``; results go to stdout. Bad input (a missing file,
unreadable data, a backend that is not installed or has no device, invalid
parameters) ends with exit status 2 and a one-line message.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from . import _backend

ESTIMATORS = ("kmeans", "minibatch", "spherical")
BACKENDS = ("numpy", "torch", "cupy", "jax", "dask")
MAX_PLOT_POINTS = 50_000


class CLIError(Exception):
    """A user error: printed as one line, exit status 2."""


# ----------------------------------------------------------------------------
# data in and out
# ----------------------------------------------------------------------------
def demo_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A built-in data set: 1,500 points in 2-D around 5 known centers."""
    rs = np.random.RandomState(seed)
    centers = np.array([[0.0, 0.0], [6.0, 6.0], [-6.0, 5.0], [5.0, -6.0], [-5.0, -5.0]])
    labels = rs.randint(0, len(centers), size=1500)
    X = centers[labels] + rs.normal(scale=1.0, size=(1500, 2))
    return X, centers


def _read_csv(path: Path) -> np.ndarray:
    with open(path, encoding="utf-8") as fh:
        first = fh.readline()
    if not first.strip():
        raise CLIError(f"{path}: empty file")
    try:
        [float(v) for v in first.strip().split(",")]
        skip = 0
    except ValueError:
        skip = 1  # a header line
    try:
        return np.loadtxt(path, delimiter=",", skiprows=skip, ndmin=2, dtype=np.float64)
    except ValueError as exc:
        raise CLIError(f"{path}: not a numeric CSV file: {exc}") from None


def load_data(path: str | Path) -> np.ndarray:
    """A 2-D array from a .npy or .csv file (a CSV may have one header line)."""
    path = Path(path)
    if not path.exists():
        raise CLIError(f"{path}: no such file")
    if path.is_dir():
        raise CLIError(f"{path}: is a directory, expected a .npy or .csv file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            X = np.load(path, allow_pickle=False)
        elif suffix in (".csv", ".txt"):
            X = _read_csv(path)
        else:
            raise CLIError(f"{path}: unknown file type {suffix!r}; expected .npy or .csv")
    except CLIError:
        raise
    except (OSError, ValueError, UnicodeDecodeError, EOFError) as exc:
        raise CLIError(f"{path}: could not read the data: {exc}") from None
    if not isinstance(X, np.ndarray):
        raise CLIError(f"{path}: expected one array, got {type(X).__name__}")
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2:
        raise CLIError(f"{path}: expected a 2-D array (n_samples, n_features), got shape {X.shape}")
    if X.dtype.kind not in "fiub":
        raise CLIError(f"{path}: expected numbers, got dtype {X.dtype}")
    return X


def save_labels(path: str | Path, labels: np.ndarray) -> None:
    path = Path(path)
    if path.suffix.lower() == ".npy":
        np.save(path, labels)
    else:
        np.savetxt(path, labels, fmt="%d")


# ----------------------------------------------------------------------------
# backends
# ----------------------------------------------------------------------------
def _not_installed(name: str, extra: str) -> CLIError:
    return CLIError(
        f"backend {name!r} is not installed (pip install 'kmeans-xp[{extra}]')"
    )


def to_backend(X: np.ndarray, backend: str, device: str | None) -> tuple[Any, str]:
    """Move host data to ``backend``; returns (array, description of the device)."""
    if backend not in BACKENDS:
        raise CLIError(f"unknown backend {backend!r}; expected one of {list(BACKENDS)}")
    try:
        return _backend.array_for(backend, X, device)
    except ImportError:
        raise _not_installed(backend, backend) from None
    except RuntimeError as exc:
        raise CLIError(str(exc)) from None


def to_host(x: Any) -> np.ndarray:
    from array_api_compat import array_namespace

    if isinstance(x, np.ndarray):
        return x
    return np.asarray(_backend.to_host(array_namespace(x), x))


# ----------------------------------------------------------------------------
# plot
# ----------------------------------------------------------------------------
def check_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise CLIError(
            "--plot needs matplotlib, which is not installed "
            "(pip install 'kmeans-xp[plot]')"
        ) from None


def project_2d(X: np.ndarray, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """2-D data as is; otherwise both projected on the two principal axes of X."""
    d = X.shape[1]
    if d == 2:
        return X, centers, ["feature 0", "feature 1"]
    if d == 1:
        zx, zc = np.zeros((X.shape[0], 1)), np.zeros((centers.shape[0], 1))
        return np.hstack([X, zx]), np.hstack([centers, zc]), ["feature 0", ""]
    mean = X.mean(axis=0)
    _, s, vt = np.linalg.svd(X - mean, full_matrices=False)
    share = s**2 / max(float(np.sum(s**2)), np.finfo(np.float64).tiny)
    axes = vt[:2].T
    names = [f"principal axis {i + 1} ({100 * share[i]:.0f}% of variance)" for i in range(2)]
    return (X - mean) @ axes, (centers - mean) @ axes, names


def plot_clusters(
    path: str | Path,
    X: np.ndarray,
    labels: np.ndarray,
    centers: np.ndarray,
    title: str,
    seed: int = 0,
) -> None:
    """Write a PNG of the samples colored by cluster, with the centers marked.

    Uses matplotlib's Agg canvas directly (no pyplot, no GUI, the global
    backend is left alone). At most 50,000 random samples are drawn.
    """
    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    X = np.asarray(X, dtype=np.float64)
    centers = np.asarray(centers, dtype=np.float64)
    labels = np.asarray(labels)
    if X.shape[0] > MAX_PLOT_POINTS:
        keep = np.random.RandomState(seed).choice(X.shape[0], MAX_PLOT_POINTS, replace=False)
        X, labels = X[keep], labels[keep]
    P, C, names = project_2d(X, centers)
    k = centers.shape[0]
    fig = Figure(figsize=(6.4, 4.8), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    cmap = colormaps["tab10" if k <= 10 else "tab20"]
    colors = cmap(np.arange(k) % cmap.N)
    size = 12 if P.shape[0] <= 5000 else 3
    ax.scatter(P[:, 0], P[:, 1], c=colors[labels], s=size, alpha=0.6, linewidths=0)
    ax.scatter(C[:, 0], C[:, 1], c=colors, marker="X", s=220, edgecolors="black",
               linewidths=1.5, zorder=3)
    ax.scatter([], [], c="white", marker="X", s=120, edgecolors="black", label="centers")
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    ax.set_title(title)
    ax.legend(loc="best")
    fig.tight_layout()
    fig.savefig(path, format="png")


# ----------------------------------------------------------------------------
# commands
# ----------------------------------------------------------------------------
def _make_estimator(args: argparse.Namespace, init: Any) -> Any:
    from . import KMeans, MiniBatchKMeans, SphericalKMeans

    verbose = 0 if args.quiet else 1
    params: dict[str, Any] = dict(n_clusters=args.k, random_state=args.seed, verbose=verbose)
    if init is not None:
        params["init"] = init
    if args.n_init is not None:
        params["n_init"] = args.n_init
    if args.max_iter is not None:
        params["max_iter"] = args.max_iter
    if args.estimator == "minibatch":
        if args.batch_size is not None:
            params["batch_size"] = args.batch_size
        return MiniBatchKMeans(**params)
    if args.estimator == "spherical":
        return SphericalKMeans(**params)
    if args.algorithm is not None:
        params["algorithm"] = args.algorithm
    return KMeans(**params)


def _init_value(value: str | None, backend: str, device: str | None) -> Any:
    """An init name, or initial centers read from a .npy / .csv file."""
    if value is None:
        return None
    if Path(value).suffix.lower() in (".npy", ".csv", ".txt"):
        centers, _ = to_backend(load_data(value), backend, device)
        return centers
    return value


def _summary(model: Any, labels: np.ndarray) -> list[str]:
    centers = to_host(model.cluster_centers_)
    k = centers.shape[0]
    sizes = np.bincount(labels, minlength=k)
    lines = [f"iterations: {model.n_iter_}   inertia: {model.inertia_:.6g}"]
    lines.append("cluster  size  center")
    for i in range(k):
        c = centers[i]
        shown = ", ".join(f"{v: .4g}" for v in c[:6]) + (", ..." if c.shape[0] > 6 else "")
        lines.append(f"{i:7d} {sizes[i]:5d}  ({shown})")
    return lines


def _cmd_fit(args: argparse.Namespace) -> int:
    if args.plot:
        check_matplotlib()
    X_host = load_data(args.data)
    X, where = to_backend(X_host, args.backend, args.device)
    model = _make_estimator(args, _init_value(args.init, args.backend, args.device))
    if not args.quiet:
        print(
            f"fitting {type(model).__name__}(n_clusters={args.k}) on {X_host.shape[0]} x "
            f"{X_host.shape[1]} {X_host.dtype} from {args.data} ({args.backend}, {where})",
            file=sys.stderr,
        )
    model.fit(X)
    labels = to_host(model.labels_).astype(np.int64)
    centers = to_host(model.cluster_centers_)
    print(f"{type(model).__name__}: {X_host.shape[0]} points in {X_host.shape[1]}-D, "
          f"k={args.k} ({args.backend} backend, {where})")
    print("\n".join(_summary(model, labels)))
    if args.out:
        np.savez(
            args.out,
            cluster_centers=centers,
            labels=labels,
            inertia=np.float64(model.inertia_),
            n_iter=np.int64(model.n_iter_),
            estimator=np.str_(args.estimator),
        )
        print(f"wrote {args.out}")
    if args.labels:
        save_labels(args.labels, labels)
        print(f"wrote {args.labels}")
    if args.plot:
        shown = X_host
        if args.estimator == "spherical":
            norms = np.linalg.norm(shown, axis=1, keepdims=True)
            shown = shown / np.where(norms > 0, norms, 1.0)
        plot_clusters(args.plot, shown, labels, centers,
                      f"{type(model).__name__}, k={args.k}: {Path(args.data).name}", args.seed)
        print(f"wrote {args.plot}")
    return 0


def centers_offset(centers: Any) -> Any:
    """The centers' mean when they sit far from the origin, else None."""
    from array_api_compat import array_namespace

    from ._assign import needs_offset

    xp = array_namespace(centers)
    mean = xp.mean(centers, axis=0)
    spread = xp.mean((centers - mean) ** 2, axis=0) if centers.shape[0] > 1 else xp.zeros_like(mean)
    return mean if needs_offset(xp, mean, spread) else None


def load_model(path: str | Path) -> tuple[str, np.ndarray]:
    path = Path(path)
    if not path.exists():
        raise CLIError(f"{path}: no such file")
    try:
        with np.load(path, allow_pickle=False) as f:
            centers = np.asarray(f["cluster_centers"])
            kind = str(f["estimator"]) if "estimator" in f else "kmeans"
    except KeyError:
        raise CLIError(f"{path}: not a model written by 'kmeans-xp fit --out'") from None
    except (OSError, ValueError, EOFError) as exc:
        raise CLIError(f"{path}: could not read the model: {exc}") from None
    if kind not in ESTIMATORS or centers.ndim != 2:
        raise CLIError(f"{path}: not a model written by 'kmeans-xp fit --out'")
    return kind, centers


def _cmd_predict(args: argparse.Namespace) -> int:
    from . import MiniBatchKMeans, SphericalKMeans

    kind, centers_h = load_model(args.model)
    X_host = load_data(args.data)
    if X_host.shape[1] != centers_h.shape[1]:
        raise CLIError(
            f"{args.data} has {X_host.shape[1]} features, but the model in {args.model} "
            f"was fitted with {centers_h.shape[1]}"
        )
    if X_host.dtype.kind != "f":
        X_host = X_host.astype(centers_h.dtype)
    X, _ = to_backend(X_host, args.backend, args.device)
    centers, _ = to_backend(centers_h.astype(X_host.dtype), args.backend, args.device)
    # a fitted estimator from the saved centers: nearest center (Euclidean,
    # KMeans and MiniBatchKMeans) or largest cosine (SphericalKMeans)
    k = int(centers_h.shape[0])
    model: Any = SphericalKMeans(k) if kind == "spherical" else MiniBatchKMeans(k)
    model.cluster_centers_ = centers
    model.n_features_in_ = int(centers_h.shape[1])
    # the frame predict computes in: shifted by the centers' mean (close to the
    # data mean used at fit), so float32 data far from the origin stay accurate
    model._offset = centers_offset(centers)
    labels = to_host(model.predict(X)).astype(np.int64)
    if args.out:
        save_labels(args.out, labels)
        print(f"wrote {args.out} ({labels.shape[0]} labels)", file=sys.stderr)
    else:
        sys.stdout.write("".join(f"{v}\n" for v in labels.tolist()))
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from . import KMeans

    if args.plot:
        check_matplotlib()
    X, true_centers = demo_data(args.seed)
    km = KMeans(n_clusters=5, random_state=args.seed, verbose=0 if args.quiet else 1).fit(X)
    order = np.lexsort(km.cluster_centers_.T[::-1])
    print(f"kmeans_xp demo: {X.shape[0]} points in {X.shape[1]}-D, k=5 (numpy backend)")
    print(f"iterations: {km.n_iter_}   inertia: {km.inertia_:.4f}")
    sizes = np.bincount(km.labels_, minlength=5)
    print("cluster  size  center")
    for i in order:
        c = km.cluster_centers_[i]
        print(f"{i:7d} {sizes[i]:5d}  ({c[0]: .3f}, {c[1]: .3f})")
    if args.plot:
        plot_clusters(args.plot, X, km.labels_, km.cluster_centers_,
                      "kmeans_xp demo: k=5", args.seed)
        print(f"wrote {args.plot}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kmeans-xp",
        description="K-Means on NumPy, CuPy, PyTorch, JAX or Dask arrays.",
        epilog="Run 'kmeans-xp COMMAND --help' for the options of a command.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("fit", help="cluster a .npy or .csv file",
                       description="Cluster the rows of a .npy or .csv file (a CSV may "
                       "have one header line). Progress goes to stderr unless --quiet.")
    p.add_argument("data", help="DATA.npy or DATA.csv: one sample per row")
    p.add_argument("-k", "--n-clusters", dest="k", type=int, required=True,
                   help="number of clusters")
    p.add_argument("--estimator", choices=ESTIMATORS, default="kmeans",
                   help="kmeans (Lloyd and friends), minibatch (MiniBatchKMeans) or "
                   "spherical (cosine similarity); default kmeans")
    p.add_argument("--backend", choices=BACKENDS, default="numpy",
                   help="array library to run on (default numpy)")
    p.add_argument("--device", default=None,
                   help="device for the backend, e.g. cpu, cuda, cuda:1 (default: the "
                   "backend's default; torch uses cuda when available)")
    p.add_argument("--init", default=None,
                   help="k-means++, random (and k-means|| for kmeans), or a .npy/.csv "
                   "file of initial centers")
    p.add_argument("--algorithm", default=None,
                   help="KMeans algorithm (lloyd, elkan, hamerly, auto); kmeans only")
    p.add_argument("--n-init", type=int, default=None)
    p.add_argument("--max-iter", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=None, help="minibatch only")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", default=None, metavar="RESULT.npz",
                   help="save centers, labels, inertia and n_iter (input of 'predict')")
    p.add_argument("--labels", default=None, metavar="LABELS.{npy,csv}",
                   help="save the label of every row")
    p.add_argument("--plot", default=None, metavar="CLUSTERS.png",
                   help="draw the clusters (2-D data as is, else on two principal axes)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    p.set_defaults(func=_cmd_fit)

    p = sub.add_parser("predict", help="label new data with a model saved by 'fit --out'")
    p.add_argument("model", help="RESULT.npz written by 'kmeans-xp fit --out'")
    p.add_argument("data", help="DATA.npy or DATA.csv")
    p.add_argument("--backend", choices=[b for b in BACKENDS if b != "dask"], default="numpy")
    p.add_argument("--device", default=None)
    p.add_argument("--out", default=None, metavar="LABELS.{npy,csv}",
                   help="write the labels there (default: one per line on stdout)")
    p.set_defaults(func=_cmd_predict)

    p = sub.add_parser("demo", help="cluster a built-in data set and print the result")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plot", nargs="?", const="demo_clusters.png", default=None,
                   metavar="CLUSTERS.png", help="draw the clusters (default file "
                   "demo_clusters.png)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    p.set_defaults(func=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``kmeans-xp`` script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except CLIError as exc:
        print(f"kmeans-xp {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, TypeError) as exc:
        # invalid parameters or data, as reported by the estimators
        # (KMEANS_XP_TRACEBACK=1 shows the traceback instead)
        if os.environ.get("KMEANS_XP_TRACEBACK"):
            raise
        print(f"kmeans-xp {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # pragma: no cover
        print("kmeans-xp: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
