"""kmeans_xp: K-Means written once against the Python Array API standard.

The same code runs on NumPy, CuPy, PyTorch, JAX and Dask arrays; results come
back in the input's namespace, dtype and device.
"""

from ._estimator import KMeans, kmeans_plusplus
from ._minibatch import MiniBatchKMeans
from ._spherical import SphericalKMeans
from ._validation import ConvergenceWarning, InvalidParameterError, NotFittedError

__all__ = [
    "ConvergenceWarning",
    "InvalidParameterError",
    "KMeans",
    "MiniBatchKMeans",
    "NotFittedError",
    "SphericalKMeans",
    "kmeans_plusplus",
]
__version__ = "0.1.0"  # the one place the version is written: pyproject.toml reads it
