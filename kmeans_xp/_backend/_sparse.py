"""Sparse samples: CSR row blocks and the primitives the passes need on them.

Where sparse data run:

- ``scipy.sparse`` matrices and arrays, any format, converted to CSR once
  (scikit-learn does the same), with the NumPy namespace: the centers and
  every small array are NumPy arrays. The executor cuts X into row blocks
  that are views (:class:`CSRBlock`: no copy of the stored values), run on
  its thread pool; the product of a block with the centers is scipy's
  compiled CSR kernel, which releases the GIL.
- torch sparse CSR tensors (COO and CSC are converted to CSR once), with the
  torch namespace, on the tensor's device: the same primitives written with
  torch operations (``index_add_``, ``repeat_interleave``, the sparse
  product), so the code that runs on the CPU here is the code for CUDA.

Refused with a clear error before any work: CuPy sparse matrices, Dask
arrays of sparse chunks, pydata ``sparse`` and JAX sparse arrays.

Sparse samples are never densified and never shifted by the mean (that would
make them dense: scikit-learn does not shift sparse data either). Centers
are dense. A primitive takes one CSR block (rows of X) and returns dense
arrays, except the row gathers and ``unit_rows``, which return CSR blocks.
"""

from __future__ import annotations

import functools
import math
import sys
from typing import Any, NamedTuple

import numpy as np
from array_api_compat import is_dask_array, is_torch_array

__all__ = [
    "CSRBlock",
    "check_sparse_namespace",
    "is_sparse",
    "prepare_sparse_input",
    "sparse_assigned_costs",
    "sparse_column_extremes",
    "sparse_column_sq_devs",
    "sparse_column_sums",
    "sparse_exact_labels",
    "sparse_matmul",
    "sparse_max_row_nnz",
    "sparse_row_slice",
    "sparse_row_sq_norms",
    "sparse_row_width",
    "sparse_segment_sum",
    "sparse_take_rows",
    "sparse_to_dense",
    "sparse_unit_rows",
    "sparse_values",
]


# --------------------------------------------------------------------------
# what is sparse
# --------------------------------------------------------------------------
class CSRBlock(NamedTuple):
    """Consecutive (or gathered) rows of a ``scipy.sparse`` CSR matrix.

    ``indptr`` (rows + 1 offsets) indexes into ``data`` and ``indices``
    and need not start at 0: a block of consecutive rows shares the
    parent's arrays (no copy). Internal to the engine; the user's matrix is
    never wrapped in one outside a pass.
    """

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    n_cols: int

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.indptr.shape[0]) - 1, self.n_cols)

    @property
    def dtype(self) -> Any:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return 2


def is_scipy_sparse(x: Any) -> bool:
    sp = sys.modules.get("scipy.sparse")
    return sp is not None and bool(sp.issparse(x))


def is_torch_sparse(x: Any) -> bool:
    if not is_torch_array(x):
        return False
    import torch

    return bool(x.layout != torch.strided)


def is_sparse(x: Any) -> bool:
    """Whether ``x`` is sparse samples the engine runs on (scipy.sparse, torch
    sparse, or an engine block of either)."""
    if type(x) is np.ndarray:  # the common case, asked several times a pass
        return False
    return isinstance(x, CSRBlock) or is_scipy_sparse(x) or is_torch_sparse(x)


def _unsupported(a: Any, name: str) -> str | None:
    """Why ``a``, a sparse kind the engine does not run on, is refused."""
    module = type(a).__module__
    if module.startswith("cupyx.scipy.sparse"):
        return (
            f"{name} is a CuPy sparse matrix (cupyx.scipy.sparse), which kmeans_xp does not "
            "support yet; pass a dense CuPy array, a torch sparse CSR tensor (CPU or CUDA), "
            f"or a scipy.sparse matrix ({name}.get())"
        )
    if module.split(".", 1)[0] == "sparse" and hasattr(a, "nnz"):
        return (
            f"{name} is a pydata/sparse array, which kmeans_xp does not support; convert it "
            f"to a scipy.sparse CSR matrix ({name}.tocsr())"
        )
    if module.startswith("jax.experimental.sparse"):
        return (
            f"{name} is a JAX sparse array ({type(a).__name__}), which kmeans_xp does not "
            "support; pass a dense JAX array or a scipy.sparse matrix"
        )
    if is_dask_array(a):
        meta = getattr(a, "_meta", None)
        if meta is not None and (is_sparse(meta) or _unsupported(meta, name) is not None):
            return (
                f"{name} is a Dask array of sparse blocks ({type(meta).__module__}."
                f"{type(meta).__name__}); kmeans_xp runs Dask on dense blocks only: "
                f"densify the blocks ({name}.map_blocks(lambda b: b.toarray())) or pass one "
                f"scipy.sparse matrix ({name}.compute())"
            )
    return None


def prepare_sparse_input(a: Any, name: str) -> Any:
    """Sparse input as the engine runs it, or None when ``a`` is not sparse.

    scipy.sparse: any 2-D format becomes CSR (a copy, once, unless it is CSR
    already); duplicate entries are summed, on a copy. torch: COO and CSC
    become CSR; gradients are not tracked. Other sparse kinds: a
    ``TypeError`` that says what to pass instead. ``a`` is never modified.
    """
    if is_scipy_sparse(a):
        return _scipy_input(a, name)
    if is_torch_sparse(a):
        return _torch_input(a, name)
    reason = _unsupported(a, name)
    if reason is not None:
        raise TypeError(reason)
    return None


def check_sparse_namespace(xp: Any, X: Any, name: str) -> None:
    """A ``TypeError`` when sparse X does not go with the namespace of the
    other arrays (or of the fitted model): scipy.sparse runs with NumPy,
    torch sparse with torch."""
    from array_api_compat import is_numpy_namespace, is_torch_namespace

    if is_scipy_sparse(X) and not is_numpy_namespace(xp):
        other = getattr(xp, "__name__", repr(xp)).rsplit(".", 1)[-1]
        raise TypeError(
            f"{name} is a scipy.sparse matrix, which runs with NumPy arrays, but the other "
            f"arrays (or the fitted model) are {other} arrays; pass {name} as an array of "
            "that library (for torch, a sparse CSR tensor), or NumPy arrays throughout"
        )
    if is_torch_sparse(X) and not is_torch_namespace(xp):
        raise TypeError(
            f"{name} is a torch sparse tensor, but the other arrays (or the fitted model) are "
            "not torch arrays; pass arrays of one library"
        )


def _scipy_input(a: Any, name: str) -> Any:
    if a.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D (n_samples, n_features), got a {a.ndim}-D sparse array of "
            f"shape {tuple(a.shape)}"
        )
    X = a if a.format == "csr" else a.tocsr()
    if not _scipy_canonical(X):
        # sorted, without duplicate entries (a row's squared norm needs the
        # sum of each entry's duplicates), on a copy
        X = X.copy() if X is a else X
        X.sum_duplicates()
    return X


def _scipy_canonical(X: Any) -> bool:
    """Column indices strictly increasing within each row (computed here:
    scipy's ``has_canonical_format`` caches its answer on the matrix)."""
    ptr, ind = X.indptr, X.indices
    nnz = int(ptr[-1])
    if nnz < 2:
        return True
    ok = np.diff(ind[:nnz]) > 0
    # the step from one row's last entry to the next row's first does not count
    ends = ptr[1:-1]
    ok[ends[(ends > 0) & (ends < nnz)] - 1] = True
    return bool(ok.all())


def _torch_input(a: Any, name: str) -> Any:
    import torch

    if a.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D (n_samples, n_features), got a {a.ndim}-D sparse tensor of "
            f"shape {tuple(a.shape)}"
        )
    if a.layout == torch.sparse_csr:
        X = a
    elif a.layout in (torch.sparse_coo, torch.sparse_csc):
        X = a.to_sparse_csr()  # COO is coalesced on the way
    else:
        raise TypeError(
            f"{name} is a torch sparse tensor of layout {a.layout}; kmeans_xp takes sparse "
            "CSR tensors (COO and CSC are converted to CSR)"
        )
    if X.values().ndim != 1:
        raise TypeError(f"{name} is a hybrid sparse tensor (dense values per entry); not supported")
    return X.detach() if X.requires_grad else X


# --------------------------------------------------------------------------
# the operations a primitive needs, per library
# --------------------------------------------------------------------------
class _Parts(NamedTuple):
    """A CSR block as flat arrays: its stored values and their columns, the
    number of entries of each row, and the offsets of the rows (from 0)."""

    vals: Any
    cols: Any
    lens: Any
    ptr: Any
    rows: int
    n_cols: int


@functools.cache
def _matvecs() -> Any:
    """scipy's compiled CSR times dense kernel, called on the parent's arrays
    (no copy of a block); None where this scipy does not have it."""
    return _scipy_kernel("csr_matvecs")


@functools.cache
def _row_index() -> Any:
    """scipy's compiled row gather (what ``X[rows]`` runs), called on the
    parent's arrays; None where this scipy does not have it."""
    return _scipy_kernel("csr_row_index")


def _scipy_kernel(name: str) -> Any:
    # scipy's compiled CSR routines (a private module, stable since scipy
    # 0.14): each primitive has a public-API path for when it is missing
    try:
        from scipy.sparse import _sparsetools

        return getattr(_sparsetools, name)
    except (ImportError, AttributeError):  # pragma: no cover - other scipy versions
        return None


class _NumpyOps:
    """scipy.sparse blocks (:class:`CSRBlock`), NumPy arrays."""

    @staticmethod
    def block(X: Any) -> CSRBlock:
        if isinstance(X, CSRBlock):
            return X
        return CSRBlock(X.data, X.indices, X.indptr, int(X.shape[1]))

    @staticmethod
    def parts(X: Any) -> _Parts:
        b = _NumpyOps.block(X)
        lo, hi = int(b.indptr[0]), int(b.indptr[-1])
        ptr = b.indptr - lo if lo else b.indptr
        return _Parts(b.data[lo:hi], b.indices[lo:hi], np.diff(b.indptr), ptr, b.shape[0], b.n_cols)

    @staticmethod
    def make(like: Any, vals: Any, cols: Any, ptr: Any, n_cols: int) -> Any:
        """A block with these parts: a scipy matrix of ``like``'s class when
        ``like`` is one (what a user's callable may see), else a block."""
        if isinstance(like, CSRBlock):
            return CSRBlock(vals, cols, ptr, n_cols)
        return type(like)((vals, cols, ptr), shape=(int(ptr.shape[0]) - 1, n_cols))

    @staticmethod
    def repeat(a: Any, lens: Any) -> Any:
        return np.repeat(a, lens)

    @staticmethod
    def row_ids(p: _Parts) -> Any:
        return np.repeat(np.arange(p.rows), p.lens)

    @staticmethod
    def scatter_add(size: int, idx: Any, vals: Any, dtype: Any) -> Any:
        """``out[idx[i]] += vals[i]`` into zeros(size), accumulated in float64."""
        return np.bincount(idx, weights=vals, minlength=size).astype(dtype, copy=False)

    @staticmethod
    def count(size: int, idx: Any) -> Any:
        return np.bincount(idx, minlength=size)

    @staticmethod
    def row_sums(p: _Parts, values: Any) -> Any:
        """Per row, the sum of ``values`` (aligned with the stored entries), in
        their dtype, in entry order."""
        out = np.zeros(p.rows, dtype=values.dtype)
        if values.shape[0]:
            full = p.lens > 0
            out[full] = np.add.reduceat(values, p.ptr[:-1][full])
        return out

    @staticmethod
    def row_max(p: _Parts, values: Any) -> Any:
        """Per row, the largest of ``values`` (>= 0) and 0."""
        out = np.zeros(p.rows, dtype=values.dtype)
        if values.shape[0]:
            full = p.lens > 0
            out[full] = np.maximum.reduceat(values, p.ptr[:-1][full])
        return out

    @staticmethod
    def offsets(lens: Any) -> Any:
        ptr = np.zeros(lens.shape[0] + 1, dtype=lens.dtype)
        np.cumsum(lens, out=ptr[1:])
        return ptr

    @staticmethod
    def arange(n: int, like: Any) -> Any:
        return np.arange(n, dtype=like.dtype)

    @staticmethod
    def matmul(X: Any, B: Any) -> Any:
        b = _NumpyOps.block(X)
        rows, m = b.shape[0], int(B.shape[1])
        # the kernel casts every operand to one type: B (small) to the data's
        B = np.ascontiguousarray(B, dtype=b.data.dtype)
        out = np.zeros((rows, m), dtype=b.data.dtype)
        matvecs = _matvecs()
        if matvecs is not None and rows and m:
            # on the parent's arrays: the offsets index into them (no copy)
            matvecs(rows, b.n_cols, m, b.indptr, b.indices, b.data, B.ravel(), out.ravel())
            return out
        if rows and m:  # pragma: no cover - without the kernel: scipy's product
            import scipy.sparse as sp

            p = _NumpyOps.parts(b)
            out = sp.csr_array((p.vals, p.cols, p.ptr), shape=b.shape) @ B
        return np.asarray(out)

    @staticmethod
    def to_dense(X: Any) -> Any:
        p = _NumpyOps.parts(X)
        out = np.zeros((p.rows, p.n_cols), dtype=p.vals.dtype)
        out[_NumpyOps.row_ids(p), p.cols] = p.vals
        return out

    @staticmethod
    def astype(a: Any, dtype: Any) -> Any:
        return a.astype(dtype, copy=False)

    @staticmethod
    def sqrt(a: Any) -> Any:
        return np.sqrt(a)

    @staticmethod
    def sq_norms(C: Any) -> Any:
        return np.einsum("ij,ij->i", C, C)

    @staticmethod
    def clip0(a: Any) -> Any:
        return np.maximum(a, 0.0, dtype=a.dtype)

    @staticmethod
    def positive_or_one(a: Any) -> Any:
        return np.where(a > 0, a, a.dtype.type(1.0))

    @staticmethod
    def argmin_where(mask: Any, scores: Any) -> Any:
        return np.where(mask, scores, np.finfo(scores.dtype).max).argmin(axis=1)

    float64 = np.float64
    index = np.int64


class _TorchOps:
    """torch sparse CSR tensors (any device), torch arrays."""

    @staticmethod
    def parts(X: Any) -> _Parts:
        crow = X.crow_indices()
        return _Parts(
            X.values(),
            X.col_indices(),
            crow[1:] - crow[:-1],
            crow,
            int(X.shape[0]),
            int(X.shape[1]),
        )

    @staticmethod
    def make(like: Any, vals: Any, cols: Any, ptr: Any, n_cols: int) -> Any:
        import torch

        return torch.sparse_csr_tensor(
            ptr,
            cols,
            vals,
            size=(int(ptr.shape[0]) - 1, n_cols),
            check_invariants=False,
        )

    @staticmethod
    def repeat(a: Any, lens: Any) -> Any:
        import torch

        return torch.repeat_interleave(a, lens.to(torch.int64))

    @staticmethod
    def row_ids(p: _Parts) -> Any:
        import torch

        lens = p.lens.to(torch.int64)
        return torch.repeat_interleave(torch.arange(p.rows, device=lens.device), lens)

    @staticmethod
    def scatter_add(size: int, idx: Any, vals: Any, dtype: Any) -> Any:
        import torch

        out = torch.zeros(size, dtype=dtype, device=vals.device)
        return out.index_add_(0, idx, vals.to(dtype))

    @staticmethod
    def count(size: int, idx: Any) -> Any:
        import torch

        return torch.bincount(idx, minlength=size)

    @staticmethod
    def row_sums(p: _Parts, values: Any) -> Any:
        import torch

        out = torch.zeros(p.rows, dtype=values.dtype, device=values.device)
        return out.index_add_(0, _TorchOps.row_ids(p), values)

    @staticmethod
    def row_max(p: _Parts, values: Any) -> Any:
        import torch

        out = torch.zeros(p.rows, dtype=values.dtype, device=values.device)
        return out.scatter_reduce_(0, _TorchOps.row_ids(p), values, "amax", include_self=True)

    @staticmethod
    def offsets(lens: Any) -> Any:
        import torch

        return torch.cat([torch.zeros(1, dtype=lens.dtype, device=lens.device), lens.cumsum(0)])

    @staticmethod
    def arange(n: int, like: Any) -> Any:
        import torch

        return torch.arange(n, dtype=like.dtype, device=like.device)

    @staticmethod
    def matmul(X: Any, B: Any) -> Any:
        return X @ B.to(X.dtype).contiguous()

    @staticmethod
    def to_dense(X: Any) -> Any:
        return X.to_dense()

    @staticmethod
    def astype(a: Any, dtype: Any) -> Any:
        return a.to(dtype)

    @staticmethod
    def sqrt(a: Any) -> Any:
        import torch

        return torch.sqrt(a)

    @staticmethod
    def sq_norms(C: Any) -> Any:
        return (C * C).sum(1)

    @staticmethod
    def clip0(a: Any) -> Any:
        return a.clamp_min(0.0)

    @staticmethod
    def positive_or_one(a: Any) -> Any:
        import torch

        return torch.where(a > 0, a, torch.ones_like(a))

    @staticmethod
    def argmin_where(mask: Any, scores: Any) -> Any:
        import torch

        big = torch.finfo(scores.dtype).max
        return torch.argmin(torch.where(mask, scores, torch.full_like(scores, big)), dim=1)

    @property
    def float64(self) -> Any:
        import torch

        return torch.float64

    @property
    def index(self) -> Any:
        import torch

        return torch.int64


_NUMPY_OPS = _NumpyOps()
_TORCH_OPS = _TorchOps()


def _ops(X: Any) -> Any:
    return _TORCH_OPS if is_torch_array(X) else _NUMPY_OPS


# --------------------------------------------------------------------------
# primitives
# --------------------------------------------------------------------------
def sparse_row_slice(X: Any, start: int, stop: int) -> Any:
    """Rows ``start:stop`` of X: a view (scipy: a :class:`CSRBlock` on the
    parent's arrays; torch: a CSR tensor on slices of them)."""
    if is_torch_array(X):
        crow = X.crow_indices()
        a, b = int(crow[start]), int(crow[stop])
        return _TorchOps.make(
            X, X.values()[a:b], X.col_indices()[a:b], crow[start : stop + 1] - a, int(X.shape[1])
        )
    blk = _NumpyOps.block(X)
    return CSRBlock(blk.data, blk.indices, blk.indptr[start : stop + 1], blk.n_cols)


def sparse_take_rows(X: Any, idx: Any) -> Any:
    """The rows at ``idx`` (in order, repeats allowed) as a compact CSR block
    of X's kind (a scipy matrix of X's class for a scipy matrix)."""
    ops = _ops(X)
    p = ops.parts(X)
    idx = idx.to(p.ptr.dtype) if is_torch_array(X) else np.asarray(idx)
    starts = p.ptr[idx]
    lens = p.ptr[idx + 1] - starts
    ptr = ops.offsets(lens)
    total = int(ptr[-1])
    gather = None if is_torch_array(X) else _row_index()
    if gather is not None and idx.shape[0]:
        # one compiled pass on the parent's arrays (a block's offsets index them)
        b = _NumpyOps.block(X)
        cols, vals = np.empty(total, dtype=b.indices.dtype), np.empty(total, dtype=b.data.dtype)
        rows = idx.astype(b.indptr.dtype, copy=False)
        gather(rows.shape[0], rows, b.indptr, b.indices, b.data, cols, vals)
        return ops.make(X, vals, cols, ptr.astype(b.indptr.dtype, copy=False), p.n_cols)
    pos = ops.repeat(starts - ptr[:-1], lens) + ops.arange(total, ptr)
    return ops.make(X, p.vals[pos], p.cols[pos], ptr, p.n_cols)


def sparse_to_dense(X: Any) -> Any:
    """A dense copy: only for a few gathered rows (seeds, relocations)."""
    return _ops(X).to_dense(X)


def sparse_matmul(X: Any, B: Any) -> Any:
    """``X @ B`` for a CSR block and a dense (n_features, m) array: dense
    (rows, m), in the data's dtype; each entry sums the row's stored
    products in order."""
    return _ops(X).matmul(X, B)


def sparse_row_sq_norms(X: Any) -> Any:
    ops = _ops(X)
    p = ops.parts(X)
    return ops.row_sums(p, p.vals * p.vals)


def sparse_column_sums(X: Any) -> Any:
    """Per-feature sums (n_features,) in the data's dtype (accumulated in
    float64 on NumPy)."""
    ops = _ops(X)
    p = ops.parts(X)
    return ops.scatter_add(p.n_cols, p.cols, p.vals, p.vals.dtype)


def sparse_column_sq_devs(X: Any, mean: Any) -> Any:
    """Per feature, the sum over the rows of ``(x - mean)**2``: the stored
    entries' deviations, and ``mean**2`` for each implicit zero."""
    ops = _ops(X)
    p = ops.parts(X)
    dev = p.vals - mean[p.cols]
    sq = ops.scatter_add(p.n_cols, p.cols, dev * dev, p.vals.dtype)
    zeros = p.rows - ops.astype(ops.count(p.n_cols, p.cols), p.vals.dtype)
    return sq + zeros * (mean * mean)


def sparse_segment_sum(X: Any, labels: Any, k: int, weights: Any = None) -> Any:
    """Per-cluster (weighted) sums of the rows of a CSR block, (k, n_features)
    dense, in the data's dtype: one scatter-add over the stored entries."""
    ops = _ops(X)
    p = ops.parts(X)
    # the flat position of each entry in the (k, d) sums: label * d + column
    flat = ops.repeat(ops.astype(labels, ops.index) * p.n_cols, p.lens)
    flat += p.cols
    vals = p.vals if weights is None else p.vals * ops.repeat(weights, p.lens)
    out = ops.scatter_add(k * p.n_cols, flat, vals, p.vals.dtype)
    return out.reshape((k, p.n_cols))


def sparse_unit_rows(X: Any) -> Any:
    """Rows scaled to unit length (empty rows stay empty), as the dense
    ``unit_rows``: each row divided by its largest magnitude first, so no
    scale under- or overflows. The same sparsity pattern, new values."""
    ops = _ops(X)
    p = ops.parts(X)
    big = ops.row_max(p, abs(p.vals))
    Y = p.vals / ops.repeat(ops.positive_or_one(big), p.lens)
    norms = ops.sqrt(ops.row_sums(p, Y * Y))
    Y = Y / ops.repeat(ops.positive_or_one(norms), p.lens)
    return ops.make(_internal(X), Y, p.cols, p.ptr, p.n_cols)


def _internal(X: Any) -> Any:
    """What ``make`` builds a block like: engine blocks for scipy rows."""
    if is_torch_array(X) or isinstance(X, CSRBlock):
        return X
    return _NumpyOps.block(X)


def sparse_assigned_costs(X: Any, centers: Any, labels: Any, cosine: bool) -> Any:
    """Cost of each row against its own center ``centers[labels]``:
    ``1 - x.c`` (unit rows, cosine), or the squared distance as scikit-learn
    computes it for sparse rows, ``||c||^2 + sum over the stored entries of
    ((x - c)^2 - c^2)``, clipped at 0."""
    ops = _ops(X)
    p = ops.parts(X)
    lab = ops.repeat(ops.astype(labels, ops.index), p.lens)
    c = centers.reshape((-1,))[lab * p.n_cols + ops.astype(p.cols, ops.index)]
    if cosine:
        return 1.0 - ops.row_sums(p, p.vals * c)
    t = p.vals - c
    return ops.clip0(ops.sq_norms(centers)[labels] + ops.row_sums(p, t * t - c * c))


def sparse_exact_labels(X: Any, centers: Any, half_csq: Any, candidates: Any) -> Any:
    """The near-tie rule (``_kernels._exact_labels``) for CSR rows: the
    argmin over each row's ``candidates`` of ``half_csq - x.c`` with the
    products summed in float64 (the row's stored entries, in order)."""
    ops = _ops(X)
    p = ops.parts(X)
    rows64 = ops.make(_internal(X), ops.astype(p.vals, ops.float64), p.cols, p.ptr, p.n_cols)
    dots = ops.matmul(rows64, ops.astype(centers, ops.float64).T)
    return ops.argmin_where(candidates, ops.astype(half_csq, ops.float64)[None, :] - dots)


# --------------------------------------------------------------------------
# what the checks and the chunk sizes need
# --------------------------------------------------------------------------
def sparse_values(X: Any) -> Any:
    """The stored values (1-D, dense, in X's library): the finite checks."""
    return _ops(X).parts(X).vals


def sparse_column_extremes(X: Any) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature largest and smallest value on the host (float64), the
    implicit zeros included: the magnitude checks."""
    ops = _ops(X)
    p = ops.parts(X)
    if is_torch_array(X):
        vals = p.vals.detach().cpu().numpy().astype(np.float64)
        cols = p.cols.detach().cpu().numpy()
    else:
        vals, cols = p.vals.astype(np.float64), p.cols
    hi = np.full(p.n_cols, -np.inf)
    lo = np.full(p.n_cols, np.inf)
    np.maximum.at(hi, cols, vals)
    np.minimum.at(lo, cols, vals)
    implicit = np.bincount(cols, minlength=p.n_cols) < p.rows
    hi[implicit] = np.maximum(hi[implicit], 0.0)
    lo[implicit] = np.minimum(lo[implicit], 0.0)
    return hi, lo


def sparse_max_row_nnz(X: Any) -> int:
    """The most stored entries of one row."""
    p = _ops(X).parts(X)
    return int(p.lens.max()) if p.rows else 0


def _nnz(X: Any) -> int:
    if is_torch_array(X):
        return int(X.values().shape[0])
    ptr = X.indptr
    return int(ptr[-1]) - int(ptr[0])


def sparse_row_width(X: Any) -> int:
    """What one row holds, in values, for chunk sizes: its stored values and
    their column indices, on average (at least 1)."""
    return max(1, math.ceil(2 * _nnz(X) / max(1, int(X.shape[0]))))
