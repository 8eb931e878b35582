"""KMeans, k_means and kmeans_plusplus: the n_init loop over Lloyd or Hamerly runs."""

from __future__ import annotations

import enum
from typing import Any, ClassVar

from . import _backend
from ._assign import Data, chunk_size_for
from ._hamerly import HamerlyStep
from ._init import kmeans_plusplus as _kmeans_plusplus
from ._kmeans_base import BaseKMeans
from ._lloyd import LloydStep, Step
from ._typing import Array, Namespace
from ._validation import (
    K_MEANS_FUNCTION_CONSTRAINTS,
    KMEANS_CONSTRAINTS,
    as_array,
    check_data,
    check_int,
    check_n_clusters,
    check_random_state,
    get_namespace,
    prepare_sample_weight,
    validate_params,
)


class Algorithm(enum.Enum):
    """The iteration a KMeans run uses."""

    LLOYD = "lloyd"
    HAMERLY = "hamerly"

    @classmethod
    def resolve(cls, name: str, k: int, xp: Namespace, device: Any = None) -> Algorithm:
        """ "elkan" is an alias of "hamerly"; "auto" is Hamerly for 8 or more
        clusters where bound pruning pays off, else Lloyd."""
        if name == "auto":
            return cls.HAMERLY if k >= 8 and _backend.prunes_well(xp, device) else cls.LLOYD
        if name in ("hamerly", "elkan"):
            return cls.HAMERLY
        return cls.LLOYD


class KMeans(BaseKMeans):
    """K-Means clustering on any Array API library (NumPy, CuPy, torch, JAX, Dask).

    The same seed gives the same initial centers on every backend; results come
    back in the namespace, dtype and device of the input.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters.
    init : {"k-means++", "k-means||", "random"}, callable or array of shape \
            (n_clusters, n_features), default="k-means++"
        Initialisation: greedy k-means++, k-means|| (scalable k-means++: a few
        oversampling passes over the data, then weighted k-means++ on the
        candidates), k samples drawn at random, a callable, or the given
        centers (an array of the same library and device as ``X``; for a Dask
        ``X``, a NumPy array is accepted too). For Dask arrays "k-means++" is
        replaced by "k-means||", which needs 5 passes over the data instead of
        n_clusters; for greedy k-means++ on Dask, pass
        ``kmeans_plusplus(X, k)[0]``. A callable is called once per
        initialisation as scikit-learn calls it,
        ``init(X, n_clusters, random_state=random_state)``, with ``X`` as
        validated (the input's library, device and floating dtype; not
        centered) and the estimator's ``numpy.random.RandomState``; it returns
        the centers, an array of ``X``'s library or a NumPy array, checked
        like an ``init`` array (shape, finite values).
    n_init : "auto" or int, default="auto"
        Number of initialisations; the run with the lowest inertia is kept.
        "auto" means 1 for k-means++, k-means|| or an array, 10 for random or
        a callable.
    max_iter : int, default=300
        Maximum number of iterations of one run.
    tol : float, default=1e-4
        Relative tolerance: a run stops when the total squared center shift is at
        most ``tol`` times the mean per-feature variance of ``X``.
    verbose : int, default=0
        Print one line per iteration (inertia, center shift, elapsed) on stderr.
    random_state : None, int or numpy.random.RandomState
        Seed of the host random number generator.
    copy_x : bool, default=True
        Accepted for scikit-learn compatibility; no effect. ``X`` is never
        modified (scikit-learn centers it in place when False; here the
        centering is done inside each chunk of every pass).
    algorithm : {"lloyd", "hamerly", "auto"}, default="lloyd"
        The iteration used. "hamerly" keeps per-sample distance bounds and skips
        the samples that cannot change cluster: the same labels and centers as
        "lloyd", with fewer distance computations. "elkan" is accepted as an
        alias of "hamerly" (scikit-learn's name for its bounded algorithm).
        "auto" picks "hamerly" for 8 or more clusters on NumPy, CuPy, torch,
        array-api-strict and JAX arrays in host memory, and "lloyd" otherwise
        (JAX's eager mode on an accelerator recompiles for every subset size,
        and Dask's cost is the pass itself).
    chunk_bytes : int or None, default=None
        Memory budget in bytes for one row chunk's temporaries. None picks a
        cache-sized block on the CPU and a fraction of free memory on a GPU.

    Attributes
    ----------
    cluster_centers_ : array of shape (n_clusters, n_features)
    labels_ : array of shape (n_samples,)
    inertia_ : float
        Weighted sum of squared distances of samples to their closest center.
    n_iter_ : int
    n_features_in_ : int
    feature_names_in_ : ndarray of str, shape (n_features_in_,)
        The column names of ``X``, when fitted on a data frame whose column
        names are all strings.

    Examples
    --------
    >>> import numpy as np
    >>> from kmeans_xp import KMeans
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [10, 2], [10, 4], [10, 0]])
    >>> km = KMeans(n_clusters=2, random_state=0).fit(X)
    >>> sorted(km.cluster_centers_.tolist())
    [[1.0, 2.0], [10.0, 2.0]]
    >>> km.predict(np.array([[0, 0], [12, 3]])).tolist() == [km.labels_[0], km.labels_[3]]
    True
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = KMEANS_CONSTRAINTS

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
        copy_x: bool = True,
        algorithm: str = "lloyd",
        chunk_bytes: int | None = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.verbose = verbose
        self.random_state = random_state
        self.copy_x = copy_x
        self.algorithm = algorithm
        self.chunk_bytes = chunk_bytes

    def fit(self, X: Array, y: object = None, sample_weight: Array | None = None) -> KMeans:
        """Compute the clustering of ``X``.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            Samples of any Array API library (NumPy, CuPy, torch, JAX, Dask),
            or anything NumPy converts (lists, pandas).
        y : ignored
        sample_weight : array of shape (n_samples,), default=None
            Weight of each sample (non-negative, not all zero).

        Returns
        -------
        self : KMeans
        """
        return self._fit_runs(X, sample_weight)

    def _make_step(self, data: Data, k: int) -> Step:
        # one cluster: nothing to prune (and no second center to bound)
        algorithm = Algorithm.resolve(self.algorithm, k, data.xp, data.device)
        if algorithm is Algorithm.HAMERLY and k > 1:
            return HamerlyStep(data)
        return LloydStep(data)


def kmeans_plusplus(
    X: Array,
    n_clusters: int,
    *,
    sample_weight: Array | None = None,
    x_squared_norms: Any = None,
    random_state: Any = None,
    n_local_trials: int | None = None,
) -> tuple[Array, Array]:
    """Greedy k-means++ seeding, as scikit-learn's ``kmeans_plusplus``.

    Returns ``(centers, indices)`` in the namespace and on the device of ``X``.
    ``x_squared_norms`` (array of shape (n_samples,), default None) is
    accepted for scikit-learn compatibility and not used: its length is
    checked, with scikit-learn's message, and the norms are computed chunk by
    chunk as needed. ``X`` is never modified.

    Examples
    --------
    >>> import numpy as np
    >>> from kmeans_xp import kmeans_plusplus
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [10, 2], [10, 4], [10, 0]])
    >>> centers, indices = kmeans_plusplus(X, n_clusters=2, random_state=0)
    >>> centers.shape, indices.shape
    ((2, 2), (2,))
    """
    xp, device = get_namespace(X)
    X = check_data(xp, X, device)
    n = int(X.shape[0])
    k = check_n_clusters(n_clusters, n)
    if n_local_trials is not None:
        check_int(n_local_trials, "n_local_trials", 1)
    if x_squared_norms is not None:
        norms = as_array(xp, x_squared_norms, device, "x_squared_norms")
        if norms.ndim != 1 or norms.shape[0] != n:
            length = int(norms.shape[0]) if norms.ndim == 1 else tuple(norms.shape)
            raise ValueError(
                f"The length of x_squared_norms {length} should be equal to the length of "
                f"n_samples {n}."
            )
    sw = prepare_sample_weight(xp, sample_weight, n, X.dtype, device, like=X)
    rs = check_random_state(random_state)
    X = _backend.prepare_rows(xp, X)
    chunk = chunk_size_for(xp, X, device, 16, None)
    data = Data(
        xp=xp, X=X, weights=sw.array, offset=None, device=device, chunk=chunk, chunk_cols=16
    )
    with _backend.blas_one_thread:
        centers, idx = _kmeans_plusplus(data, k, rs, n_local_trials)
    if data.sxp is not xp:
        centers = xp.asarray(centers)
    return centers, _backend.from_host(xp, idx, device, _backend.index_dtype(xp, device))


def k_means(
    X: Array,
    n_clusters: int,
    *,
    sample_weight: Array | None = None,
    init: Any = "k-means++",
    n_init: Any = "auto",
    max_iter: int = 300,
    verbose: bool = False,
    tol: float = 1e-4,
    random_state: Any = None,
    copy_x: bool = True,
    algorithm: str = "lloyd",
    return_n_iter: bool = False,
) -> tuple[Any, ...]:
    """K-Means clustering as a function, as scikit-learn's ``k_means``.

    Fits :class:`KMeans` with these parameters (the same validation, the same
    messages, which name ``KMeans`` as scikit-learn's do) and returns its
    results, in the namespace and on the device of ``X``.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    n_clusters : int
    sample_weight : array of shape (n_samples,), default=None
    init, n_init, max_iter, verbose, tol, random_state, algorithm
        As for :class:`KMeans`.
    copy_x : bool, default=True
        Accepted for scikit-learn compatibility; no effect (``X`` is never
        modified).
    return_n_iter : bool, default=False
        Also return the number of iterations of the best run.

    Returns
    -------
    centroid : array of shape (n_clusters, n_features)
    label : array of shape (n_samples,)
    inertia : float
    best_n_iter : int
        Only with ``return_n_iter=True``.

    Examples
    --------
    >>> import numpy as np
    >>> from kmeans_xp import k_means
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [10, 2], [10, 4], [10, 0]])
    >>> centers, labels, inertia = k_means(X, n_clusters=2, n_init="auto", random_state=0)
    >>> sorted(centers.tolist())
    [[1.0, 2.0], [10.0, 2.0]]
    >>> inertia
    16.0
    """
    validate_params(
        {"return_n_iter": return_n_iter}, K_MEANS_FUNCTION_CONSTRAINTS, caller="k_means"
    )
    est = KMeans(
        n_clusters=n_clusters,
        init=init,
        n_init=n_init,
        max_iter=max_iter,
        verbose=verbose,
        tol=tol,
        random_state=random_state,
        copy_x=copy_x,
        algorithm=algorithm,
    ).fit(X, sample_weight=sample_weight)
    if return_n_iter:
        return est.cluster_centers_, est.labels_, est.inertia_, est.n_iter_
    return est.cluster_centers_, est.labels_, est.inertia_
