"""kmeans_xp: K-Means written once against the Python Array API standard.

The same code runs on NumPy, CuPy, PyTorch, JAX and Dask arrays; results come
back in the input's namespace, dtype and device.

The estimators are imported on first use (PEP 562), so ``import kmeans_xp``
and the ``kmeans-xp`` command start at once: scikit-learn, which the
estimators derive from when it is installed, takes seconds to import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"  # the one place the version is written: pyproject.toml reads it

# public name -> the module that defines it
_LAZY = {
    "ConvergenceWarning": "._validation",
    "InvalidParameterError": "._validation",
    "KMeans": "._estimator",
    "MiniBatchKMeans": "._minibatch",
    "NotFittedError": "._validation",
    "SphericalKMeans": "._spherical",
    "k_means": "._estimator",
    "kmeans_plusplus": "._estimator",
}

__all__ = [
    "ConvergenceWarning",
    "InvalidParameterError",
    "KMeans",
    "MiniBatchKMeans",
    "NotFittedError",
    "SphericalKMeans",
    "k_means",
    "kmeans_plusplus",
]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from ._estimator import KMeans, k_means, kmeans_plusplus
    from ._minibatch import MiniBatchKMeans
    from ._spherical import SphericalKMeans
    from ._validation import ConvergenceWarning, InvalidParameterError, NotFittedError


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kmeans_xp' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
