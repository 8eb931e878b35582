"""Backend-specific input handling, before any validation or compute.

What a user may hand in that the Array API alone does not describe:

- torch tensors that require grad (work on detached data: no autograd graph is
  kept, results are detached) and ``meta`` tensors (no data: refused);
- NumPy masked arrays (NumPy's ``ndarray`` subclass whose operations broadcast
  the mask: masked values refused, an all-False mask accepted as its data);
- pandas objects, including the nullable dtypes (``Float64``, ``Int64``) whose
  ``pd.NA`` becomes an object array in ``np.asarray`` (missing values refused
  with their own message, otherwise converted to the matching NumPy dtype);
- sparse samples (``_sparse``): scipy.sparse of any format and torch COO /
  CSC become CSR; CuPy, pydata, JAX sparse arrays and Dask arrays of
  sparse blocks are refused with what to pass instead;
- Dask arrays with unknown chunk sizes (``X[X[:, 0] > 0]``): the sizes are
  computed (one pass over the data) on a new array object, so the caller's
  array is left as it was.

No library is imported here: objects are recognised with ``array_api_compat``
or by their module, so importing kmeans_xp never imports torch, pandas or Dask.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from array_api_compat import is_dask_array, is_torch_array

from ._sparse import prepare_sparse_input

__all__ = [
    "fitted_mismatch_message",
    "prepare_input",
]


def prepare_input(a: Any, name: str) -> Any:
    """``a`` made safe to validate and compute on (or a clear error).

    Returns ``a`` itself when nothing is needed. Never modifies ``a``.
    """
    if a is None:
        return a
    sparse = prepare_sparse_input(a, name)
    if sparse is not None:  # scipy.sparse / torch sparse: CSR (other kinds refused)
        return sparse
    if is_torch_array(a):
        return _torch_input(a, name)
    if isinstance(a, np.ma.MaskedArray):
        return _masked_input(a, name)
    if is_dask_array(a):
        return _dask_input(a)
    if _is_pandas(a):
        return _pandas_input(a, name)
    return a


def fitted_mismatch_message(estimator: str, fitted_kind: str, got_kind: str) -> str:
    """The message for input from another library than the fitted model's."""
    return (
        f"{estimator} was fitted on {fitted_kind} arrays; pass {fitted_kind} input or "
        f"refit (got {got_kind} input)"
    )


# ---------------------------------------------------------------------- torch
def _torch_input(a: Any, name: str) -> Any:
    if a.device.type == "meta":
        raise ValueError(
            f"{name} is a torch tensor on the 'meta' device: meta tensors have no data, "
            "so there is nothing to cluster; pass a tensor on a real device (for "
            "example 'cpu' or 'cuda')"
        )
    if a.requires_grad:
        # k-means is not differentiable here: keeping the graph only costs memory
        # and makes the fitted model impossible to deepcopy / pickle
        a = a.detach()
    return a


# ---------------------------------------------------------------------- numpy
def _masked_input(a: Any, name: str) -> np.ndarray:
    mask = np.ma.getmaskarray(a)
    n_masked = int(np.count_nonzero(mask))
    if n_masked:
        raise ValueError(
            f"{name} is a masked array with {n_masked} masked value(s); kmeans_xp does "
            f"not skip masked entries: drop the rows that hold them, or fill them "
            f"({name}.filled(value)) first"
        )
    return np.asarray(a.data)


# ----------------------------------------------------------------------- dask
def _dask_input(a: Any) -> Any:
    if all(not (isinstance(s, float) and math.isnan(s)) for s in a.shape):
        return a
    # compute_chunk_sizes works in place: do it on a new array object (same graph)
    # so that the caller's array keeps its unknown chunks
    a = a.copy()
    if any(isinstance(s, float) and math.isnan(s) for s in a.shape):
        a.compute_chunk_sizes()
    return a


# --------------------------------------------------------------------- pandas
def _is_pandas(a: Any) -> bool:
    return type(a).__module__.split(".", 1)[0] == "pandas" and hasattr(a, "to_numpy")


def _pandas_input(a: Any, name: str) -> Any:
    """A NumPy array from a pandas DataFrame / Series (nullable dtypes included)."""
    isna = getattr(a, "isna", None)
    if isna is not None:
        n_missing = int(np.count_nonzero(np.asarray(isna())))
        if n_missing:
            raise ValueError(
                f"{name} contains missing values (NaN/pd.NA) (n_missing={n_missing}); "
                "remove or impute them before clustering"
            )
    dtypes = list(a.dtypes) if hasattr(a, "columns") else [getattr(a, "dtype", None)]
    np_dtypes = []
    for dt in dtypes:
        twin = getattr(dt, "numpy_dtype", None)
        if isinstance(dt, np.dtype):
            np_dtypes.append(dt)
        elif isinstance(twin, np.dtype):
            # nullable extension dtypes (Float64, Int64, boolean): their NumPy twin
            np_dtypes.append(twin)
        else:
            np_dtypes.append(np.dtype(object))
    if not np_dtypes or any(dt.kind == "O" for dt in np_dtypes):
        return a.to_numpy()  # object: checked and converted by the caller
    return a.to_numpy(dtype=np.result_type(*np_dtypes))
