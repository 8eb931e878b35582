"""The only backend-specific code in kmeans_xp.

Every function here is one primitive the algorithms need, with a native path
for the array libraries that have a faster one and a fallback written against
the Array API standard alone. Algorithm modules call these functions and never
import an array library themselves.

Array libraries are imported lazily (inside functions, and only after
``array_api_compat`` has recognised the namespace), so importing kmeans_xp
never imports CuPy, torch, JAX or Dask.

One module a concern:

- ``_capabilities``: what a namespace is and can do (names, devices, dtypes);
- ``_transfer``: host <-> device copies, synchronisation, free memory;
- ``_kernels``: nearest centers, products, per-cluster sums, row subsets;
- ``_sparse``: the same primitives on CSR row blocks (scipy.sparse, torch);
- ``_executor``: the map over row chunks (thread pool) or row blocks (Dask),
  chunk sizes and BLAS threading;
- ``_inputs``: what users hand in beyond the standard (torch grad / meta
  tensors, masked arrays, pandas nullable dtypes, Dask unknown chunks).
"""

from __future__ import annotations

from ._capabilities import *  # noqa: F403
from ._capabilities import __all__ as _cap_all
from ._executor import *  # noqa: F403
from ._executor import __all__ as _exe_all
from ._inputs import *  # noqa: F403
from ._inputs import __all__ as _inp_all
from ._kernels import *  # noqa: F403
from ._kernels import __all__ as _ker_all
from ._sparse import *  # noqa: F403
from ._sparse import __all__ as _spa_all
from ._transfer import *  # noqa: F403
from ._transfer import __all__ as _tra_all

__all__ = [*_cap_all, *_exe_all, *_inp_all, *_ker_all, *_spa_all, *_tra_all]
