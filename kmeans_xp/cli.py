"""Command line: ``kmeans-xp fit``, ``kmeans-xp predict`` and ``kmeans-xp demo``.

Examples::

    kmeans-xp demo                                  # built-in data set, no arguments
    kmeans-xp demo --plot                           # ... and draw it to demo_clusters.png
    kmeans-xp fit data.npy -k 8 --out model.npz --plot clusters.png
    kmeans-xp fit data.csv -k 8 --backend torch --estimator minibatch --seed 1
    kmeans-xp predict model.npz new.csv --out labels.csv

Progress (loading, seeding, one line per iteration, the end of each run) goes
to stderr unless ``--quiet``; results go to stdout. A user error (a missing
file, unreadable data, an output path that cannot be written, a backend that is
not installed or has no such device, an option that does not apply, invalid
parameters) prints one line and exits with status 2, before any work is done.

The CLI is an application: unlike the library, it imports the array libraries
itself (``--backend``) to build the input arrays.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import sys
import warnings
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

ESTIMATORS = ("kmeans", "minibatch", "spherical")
BACKENDS = ("numpy", "torch", "cupy", "jax", "dask")
ALGORITHMS = ("lloyd", "hamerly", "elkan", "auto")
INIT_NAMES = ("k-means++", "k-means||", "random")
DATA_SUFFIXES = (".npy", ".csv", ".txt")
LABEL_SUFFIXES = (".npy", ".csv", ".txt")
MODEL_SUFFIXES = (".npz",)
PLOT_SUFFIXES = (".png", ".svg", ".pdf")
MAX_PLOT_POINTS = 50_000
# significant digits of the printed centers, relative to each feature's scale
SUMMARY_DIGITS = 5
SUMMARY_FEATURES = 6


class CLIError(Exception):
    """A user error: printed as one line, exit status 2."""


def _progress(args: argparse.Namespace, message: str) -> None:
    if not getattr(args, "quiet", False):
        print(message, file=sys.stderr, flush=True)


def _first_line(exc: BaseException, limit: int = 200) -> str:
    """The first line of an exception's message, cut to ``limit`` characters."""
    text = str(exc).strip().splitlines()
    line = text[0].strip() if text else type(exc).__name__
    return line if len(line) <= limit else line[: limit - 3] + "..."


# ----------------------------------------------------------------------------
# argument types
# ----------------------------------------------------------------------------
def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(
            f"expected an integer between 0 and 2**32 - 1, got {text!r}"
        )
    return value


def _n_init(text: str) -> int | str:
    if text == "auto":
        return "auto"
    try:
        return _positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected 'auto' or a positive integer, got {text!r}"
        ) from None


# ----------------------------------------------------------------------------
# paths
# ----------------------------------------------------------------------------
def check_output(
    path: str | None, option: str, suffixes: Sequence[str], inputs: Sequence[str | None] = ()
) -> None:
    """An output path that can be written exactly as given, checked before any work."""
    if path is None:
        return
    p = Path(path)
    if p.suffix.lower() not in suffixes:
        shown = ", ".join(suffixes)
        raise CLIError(
            f"{option} {path}: unsupported file type {p.suffix or '(no extension)'!r}; "
            f"use one of {shown} (e.g. {p.with_suffix(suffixes[0]).name})"
        )
    if p.is_dir():
        raise CLIError(f"{option} {path}: is a directory; give a file name")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise CLIError(f"{option} {path}: folder {str(parent)!r} does not exist; create it first")
    if not os.access(parent, os.W_OK):
        raise CLIError(f"{option} {path}: folder {str(parent)!r} is not writable")
    for other in inputs:
        if other is not None and Path(other).exists() and p.exists() and os.path.samefile(other, p):
            raise CLIError(f"{option} {path} would overwrite the input file {other}")


def check_input(path: str, what: str = "") -> Path:
    p = Path(path)
    if not p.exists():
        raise CLIError(f"{path}: no such file")
    if p.is_dir():
        raise CLIError(f"{path}: is a directory, expected {what or 'a .npy or .csv file'}")
    return p


def check_data_file(path: str | Path) -> Path:
    """An existing .npy, .csv or .txt file."""
    p = check_input(str(path))
    suffix = p.suffix.lower()
    if suffix == ".npz":
        raise CLIError(f"{p}: a .npz archive (a model?); expected data in a .npy or .csv file")
    if suffix not in DATA_SUFFIXES:
        raise CLIError(f"{p}: unknown file type {suffix!r}; expected .npy or .csv")
    return p


def _describe(path: Path) -> str:
    """'x.npy (1000 x 16 float32, 64.0 kB)' without reading the data."""
    size = path.stat().st_size
    units = ("B", "kB", "MB", "GB", "TB")
    i = min(int(math.log(max(size, 1), 1000)), len(units) - 1)
    shown = f"{size / 1000**i:.1f} {units[i]}" if i else f"{size} B"
    if path.suffix.lower() == ".npy":
        try:
            with open(path, "rb") as fh:
                major, _ = np.lib.format.read_magic(fh)
                read = (
                    np.lib.format.read_array_header_1_0
                    if major == 1
                    else np.lib.format.read_array_header_2_0
                )
                shape, _, dtype = read(fh)
            dims = " x ".join(str(s) for s in shape)
            return f"{path.name} ({dims} {dtype}, {shown})"
        except Exception:
            pass
    return f"{path.name} ({shown})"


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


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _sniff_delimiter(line: str) -> str | None:
    """',' (or ';' or a tab when the line has no comma); None: runs of spaces."""
    for delim in (",", ";", "\t"):
        if delim in line:
            return delim
    return None


def _csv_rows(path: Path, delimiter: str | None) -> Any:
    """(file line number, fields) of each non-blank, non-comment line."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        if delimiter is None:
            for number, line in enumerate(fh, start=1):
                text = line.split("#", 1)[0]
                if text.strip():
                    yield number, text.split()
            return
        reader = csv.reader(fh, delimiter=delimiter, skipinitialspace=True)
        start = 1
        for fields in reader:
            number, start = start, reader.line_num + 1
            if not fields or all(not f.strip() for f in fields):
                continue
            if fields[0].lstrip().startswith("#"):
                continue
            yield number, fields


def _csv_slow(path: Path, delimiter: str | None, skip_first: bool) -> np.ndarray:
    """Read a CSV file np.loadtxt refused, through the ``csv`` module (quoted
    values, spaces after the delimiter), or name its first problem with 1-based
    file line and column numbers."""
    width, width_line = None, 0
    rows = _csv_rows(path, delimiter)
    if skip_first:
        next(rows, None)
    blocks: list[np.ndarray] = []
    block: list[list[float]] = []
    for number, fields in rows:
        if width is None:
            width, width_line = len(fields), number
        elif len(fields) != width:
            raise CLIError(
                f"{path}: line {number} has {len(fields)} values but line {width_line} has "
                f"{width}; every row needs one value per column"
            )
        values = []
        for column, field in enumerate(fields, start=1):
            text = field.strip()
            if not text:
                hint = ""
                if width_line == number and column == 1:
                    # pandas' to_csv writes its index as a first column named ""
                    hint = " (a header with an unnamed index column? write it with index=False)"
                raise CLIError(f"{path}: missing value at line {number}, column {column}{hint}")
            try:
                values.append(float(text))
            except ValueError:
                raise CLIError(
                    f"{path}: line {number}, column {column}: {text!r} is not a number"
                ) from None
        block.append(values)
        if len(block) == 65_536:
            blocks.append(np.array(block, dtype=np.float64))
            block = []
    if block:
        blocks.append(np.array(block, dtype=np.float64))
    if not blocks:
        return np.zeros((0, width or 0))
    return np.concatenate(blocks)


def _read_csv(path: Path) -> np.ndarray:
    first_number, first = 0, None
    with open(path, encoding="utf-8-sig") as fh:
        for number, line in enumerate(fh, start=1):
            if line.strip() and not line.lstrip().startswith("#"):
                first_number, first = number, line
                break
    if first is None:
        raise CLIError(f"{path}: empty file")
    delimiter = _sniff_delimiter(first)
    _, fields = next(_csv_rows(path, delimiter))
    # a header line: a first line with no number in it
    header = not any(_is_number(f.strip()) for f in fields)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "input contained no data": reported below
            X = np.loadtxt(
                path,
                delimiter=delimiter,
                skiprows=first_number if header else 0,
                ndmin=2,
                dtype=np.float64,
                quotechar='"',
                comments="#",
                encoding="utf-8-sig",
            )
    except ValueError:
        # np.loadtxt is fast, but refuses "1", "2" and counts rows from 0 after the
        # header in its messages: a second, slow pass reads the file or names its
        # first problem by file line
        X = _csv_slow(path, delimiter, header)
    if X.shape[0] == 0:
        raise CLIError(f"{path}: no data rows after the header line")
    if (
        header
        and not fields[0].strip()
        and X.shape[1] > 1
        and np.array_equal(X[:, 0], np.arange(X.shape[0]))
    ):
        warnings.warn(
            f"{path}: the first column, unnamed in the header, counts 0, 1, 2, ...: a row "
            "index (pandas' to_csv)? It is clustered as a feature; write the file with "
            "index=False to leave it out",
            UserWarning,
            stacklevel=2,
        )
    return X


def load_data(path: str | Path) -> np.ndarray:
    """A 2-D array from a .npy or .csv file (a CSV may have one header line)."""
    path = check_data_file(path)
    try:
        X = np.load(path, allow_pickle=False) if path.suffix.lower() == ".npy" else _read_csv(path)
    except CLIError:
        raise
    except (OSError, ValueError, UnicodeDecodeError, EOFError) as exc:
        raise CLIError(f"{path}: could not read the data: {_first_line(exc)}") from None
    if not isinstance(X, np.ndarray):
        raise CLIError(f"{path}: expected one array, got {type(X).__name__}")
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2:
        raise CLIError(f"{path}: expected a 2-D array (n_samples, n_features), got shape {X.shape}")
    if X.dtype.kind not in "fiub":
        raise CLIError(f"{path}: expected numbers, got dtype {X.dtype}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise CLIError(f"{path}: no data (shape {X.shape})")
    return X


def save_labels(path: str | Path, labels: np.ndarray) -> None:
    """Labels to exactly ``path``: .npy, or one label per line for .csv/.txt."""
    path = Path(path)
    with open(path, "wb") as fh:
        if path.suffix.lower() == ".npy":
            np.save(fh, labels)
        else:
            np.savetxt(fh, labels, fmt="%d")


def save_model(path: str | Path, **arrays: Any) -> None:
    """An .npz archive at exactly ``path`` (np.savez given a name appends .npz)."""
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


def load_model(path: str | Path) -> tuple[str, np.ndarray]:
    p = check_input(str(path), "a model .npz written by 'kmeans-xp fit --out'")
    hint = "give the .npz written by 'kmeans-xp fit --out'"
    with open(p, "rb") as fh:
        magic = fh.read(6)
    if magic == b"\x93NUMPY":
        raise CLIError(f"{path}: a .npy array, not a model; {hint}")
    if not magic.startswith(b"PK"):
        raise CLIError(f"{path}: not a model (not an .npz archive); {hint}")
    try:
        with np.load(p, allow_pickle=False) as f:
            if "cluster_centers" not in f:
                raise CLIError(
                    f"{path}: not a model written by 'kmeans-xp fit --out' (no cluster_centers)"
                )
            centers = np.asarray(f["cluster_centers"])
            kind = str(f["estimator"]) if "estimator" in f else "kmeans"
    except CLIError:
        raise
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        raise CLIError(f"{path}: could not read the model: {_first_line(exc)}") from None
    if kind not in ESTIMATORS or centers.ndim != 2 or centers.dtype.kind != "f":
        raise CLIError(f"{path}: not a model written by 'kmeans-xp fit --out'")
    return kind, centers


# ----------------------------------------------------------------------------
# backends: the CLI builds the arrays (the library only receives them)
# ----------------------------------------------------------------------------
def _not_installed(name: str) -> CLIError:
    return CLIError(f"backend {name!r} is not installed (pip install 'kmeans-xp[{name}]')")


def check_device_option(backend: str, device: str | None) -> None:
    """--device applies to torch, cupy and jax; numpy and dask run on the CPU."""
    if device is None or backend not in ("numpy", "dask"):
        return
    if device.strip().lower() != "cpu":
        raise CLIError(
            f"--device {device} does not apply to --backend {backend}, which runs on the CPU "
            "only; use --backend torch, cupy or jax for a GPU"
        )


def import_backend(backend: str) -> Any:
    """Import the array library of ``backend`` (a clear error when missing)."""
    if backend not in BACKENDS:
        raise CLIError(f"unknown backend {backend!r}; expected one of {list(BACKENDS)}")
    names = {"numpy": "numpy", "torch": "torch", "cupy": "cupy", "jax": "jax", "dask": "dask.array"}
    try:
        import importlib

        return importlib.import_module(names[backend])
    except ImportError:
        raise _not_installed(backend) from None


def _torch_device(torch: Any, name: str) -> Any:
    try:
        dev = torch.device(name)
    except (RuntimeError, ValueError) as exc:
        raise CLIError(f"backend 'torch': invalid device {name!r}: {_first_line(exc)}") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
            raise CLIError(
                f"backend 'torch' has no usable device {name!r}: no CUDA device is available "
                f"(torch {torch.__version__}, {build}); use --device cpu"
            )
        count = torch.cuda.device_count()
        if dev.index is not None and dev.index >= count:
            raise CLIError(
                f"backend 'torch' has no usable device {name!r}: {count} CUDA device(s), "
                f"cuda:0 to cuda:{count - 1}"
            )
    return dev


def probe_backend(backend: str, device: str | None) -> None:
    """Import the backend and try its device on a tiny array, before any work."""
    to_backend(np.zeros((1, 1), dtype=np.float32), backend, device)


def to_backend(X: np.ndarray, backend: str, device: str | None) -> tuple[Any, str]:
    """Host data as an array of ``backend`` on ``device`` (the library's default
    when None), after a probe that the device works. Returns (array, device)."""
    check_device_option(backend, device)
    lib = import_backend(backend)
    if backend == "numpy":
        return X, "cpu"
    if backend == "torch":
        torch = lib
        name = device or ("cuda" if torch.cuda.is_available() else "cpu")
        dev = _torch_device(torch, name)
        try:
            out = torch.asarray(X, device=dev)
            out.sum().item()
        except Exception as exc:
            raise CLIError(
                f"backend 'torch' has no usable device {name!r}: {_first_line(exc)}"
            ) from None
        return out, str(dev)
    if backend == "cupy":
        cupy = lib
        spec = (device or "cuda:0").lower()
        index = (
            spec.rsplit(":", 1)[-1] if ":" in spec else ("0" if spec in ("cuda", "gpu") else spec)
        )
        if not index.isdigit():
            raise CLIError(f"backend 'cupy': invalid device {device!r}; use cuda, cuda:N or N")
        try:
            with cupy.cuda.Device(int(index)):
                out = cupy.asarray(X)
                out.sum().item()
        except Exception as exc:
            raise CLIError(
                f"backend 'cupy' has no usable GPU {spec!r}: {_first_line(exc)}"
            ) from None
        return out, f"cuda:{index}"
    if backend == "jax":
        import jax

        if X.dtype == np.float64:
            # The CLI is the application, so it may set JAX's global flag (the library
            # never does): without x64, JAX would silently truncate float64 data to
            # float32. float32 data run without it.
            jax.config.update("jax_enable_x64", True)
        platform, _, index = (device or "").partition(":")
        try:
            devices = jax.devices(platform) if platform else jax.devices()
        except Exception as exc:
            raise CLIError(
                f"backend 'jax' has no usable device {device!r}: {_first_line(exc)}"
            ) from None
        i = int(index) if index.isdigit() else 0
        if (index and not index.isdigit()) or i >= len(devices):
            raise CLIError(
                f"backend 'jax' has no usable device {device!r}: {len(devices)} "
                f"{platform or 'default'} device(s), index 0 to {len(devices) - 1}"
            )
        try:
            out = jax.device_put(X, devices[i])
        except Exception as exc:
            raise CLIError(
                f"backend 'jax' has no usable device {device!r}: {_first_line(exc)}"
            ) from None
        return out, str(devices[i])
    # dask: row blocks of NumPy arrays, the local (threaded) scheduler
    rows = max(1, -(-X.shape[0] // 8))
    return lib.from_array(X, chunks=(rows, X.shape[1])), "cpu, local scheduler"


def to_host(x: Any) -> np.ndarray:
    """Any backend's array as a NumPy array."""
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "compute"):  # dask
        return np.asarray(x.compute())
    if hasattr(x, "detach"):  # torch
        return x.detach().cpu().numpy()
    if hasattr(x, "get") and type(x).__module__.startswith("cupy"):
        return x.get()
    return np.asarray(x)


# ----------------------------------------------------------------------------
# summary
# ----------------------------------------------------------------------------
def format_values(values: np.ndarray, scale: np.ndarray, digits: int = SUMMARY_DIGITS) -> list[str]:
    """Each value rounded to ``digits`` significant digits of its feature's scale
    (the largest absolute value of that feature in the data), so rounding noise
    such as -2.22e-16 next to values near 1 prints as 0."""
    out = []
    for v, s in zip(
        np.asarray(values, dtype=np.float64), np.asarray(scale, dtype=np.float64), strict=True
    ):
        if not math.isfinite(v):
            out.append(str(v))
            continue
        ref = s if math.isfinite(s) and s > 0 else abs(v)
        decimals = digits - 1 - math.floor(math.log10(ref)) if ref > 0 else 0
        r = round(float(v), decimals)
        text = f"{r:.{max(decimals, 0)}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        if float(text) == 0:
            text = "0"
        out.append(text)
    return out


def summary_lines(
    centers: np.ndarray, labels: np.ndarray, scale: np.ndarray, n_iter: int, inertia: float
) -> list[str]:
    """iterations and inertia, then one line per cluster in cluster-number order
    (the numbers of the labels and of the plot's legend)."""
    k, d = centers.shape
    sizes = np.bincount(labels, minlength=k)
    shown = min(d, SUMMARY_FEATURES)
    cells = [format_values(centers[i, :shown], scale[:shown]) for i in range(k)]
    widths = [max(len(row[j]) for row in cells) for j in range(shown)]
    size_w = max(4, len(str(int(sizes.max(initial=0)))))
    head = "center" if d <= shown else f"center (first {shown} of {d} features)"
    lines = [
        f"iterations: {n_iter}   inertia: {float(inertia):.6g}",
        f"cluster  {'size':>{size_w}}  {head}",
    ]
    for i in range(k):
        values = ", ".join(c.rjust(w) for c, w in zip(cells[i], widths, strict=True))
        more = ", ..." if d > shown else ""
        lines.append(f"{i:7d}  {sizes[i]:{size_w}d}  ({values}{more})")
    return lines


def feature_scale(X: np.ndarray) -> np.ndarray:
    return np.max(np.abs(X), axis=0) if X.shape[0] else np.zeros(X.shape[1])


# ----------------------------------------------------------------------------
# plot
# ----------------------------------------------------------------------------
MARKERS = ("o", "s", "^", "D", "v", "P", "*", "X", "<", ">")


def check_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise CLIError(
            "--plot needs matplotlib, which is not installed (pip install 'kmeans-xp[plot]')"
        ) from None


# Ten colors after tab10's, for k = 11..20: picked greedily from matplotlib's
# tab20, tab20b, tab20c, Dark2, Set1, Set2 and Accent (none too light on white),
# each the farthest in RGB from those already taken. The closest two of the 20
# are 0.24 apart in RGB (tab20's closest two: 0.10, light blue and light cyan).
EXTRA_COLORS = (
    "#9edae5", "#ffbb78", "#f0027f", "#98df8a", "#393b79",
    "#d6616b", "#1b9e77", "#6baed6", "#c49c94", "#a6761d",
)  # fmt: skip


def cluster_styles(k: int) -> tuple[np.ndarray, list[str]]:
    """(k x 4 RGBA colors, k markers): 20 distinct colors (tab10, then
    EXTRA_COLORS); beyond 20 the colors repeat with another marker for each
    further 20 clusters."""
    from matplotlib import colormaps
    from matplotlib.colors import to_rgba_array

    palette = colormaps["tab10"](np.arange(10))
    if k > 10:
        palette = np.concatenate([palette, to_rgba_array(EXTRA_COLORS)])
    n = palette.shape[0]
    colors = palette[np.arange(k) % n]
    markers = [MARKERS[(i // n) % len(MARKERS)] for i in range(k)]
    return colors, markers


def project_2d(X: np.ndarray, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """2-D data as is; otherwise both projected on the two principal axes of X."""
    d = X.shape[1]
    if d == 2:
        return X, centers, ["feature 0", "feature 1"]
    mean = X.mean(axis=0)
    _, s, vt = np.linalg.svd(X - mean, full_matrices=False)
    share = s**2 / max(float(np.sum(s**2)), np.finfo(np.float64).tiny)
    axes = vt[:2].T
    names = [f"principal axis {i + 1} ({100 * share[i]:.0f}% of variance)" for i in range(2)]
    return (X - mean) @ axes, (centers - mean) @ axes, names


def draw_clusters(
    X: np.ndarray, labels: np.ndarray, centers: np.ndarray, title: str, seed: int = 0
) -> Any:
    """A matplotlib Figure of the samples colored by cluster, the centers marked
    with their cluster numbers, and a legend "cluster (size)" keyed to the
    summary. 1-D data: a stacked histogram per cluster with the centers as
    vertical lines; 2-D as is; more dimensions on the two principal axes.

    Uses matplotlib's Agg canvas directly (no pyplot, no GUI, the global
    backend is left alone). At most 50,000 random samples are drawn.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    X = np.asarray(X, dtype=np.float64)
    centers = np.asarray(centers, dtype=np.float64)
    labels = np.asarray(labels)
    k = centers.shape[0]
    sizes = np.bincount(labels, minlength=k)
    if X.shape[0] > MAX_PLOT_POINTS:
        keep = np.random.RandomState(seed).choice(X.shape[0], MAX_PLOT_POINTS, replace=False)
        X, labels = X[keep], labels[keep]
    colors, markers = cluster_styles(k)
    legend = k <= 20
    fig = Figure(figsize=(8.0 if legend else 6.4, 4.8), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    names = [f"{i} ({sizes[i]})" for i in range(k)]
    if X.shape[1] == 1:
        x = X[:, 0]
        bins = np.histogram_bin_edges(x, bins=min(60, max(10, int(np.sqrt(x.shape[0])))))
        ax.hist(
            [x[labels == i] for i in range(k)],
            bins=bins.tolist(),
            stacked=True,
            color=[tuple(c) for c in colors],
            label=names,
        )
        # each center a dashed line, numbered at the top inside the axes
        along_top = ax.get_xaxis_transform()  # x in data, y in axes fractions
        for i in range(k):
            ax.axvline(centers[i, 0], color="black", linewidth=1.0, linestyle="--")
            ax.annotate(
                str(i),
                (centers[i, 0], 1.0),
                xycoords=along_top,
                textcoords="offset points",
                xytext=(3, -3),
                ha="left",
                va="top",
                fontsize=9,
                fontweight="bold",
            )
        ax.set_xlabel("feature 0")
        ax.set_ylabel("number of samples")
    else:
        P, C, axis_names = project_2d(X, centers)
        size = 12 if P.shape[0] <= 5000 else 3
        for i in range(k):
            mine = labels == i
            ax.scatter(
                P[mine, 0],
                P[mine, 1],
                color=colors[i],
                marker=markers[i],
                s=size,
                alpha=0.6,
                linewidths=0,
                label=names[i],
            )
        for i in range(k):
            ax.scatter(
                C[i, 0],
                C[i, 1],
                color=colors[i],
                marker="X",
                s=160,
                edgecolors="black",
                linewidths=1.2,
                zorder=3,
            )
            ax.annotate(
                str(i),
                (C[i, 0], C[i, 1]),
                textcoords="offset points",
                xytext=(7, 5),
                fontsize=9,
                fontweight="bold",
                zorder=4,
                bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.7),
            )
        ax.set_xlabel(axis_names[0])
        ax.set_ylabel(axis_names[1])
    if legend:
        leg = ax.legend(
            title="cluster (size)",
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            fontsize=8,
            title_fontsize=8,
            markerscale=2.0 if X.shape[1] > 1 else 1.0,
            ncol=1 if k <= 12 else 2,
            borderaxespad=0.0,
        )
        for handle in getattr(leg, "legend_handles", []):
            if hasattr(handle, "set_alpha"):
                handle.set_alpha(1.0)
    else:
        title += " (centers labelled with their cluster numbers)"
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_clusters(
    path: str | Path,
    X: np.ndarray,
    labels: np.ndarray,
    centers: np.ndarray,
    title: str,
    seed: int = 0,
) -> None:
    """Draw the clusters to ``path``, in the format of its extension (png, svg, pdf)."""
    fig = draw_clusters(X, labels, centers, title, seed)
    fmt = Path(path).suffix.lower().lstrip(".")
    with open(path, "wb") as fh:
        fig.savefig(fh, format=fmt)


# ----------------------------------------------------------------------------
# commands
# ----------------------------------------------------------------------------
def _check_fit_options(args: argparse.Namespace) -> None:
    """Refuse options that do not apply, before any work."""
    if args.batch_size is not None and args.estimator != "minibatch":
        raise CLIError(f"--batch-size applies to --estimator minibatch only, not {args.estimator}")
    if args.algorithm is not None and args.estimator != "kmeans":
        raise CLIError(
            f"--algorithm applies to --estimator kmeans only; {args.estimator} has a single "
            "algorithm"
        )
    if args.backend == "dask" and args.estimator != "kmeans":
        raise CLIError(
            f"--estimator {args.estimator} needs an in-memory backend; with --backend dask "
            "use --estimator kmeans"
        )
    check_device_option(args.backend, args.device)
    if args.init is not None and not _is_init_file(args.init) and args.init not in INIT_NAMES:
        raise CLIError(
            f"unknown --init {args.init!r}; expected one of {', '.join(INIT_NAMES)}, or a "
            ".npy/.csv file of initial centers"
        )


def _make_estimator(args: argparse.Namespace, init: Any) -> Any:
    from . import KMeans, MiniBatchKMeans, SphericalKMeans

    verbose = 0 if args.quiet else 1
    params: dict[str, Any] = dict(
        n_clusters=args.k,
        random_state=args.seed,
        verbose=verbose,
        n_init=args.n_init,
        chunk_bytes=args.chunk_bytes,
    )
    if init is not None:
        params["init"] = init
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


def _is_init_file(value: str | None) -> bool:
    return value is not None and Path(value).suffix.lower() in DATA_SUFFIXES


def _init_value(value: str | None, X_host: np.ndarray, backend: str, device: str | None) -> Any:
    """An init name, or initial centers read from a .npy / .csv file."""
    if not _is_init_file(value):
        return value
    assert value is not None
    centers = load_data(value)
    if centers.shape[1] != X_host.shape[1]:
        raise CLIError(
            f"--init {value}: the centers have {centers.shape[1]} features, the data "
            f"{X_host.shape[1]}"
        )
    if X_host.dtype.kind == "f":
        centers = centers.astype(X_host.dtype)
    if backend == "dask":
        return centers  # a NumPy init with Dask data (the centers live on the client)
    return to_backend(centers, backend, device)[0]


def _cmd_fit(args: argparse.Namespace) -> int:
    # every check before any work: options, output paths, input files, backend
    _check_fit_options(args)
    check_output(args.out, "--out", MODEL_SUFFIXES, [args.data])
    check_output(args.labels, "--labels", LABEL_SUFFIXES, [args.data])
    check_output(args.plot, "--plot", PLOT_SUFFIXES, [args.data])
    outputs = [p for p in (args.out, args.labels, args.plot) if p]
    if len({os.path.abspath(p) for p in outputs}) != len(outputs):
        raise CLIError("--out, --labels and --plot must name different files")
    if args.plot:
        check_matplotlib()
    data = check_data_file(args.data)
    if _is_init_file(args.init):
        check_data_file(args.init)
    if args.backend != "numpy":
        _progress(args, f"starting {args.backend} ...")  # importing torch or JAX takes seconds
    probe_backend(args.backend, args.device)

    _progress(args, f"loading {_describe(data)} ...")
    X_host = load_data(data)
    X, where = to_backend(X_host, args.backend, args.device)
    model = _make_estimator(args, _init_value(args.init, X_host, args.backend, args.device))
    name = type(model).__name__
    note = " (the first iterations compile, expect a pause)" if args.backend == "jax" else ""
    _progress(
        args,
        f"fitting {name}(n_clusters={args.k}) on {X_host.shape[0]} x "
        f"{X_host.shape[1]} {X_host.dtype} ({args.backend} backend, {where}){note} ...",
    )
    model.fit(X)
    labels = to_host(model.labels_).astype(np.int64)
    centers = to_host(model.cluster_centers_)
    shown = X_host
    if args.estimator == "spherical":
        norms = np.linalg.norm(shown, axis=1, keepdims=True)
        shown = shown / np.where(norms > 0, norms, 1.0)

    # write the files first: a reader that stops early (| head) loses no result
    written = []
    if args.out:
        save_model(
            args.out,
            cluster_centers=centers,
            labels=labels,
            inertia=np.float64(model.inertia_),
            n_iter=np.int64(model.n_iter_),
            estimator=np.str_(args.estimator),
        )
        written.append(args.out)
    if args.labels:
        save_labels(args.labels, labels)
        written.append(args.labels)
    if args.plot:
        plot_clusters(
            args.plot,
            shown,
            labels,
            centers,
            f"{name}, k={args.k}: {Path(args.data).name}",
            args.seed,
        )
        written.append(args.plot)

    print(
        f"{name}: {X_host.shape[0]} points in {X_host.shape[1]}-D, "
        f"k={args.k} ({args.backend} backend, {where})"
    )
    print(
        "\n".join(
            summary_lines(centers, labels, feature_scale(shown), model.n_iter_, model.inertia_)
        )
    )
    for path in written:
        print(f"wrote {path}")
    return 0


def centers_offset(centers: Any) -> Any:
    """The centers' mean when they sit far from the origin, else None."""
    from array_api_compat import array_namespace

    from ._assign import needs_offset

    xp = array_namespace(centers)
    mean = xp.mean(centers, axis=0)
    spread = xp.mean((centers - mean) ** 2, axis=0) if centers.shape[0] > 1 else xp.zeros_like(mean)
    return mean if needs_offset(xp, mean, spread) else None


def _cmd_predict(args: argparse.Namespace) -> int:
    from . import MiniBatchKMeans, SphericalKMeans
    from ._backend import small_namespace
    from ._validation import get_namespace

    check_device_option(args.backend, args.device)
    check_output(args.out, "--out", LABEL_SUFFIXES, [args.data, args.model])
    check_data_file(args.data)
    probe_backend(args.backend, args.device)
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
    model: Any = (
        SphericalKMeans(k, chunk_bytes=args.chunk_bytes)
        if kind == "spherical"
        else MiniBatchKMeans(k, chunk_bytes=args.chunk_bytes)
    )
    model.cluster_centers_ = centers
    model.n_features_in_ = int(centers_h.shape[1])
    # the frame predict computes in: shifted by the centers' mean (close to the
    # data mean used at fit), so float32 data far from the origin stay accurate
    # (kept in the namespace of the fit's small arrays: NumPy for host data)
    offset = centers_offset(centers)
    if offset is not None:
        xp_x, device = get_namespace(X)
        sxp = small_namespace(xp_x, device, X)
        if sxp is not xp_x:
            offset = sxp.asarray(to_host(offset))
    model._offset = offset
    labels = to_host(model.predict(X)).astype(np.int64)
    if args.out:
        save_labels(args.out, labels)
        print(f"wrote {args.out} ({labels.shape[0]} labels)", file=sys.stderr)
    else:
        write = sys.stdout.write
        for start in range(0, labels.shape[0], 65_536):
            write("".join(f"{v}\n" for v in labels[start : start + 65_536].tolist()))
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from . import KMeans

    check_output(args.plot, "--plot", PLOT_SUFFIXES)
    if args.plot:
        check_matplotlib()
    X, _ = demo_data(args.seed)
    km = KMeans(n_clusters=5, random_state=args.seed, verbose=0 if args.quiet else 1).fit(X)
    if args.plot:
        plot_clusters(
            args.plot, X, km.labels_, km.cluster_centers_, "kmeans_xp demo: k=5", args.seed
        )
    print(f"kmeans_xp demo: {X.shape[0]} points in {X.shape[1]}-D, k=5 (numpy backend)")
    print(
        "\n".join(
            summary_lines(
                km.cluster_centers_, km.labels_, feature_scale(X), km.n_iter_, km.inertia_
            )
        )
    )
    if args.plot:
        print(f"wrote {args.plot}")
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage block): the problem and where to look."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Wider option column; descriptions and epilogs kept as written."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=30)


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = _Parser(
        prog="kmeans-xp",
        description="K-Means on NumPy, CuPy, PyTorch, JAX or Dask arrays.",
        epilog="Run 'kmeans-xp COMMAND --help' for the options of a command.",
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"kmeans-xp {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "fit",
        help="cluster a .npy or .csv file",
        formatter_class=_Formatter,
        description="Cluster the rows of a .npy or .csv file (a CSV may have one header\n"
        "line). The summary goes to stdout; progress to stderr unless --quiet.",
        epilog="examples:\n"
        "  kmeans-xp fit data.npy -k 8 --out model.npz --plot clusters.png\n"
        "  kmeans-xp fit data.csv -k 8 --backend torch --device cuda --quiet\n"
        "  kmeans-xp fit data.npy -k 8 --estimator minibatch --batch-size 4096",
    )
    p.add_argument("data", help="DATA.npy or DATA.csv: one sample per row")
    p.add_argument(
        "-k",
        "--n-clusters",
        dest="k",
        type=_positive_int,
        required=True,
        metavar="K",
        help="number of clusters (required)",
    )
    p.add_argument(
        "--estimator",
        choices=ESTIMATORS,
        default="kmeans",
        help="kmeans (Lloyd and friends), minibatch (MiniBatchKMeans) or "
        "spherical (cosine similarity) (default: kmeans)",
    )
    p.add_argument(
        "--backend",
        choices=BACKENDS,
        default="numpy",
        help="array library to run on (default: numpy)",
    )
    p.add_argument(
        "--device",
        default=None,
        help="device for torch, cupy or jax, e.g. cpu, cuda, cuda:1 (default: the "
        "backend's; torch uses cuda when available)",
    )
    p.add_argument(
        "--init",
        default=None,
        metavar="INIT",
        help="k-means++, k-means|| (kmeans), random, or a .npy/.csv file of "
        "initial centers (default: k-means++; k-means|| on dask)",
    )
    p.add_argument(
        "--n-init",
        type=_n_init,
        default="auto",
        metavar="N",
        help="number of initialisations, the best kept, or auto: 1 for "
        "k-means++, 10 for random (default: auto)",
    )
    p.add_argument(
        "--max-iter",
        type=_positive_int,
        default=None,
        metavar="N",
        help="iterations at most per initialisation (default: 300; "
        "100 passes over the data for minibatch)",
    )
    p.add_argument(
        "--algorithm",
        choices=ALGORITHMS,
        default=None,
        help="kmeans only: lloyd, or hamerly (alias elkan; exact, skips "
        "samples that cannot move), or auto (default: lloyd)",
    )
    p.add_argument(
        "--batch-size",
        type=_positive_int,
        default=None,
        metavar="N",
        help="minibatch only: rows per step (default: 1024)",
    )
    p.add_argument(
        "--chunk-bytes",
        type=_positive_int,
        default=None,
        metavar="BYTES",
        help="memory budget of one row chunk's temporaries (default: "
        "cache-sized on the CPU, a quarter of free GPU memory)",
    )
    p.add_argument("--seed", type=_seed, default=0, help="random seed (default: 0)")
    p.add_argument(
        "--out",
        default=None,
        metavar="MODEL.npz",
        help="save centers, labels, inertia and n_iter, the input of "
        "'predict' (default: not saved)",
    )
    p.add_argument(
        "--labels",
        default=None,
        metavar="LABELS.{npy,csv}",
        help="save the label of every row (default: not saved)",
    )
    p.add_argument(
        "--plot",
        default=None,
        metavar="CLUSTERS.{png,svg,pdf}",
        help="draw the clusters, in the format of the extension: 1-D data as "
        "a histogram, 2-D as is, more on two principal axes (default: no plot)",
    )
    p.add_argument(
        "--quiet", "-q", action="store_true", help="no progress on stderr (default: progress shown)"
    )
    p.set_defaults(func=_cmd_fit)

    p = sub.add_parser(
        "predict",
        help="label new data with a model saved by 'fit --out'",
        formatter_class=_Formatter,
        description="Label each row of DATA with its nearest center of MODEL (largest\n"
        "cosine for a spherical model): one label per line on stdout, or --out.",
    )
    p.add_argument("model", help="MODEL.npz written by 'kmeans-xp fit --out'")
    p.add_argument("data", help="DATA.npy or DATA.csv")
    p.add_argument(
        "--backend",
        choices=[b for b in BACKENDS if b != "dask"],
        default="numpy",
        help="array library to run on (default: numpy)",
    )
    p.add_argument(
        "--device", default=None, help="device for torch, cupy or jax (default: the backend's)"
    )
    p.add_argument(
        "--chunk-bytes",
        type=_positive_int,
        default=None,
        metavar="BYTES",
        help="memory budget of one row chunk (default: chosen by the library)",
    )
    p.add_argument(
        "--out",
        default=None,
        metavar="LABELS.{npy,csv}",
        help="write the labels there (default: one per line on stdout)",
    )
    p.set_defaults(func=_cmd_predict)

    p = sub.add_parser(
        "demo",
        help="cluster a built-in data set and print the result",
        formatter_class=_Formatter,
        description="Cluster 1,500 built-in points around 5 centers.",
    )
    p.add_argument("--seed", type=_seed, default=0, help="random seed (default: 0)")
    p.add_argument(
        "--plot",
        nargs="?",
        const="demo_clusters.png",
        default=None,
        metavar="CLUSTERS.{png,svg,pdf}",
        help="draw the clusters (default: no plot; --plot alone writes demo_clusters.png)",
    )
    p.add_argument(
        "--quiet", "-q", action="store_true", help="no progress on stderr (default: progress shown)"
    )
    p.set_defaults(func=_cmd_demo)
    return parser


def _show_warning(command: str) -> Callable[..., None]:
    def show(
        message: Any, category: Any, filename: str, lineno: int, file: Any = None, line: Any = None
    ) -> None:
        print(f"kmeans-xp {command}: warning: {_first_line(message, 400)}", file=sys.stderr)

    return show


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with warnings.catch_warnings():
            # library warnings (a ConvergenceWarning...) as one line; -W error still raises
            warnings.showwarning = _show_warning(args.command)
            code = int(args.func(args))
    except CLIError as exc:
        print(f"kmeans-xp {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, TypeError, MemoryError) as exc:
        # invalid parameters or data, as reported by the estimators
        # (KMEANS_XP_TRACEBACK=1 shows the traceback instead)
        if os.environ.get("KMEANS_XP_TRACEBACK"):
            raise
        text = " ".join(str(exc).split()).replace("chunk_bytes", "chunk_bytes (--chunk-bytes)")
        print(f"kmeans-xp {args.command}: error: {text}", file=sys.stderr)
        return 2
    sys.stdout.flush()  # a closed pipe shows here, inside main's handler
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``kmeans-xp`` script; returns the exit status."""
    try:
        return _run(argv)
    except BrokenPipeError:
        # the reader stopped early (`kmeans-xp ... | head -1`): stop quietly like other
        # Unix tools; point stdout at /dev/null so the flush at exit does not fail again
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass
        return 141  # 128 + SIGPIPE, what a shell reports for a tool killed by the pipe
    except KeyboardInterrupt:  # pragma: no cover
        print("kmeans-xp: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
