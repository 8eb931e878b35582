"""Spherical (cosine) K-Means, on the shared engine. Pure Array API.

Samples are scaled to unit length inside each block of every pass (never a
normalised copy of X); a sample goes to the center of largest cosine
similarity, and a center is the normalised (weighted) sum of its samples,
which maximises the summed similarity of its cluster. The passes, the
relocation of empty clusters and the n_init loop are KMeans's, run with the
cosine geometry (``Geometry.COSINE``): for unit centers ``0.5 - x.c`` ranks
the centers as ``1 - cos`` does.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ._assign import Geometry, unit_rows
from ._kmeans_base import BaseKMeans
from ._typing import Array
from ._validation import SPHERICAL_CONSTRAINTS

__all__ = ["SphericalKMeans", "normalize_rows"]

#: Rows scaled to unit length (all-zero rows stay zero), robust to any scale.
normalize_rows = unit_rows


class SphericalKMeans(BaseKMeans):
    """Spherical K-Means: clustering by cosine similarity, on any Array API library.

    Samples are scaled to unit length and grouped around unit-length centers;
    each sample goes to the center of largest cosine similarity and each
    center is the normalised weighted sum of its samples. The objective,
    ``inertia_``, is the weighted sum of cosine distances ``1 - cos(x, c)``
    of the samples to their centers. This is the usual K-Means for text
    embeddings and other data where only the direction matters: scaling a
    sample by a positive factor changes nothing.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters.
    init : {"k-means++", "k-means||", "random"}, callable or array of shape \
            (n_clusters, n_features), default="k-means++"
        Initialisation on the normalised samples: greedy k-means++ (the
        Euclidean distance between unit vectors is ``sqrt(2 - 2 cos)``, so
        this is k-means++ for the cosine distance), k samples at random, a
        callable, or the given centers (normalised; an array of the same
        library and device as ``X``). A callable is called as in KMeans,
        ``init(X, n_clusters, random_state=random_state)`` with ``X`` as
        given (rows not normalised); the centers it returns are normalised.
    n_init : "auto" or int, default="auto"
        Number of initialisations; the run with the lowest inertia is kept.
        "auto" means 10 for "random" or a callable and 1 otherwise.
    max_iter : int, default=300
        Maximum number of iterations of one run.
    tol : float, default=1e-4
        A run stops when the total squared shift of the centers is at most
        ``tol`` times the mean per-feature variance of the normalised samples.
    verbose : int, default=0
        Print one line per iteration (inertia, center shift, elapsed) on stderr.
    random_state : None, int or numpy.random.RandomState
        Seed of the host random number generator; the same seed gives the
        same initial centers on every backend.
    chunk_bytes : int or None, default=None
        Memory budget in bytes for one row chunk's temporaries (see KMeans).

    Attributes
    ----------
    cluster_centers_ : array of shape (n_clusters, n_features)
        Unit-length centers.
    labels_ : array of shape (n_samples,)
    inertia_ : float
        Weighted sum of ``1 - cos`` between the samples and their centers.
    n_iter_ : int
    n_features_in_ : int
    feature_names_in_ : ndarray of str, shape (n_features_in_,)
        The column names of ``X``, when fitted on a data frame whose column
        names are all strings.

    See Also
    --------
    KMeans : the Euclidean version.

    Notes
    -----
    A sample of all zeros has no direction: it stays a zero vector, at cosine
    distance 1 from every center. ``transform`` returns cosine distances.
    Rows are scaled to unit length inside each chunk of every pass (no
    normalised copy of X is made), so Dask arrays work as for KMeans (with
    k-means|| for "k-means++").

    Examples
    --------
    >>> import numpy as np
    >>> from kmeans_xp import SphericalKMeans
    >>> X = np.array([[1.0, 0.1], [5.0, 0.2], [0.1, 1.0], [0.3, 7.0]])
    >>> skm = SphericalKMeans(n_clusters=2, random_state=0).fit(X)
    >>> bool(skm.labels_[0] == skm.labels_[1] and skm.labels_[2] == skm.labels_[3])
    True
    >>> np.linalg.norm(skm.cluster_centers_, axis=1).round(6).tolist()
    [1.0, 1.0]
    >>> bool(skm.predict(np.array([[100.0, 3.0]]))[0] == skm.labels_[0])
    True
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = SPHERICAL_CONSTRAINTS
    _geometry: ClassVar[Geometry] = Geometry.COSINE
    _what_repeats: ClassVar[str] = "samples with the same direction"

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        init: Any = "k-means++",
        n_init: Any = "auto",
        max_iter: int = 300,
        tol: float = 1e-4,
        verbose: int = 0,
        random_state: Any = None,
        chunk_bytes: int | None = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.verbose = verbose
        self.random_state = random_state
        self.chunk_bytes = chunk_bytes

    def fit(
        self, X: Array, y: object = None, sample_weight: Array | None = None
    ) -> SphericalKMeans:
        """Compute the spherical clustering of ``X``.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            Samples of any Array API library (Dask included); only their
            directions matter.
        y : ignored
        sample_weight : array of shape (n_samples,), default=None

        Returns
        -------
        self : SphericalKMeans
        """
        return self._fit_runs(X, sample_weight)
