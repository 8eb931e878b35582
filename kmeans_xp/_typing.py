"""Type aliases for the library's signatures.

kmeans_xp takes arrays of any library that follows the Python Array API
standard (NumPy, CuPy, PyTorch, JAX, Dask, array-api-strict), so no concrete
array class can be named in a signature. These aliases say what a parameter
is, where a bare ``Any`` would not:

- ``Array``: an array of any conforming library (``numpy.ndarray``,
  ``torch.Tensor``, ``cupy.ndarray``, ``jax.Array``, ``dask.array.Array``...).
- ``Namespace``: the standard namespace of that library, as returned by
  ``array_api_compat.array_namespace`` (a module: ``xp.sum``, ``xp.matmul``...).
- ``Device``: a device object of that library (``"cpu"``, ``torch.device``...).
- ``DType``: a dtype object of that library (``xp.float32``...).

The standard publishes no typing protocol yet (array-api-typing is not
released), and the libraries' own annotations disagree with one another
(NumPy's ``shape`` is ``tuple[int, ...]``, Dask's may hold ``nan``, torch's
operators return ``Tensor``), so ``Array``, ``Device`` and ``DType`` are
``Any`` to the type checker: a structural protocol would reject real arrays
of some backend. This is the choice array-api-extra makes at run time
(``array_api_extra._lib._typing``: ``Array = object``); its stub file's
``Array`` protocol is the model to follow once a released protocol exists,
and then only this module changes. ``Namespace`` is ``ModuleType``, which the
type checker already treats as "any attribute".
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, TypeAlias

__all__ = ["Array", "DType", "Device", "Namespace"]

Array: TypeAlias = Any
"""An array of any library that follows the Python Array API standard."""

Namespace: TypeAlias = ModuleType
"""The Array API namespace of an array (``array_api_compat.array_namespace(x)``)."""

Device: TypeAlias = Any
"""A device object of an array library (what ``array_api_compat.device(x)`` returns)."""

DType: TypeAlias = Any
"""A dtype object of an array library (``xp.float32``, ``xp.float64``...)."""
