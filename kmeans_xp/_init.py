"""Initial centers: random, greedy k-means++ and k-means||. Pure Array API.

Random numbers are drawn on the host with NumPy's ``RandomState`` and moved
to the device, so one seed gives the same initial centers on every backend
(and the same draws as scikit-learn).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import _backend
from ._assign import Data


def host_weights(data: Data) -> np.ndarray:
    """Sample weights on the host (ones when unweighted), in the data's dtype."""
    if data.weights is None:
        float64 = getattr(data.xp, "float64", None)
        return np.ones(data.n, dtype=np.float64 if data.dtype == float64 else np.float32)
    return _backend.to_host(data.xp, data.weights)


def init_random(data: Data, k: int, rs: np.random.RandomState) -> Any:
    """k distinct samples drawn with probability proportional to their weight."""
    w = host_weights(data)
    seeds = rs.choice(data.n, size=k, replace=False, p=w / w.sum())
    idx = _backend.from_host(data.xp, seeds.astype(np.int64), data.device)
    return data.take(idx)


def _row_sq_norms(data: Data) -> Any:
    xp = data.xp
    parts = []
    for start, stop in data.bounds():
        Xb = data.rows(start, stop)
        parts.append(xp.sum(Xb * Xb, axis=1))
    return parts[0] if len(parts) == 1 else xp.concat(parts)


def _sq_dists_to(xp: Any, Xb: Any, xsq_b: Any, C: Any) -> Any:
    """(rows, m) squared distances from a block to m points, clipped at 0."""
    csq = xp.sum(C * C, axis=1)
    d2 = xsq_b[:, None] + csq[None, :] - 2.0 * xp.matmul(Xb, xp.permute_dims(C, (1, 0)))
    return xp.clip(d2, 0.0, None)


def kmeans_plusplus(
    data: Data,
    k: int,
    rs: np.random.RandomState,
    n_local_trials: int | None = None,
) -> tuple[Any, Any]:
    """Greedy k-means++ (as scikit-learn): returns (centers, indices).

    At each step ``n_local_trials`` candidates are sampled with probability
    proportional to weight * squared distance to the closest chosen center;
    the one that lowers the potential most is kept. Candidates are scored for
    all points at once, one chunk of rows at a time.
    """
    xp = data.xp
    n = data.n
    if n_local_trials is None:
        n_local_trials = 2 + int(math.log(k))
    w_host = host_weights(data)
    first = int(rs.choice(n, p=w_host / w_host.sum()))
    indices = [first]
    xsq = _row_sq_norms(data)
    w = data.weights
    c0 = data.take(_backend.from_host(xp, np.asarray([first], dtype=np.int64), data.device))
    closest = xp.concat(
        [
            _sq_dists_to(xp, data.rows(a, b), xsq[a:b], c0)[:, 0]
            for a, b in data.bounds()
        ]
    )
    pot = xp.sum(closest) if w is None else xp.sum(closest * w)
    # keep the candidates' distance columns when they are small against X
    keep = n_local_trials * 4 <= data.d
    for _ in range(1, k):
        u = _backend.from_host(xp, rs.uniform(size=n_local_trials), data.device, data.dtype)
        targets = u * pot
        cum = xp.cumulative_sum(closest if w is None else closest * w)
        cand = xp.searchsorted(cum, targets)
        cand = xp.clip(cand, 0, n - 1)
        C = data.take(cand)
        pots = None
        kept = []
        for a, b in data.bounds():
            d2 = xp.minimum(closest[a:b, None], _sq_dists_to(xp, data.rows(a, b), xsq[a:b], C))
            if keep:
                kept.append(d2)
            wb = data.weights_of(a, b)
            part = xp.sum(d2, axis=0) if wb is None else xp.matmul(wb[None, :], d2)[0, :]
            pots = part if pots is None else pots + part
        best = int(xp.argmin(pots))
        pot = pots[best]
        if keep:
            closest = xp.concat([d2[:, best] for d2 in kept])
        else:
            cbest = C[best : best + 1, :]
            closest = xp.concat(
                [
                    xp.minimum(
                        closest[a:b],
                        _sq_dists_to(xp, data.rows(a, b), xsq[a:b], cbest)[:, 0],
                    )
                    for a, b in data.bounds()
                ]
            )
        indices.append(int(cand[best]))
    idx = _backend.from_host(xp, np.asarray(indices, dtype=np.int64), data.device)
    return data.take(idx), idx
