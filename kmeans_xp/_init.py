"""Initial centers: random, greedy k-means++ and k-means||. Pure Array API.

Random numbers are drawn on the host with NumPy's ``RandomState`` and moved
to the device, so one seed gives the same initial centers on every backend
(and the same draws as scikit-learn for random and k-means++).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import _backend
from ._assign import Data, block_assign, centers_args, expand, row_sq_norms, shifted


def host_weights(data: Data) -> np.ndarray:
    """Sample weights on the host (ones when unweighted), float64."""
    if data.weights is None:
        return np.ones(data.n, dtype=np.float64)
    return _backend.to_host(data.xp, data.weights).astype(np.float64)


def take_rows(data: Data, idx: np.ndarray) -> Any:
    """Rows at host indices ``idx``, shifted, in the small namespace."""
    idx = np.asarray(idx, dtype=np.int64)
    if data.sxp is data.xp:
        rows = data.xp.take(data.X, _backend.from_host(data.xp, idx, data.device), axis=0)
    else:  # Dask: gather the few rows to the client
        rows = data.sxp.asarray(_backend.to_host(data.xp, data.X[idx, :]))
    return shifted(rows, data.offset)


def init_random(data: Data, k: int, rs: np.random.RandomState) -> Any:
    """k distinct samples drawn with probability proportional to their weight."""
    w = host_weights(data)
    seeds = rs.choice(data.n, size=k, replace=False, p=w / w.sum())
    return take_rows(data, seeds)


# ---------------------------------------------------------------- k-means++
def _sq_dists(xp: Any, Xb: Any, xsq_b: Any, C: Any) -> Any:
    """(rows, m) squared distances from a block to m points, clipped at 0."""
    csq = xp.sum(C * C, axis=1)
    d2 = xsq_b[:, None] + csq[None, :] - 2.0 * xp.matmul(Xb, xp.permute_dims(C, (1, 0)))
    return xp.maximum(d2, 0.0)


def _candidates_block(
    xp: Any, Xb: Any, wb: Any, closest_b: Any, xsq_b: Any, offset: Any, C: Any, keep: Any
) -> Any:
    # distances to the candidates, floored by the current closest distance;
    # stats: the potential each candidate would leave
    d2 = _sq_dists(xp, shifted(Xb, offset), xsq_b, C)
    if closest_b is not None:
        d2 = xp.minimum(closest_b[:, None], d2)
    pots = xp.sum(d2, axis=0) if wb is None else xp.matmul(wb[None, :], d2)[0, :]
    return ((d2,) if bool(keep) else ()), (pots,)


class _Potential:
    """Closest squared distance of every sample to the chosen centers."""

    def __init__(self, data: Data) -> None:
        self.data = data
        self.xsq = row_sq_norms(data)
        self.closest = None

    def evaluate(self, C: Any, keep: bool) -> tuple[Any, Any]:
        """Potentials with each row of C added; with ``keep``, the (n, m) distances."""
        data = self.data
        specs = (((int(C.shape[0]),), data.dtype),) if keep else ()
        outs, (pots,) = data.map(
            _candidates_block, (self.closest, self.xsq), (C, keep), out_specs=specs
        )
        return (outs[0] if keep else None), pots

    def add(self, C: Any) -> Any:
        """Add the single center C (1, d); returns the new total potential."""
        d2, pots = self.evaluate(C, keep=True)
        self.closest = _backend.persist(self.data.xp, d2[:, 0])
        return pots[0]


def _pp_gain_block(
    xp: Any, Xb: Any, wb: Any, closest_b: Any, owner_b: Any, xsq_b: Any,
    offset: Any, C: Any, reach: Any, keep: Any,
) -> Any:
    # How much each candidate would lower the potential. A sample can only get
    # closer to a candidate within twice its current distance of the center
    # that owns it (triangle inequality); the others are not scored at all.
    # With ``keep``, also the new closest distance of every row for every
    # candidate, (rows, t), so the chosen one needs no second pass.
    t = int(C.shape[0])
    rows = int(closest_b.shape[0])
    if reach is None:  # no pruning (static shapes): every row
        need, idx, count = None, None, rows
    else:
        need = xp.take(reach, owner_b) < closest_b
        idx, count = _backend.nonzero_rows(xp, need)
    if 2 * count > rows:  # most rows: score them all, contiguously
        d2 = xp.minimum(closest_b[:, None], _sq_dists(xp, shifted(Xb, offset), xsq_b, C))
        gain = closest_b[:, None] - d2
        w = wb
    elif count:
        Xs = xp.take(shifted(Xb, offset), idx, axis=0)
        cl = xp.take(closest_b, idx)
        d2s = xp.minimum(cl[:, None], _sq_dists(xp, Xs, xp.take(xsq_b, idx), C))
        gain = cl[:, None] - d2s
        valid = xp.arange(int(idx.shape[0]), device=_backend.device_of(idx)) < count
        w = xp.astype(valid, gain.dtype)
        if wb is not None:
            w = w * xp.take(wb, idx)
        d2 = expand(xp, need, d2s, closest_b[:, None]) if bool(keep) else None
    else:
        gain = w = None
        d2 = closest_b[:, None] * xp.ones((1, t), dtype=closest_b.dtype) if bool(keep) else None
    if gain is None:
        gains = xp.zeros((t,), dtype=closest_b.dtype, device=_backend.device_of(closest_b))
    elif w is None:
        gains = xp.sum(gain, axis=0)
    else:
        gains = xp.matmul(w[None, :], gain)[0, :]
    return ((d2,) if bool(keep) else ()), (gains,)


def _pp_update_block(
    xp: Any, Xb: Any, wb: Any, closest_b: Any, owner_b: Any, xsq_b: Any,
    offset: Any, c: Any, reach: Any, new_id: Any,
) -> Any:
    # add the chosen center c (1, d): new closest distances and owners
    if reach is None:  # no pruning (static shapes): every row
        need = xp.ones(closest_b.shape, dtype=xp.bool, device=_backend.device_of(closest_b))
    else:
        need = xp.take(reach, owner_b) < closest_b
    idx, count = _backend.nonzero_rows(xp, need)
    if count:
        Xs = xp.take(shifted(Xb, offset), idx, axis=0)
        cl = xp.take(closest_b, idx)
        d2 = _sq_dists(xp, Xs, xp.take(xsq_b, idx), c)[:, 0]
        closer = d2 < cl
        closest_b = expand(xp, need, xp.where(closer, d2, cl), closest_b)
        owner_b = expand(
            xp, need, xp.where(closer, xp.asarray(new_id, dtype=owner_b.dtype,
                                                  device=_backend.device_of(owner_b)),
                              xp.take(owner_b, idx)), owner_b,
        )
    pot = xp.sum(closest_b) if wb is None else xp.sum(closest_b * wb)
    return (closest_b, owner_b), (pot,)


def _reach(sxp: Any, centers: Any, C: Any, eps: float) -> Any:
    """(n_chosen, m) quarter squared distances from the chosen centers to the
    candidates, shrunk by a rounding margin (a sample is skipped only when a
    candidate is surely not closer than its current center)."""
    d2 = _sq_dists(sxp, centers, sxp.sum(centers * centers, axis=1), C)
    scale = sxp.max(sxp.sum(centers * centers, axis=1)) + sxp.max(sxp.sum(C * C, axis=1))
    return 0.25 * (d2 * (1.0 - 64.0 * eps) - 64.0 * eps * scale)


def kmeans_plusplus(
    data: Data,
    k: int,
    rs: np.random.RandomState,
    n_local_trials: int | None = None,
) -> tuple[Any, np.ndarray]:
    """Greedy k-means++ (as scikit-learn): returns (centers, host indices).

    At each step ``n_local_trials`` candidates are sampled with probability
    proportional to weight * squared distance to the closest chosen center;
    the one that lowers the potential most is kept. Each sample remembers
    which chosen center is closest to it; by the triangle inequality it is
    scored against the candidates only when one of them lies within twice its
    current distance of that center, so late steps touch few samples.
    """
    xp, sxp = data.xp, data.sxp
    n = data.n
    if n_local_trials is None:
        n_local_trials = 2 + int(math.log(k))
    # a step's temporaries are a few (rows, n_local_trials) arrays
    data = data.with_columns(4 * n_local_trials)
    eps = float(sxp.finfo(data.dtype).eps)
    w_host = host_weights(data)
    indices = [int(rs.choice(n, p=w_host / w_host.sum()))]
    state = _Potential(data)
    first = take_rows(data, np.asarray(indices))
    pot = state.add(first)
    chosen = [first]  # rows (1, d); stacked when the pruning bounds need them
    stacked = first
    prune = not _backend.prefers_static_shapes(sxp)
    owner = _backend.rows_from_host(xp, np.zeros(n, dtype=np.int64), data.X, data.device, None)
    # keep every row's distance to each candidate when that is small next to X
    # (at most 1/8 of X, twice that while the chunks are joined)
    keep = n_local_trials * 8 <= data.d
    for step in range(1, k):
        u = rs.uniform(size=n_local_trials)
        mass = state.closest if data.weights is None else state.closest * data.weights
        cum = xp.cumulative_sum(mass)
        targets = _backend.from_host(xp, u * float(pot), data.device, cum.dtype)
        cand = _backend.to_host(xp, xp.searchsorted(cum, targets))
        cand = np.clip(cand, 0, n - 1)
        C = take_rows(data, cand)
        reach = _reach(sxp, stacked, C, eps) if prune else None
        kept, (gains,) = data.map(
            _pp_gain_block, (state.closest, owner, state.xsq),
            (C, None if reach is None else sxp.min(reach, axis=1), keep),
            out_specs=(((n_local_trials,), data.dtype),) if keep else (),
        )
        best = int(sxp.argmax(gains))
        if keep:
            closest = kept[0][:, best]
            owner = xp.where(closest < state.closest, step, owner)
            pot = pot - gains[best]
        else:
            (closest, owner), (pot,) = data.map(
                _pp_update_block, (state.closest, owner, state.xsq),
                (C[best : best + 1, :], None if reach is None else reach[:, best], step),
                out_specs=(((), data.dtype), ((), sxp.int64)),
            )
        state.closest = _backend.persist(xp, closest)
        owner = _backend.persist(xp, owner)
        chosen.append(C[best : best + 1, :])
        if prune:
            stacked = sxp.concat([stacked, chosen[-1]])
        indices.append(int(cand[best]))
    chosen = stacked if prune else sxp.concat(chosen)
    idx = np.asarray(indices, dtype=np.int64)
    return chosen, idx


# ---------------------------------------------------------------- k-means||
def _select_block(
    xp: Any, Xb: Any, wb: Any, closest_b: Any, u_b: Any, offset: Any, scale: Any
) -> Any:
    # keep each sample with probability min(1, scale * w * closest)
    p = closest_b * float(scale) if wb is None else closest_b * wb * float(scale)
    idx = xp.nonzero(u_b < p)[0]
    return (), (xp.take(shifted(Xb, offset), idx, axis=0),)


def _concat_rows(xp: Any, a: Any, b: Any) -> Any:
    return (xp.concat([a[0], b[0]]),)


def _min_dist_block(
    xp: Any, Xb: Any, wb: Any, closest_b: Any, xsq_b: Any, offset: Any, C: Any
) -> Any:
    d2 = xp.min(_sq_dists(xp, shifted(Xb, offset), xsq_b, C), axis=1)
    d2 = xp.minimum(closest_b, d2)
    pot = xp.sum(d2) if wb is None else xp.sum(d2 * wb)
    return (d2,), (pot,)


def _weights_block(
    xp: Any, Xb: Any, wb: Any, offset: Any, centers_t: Any, half_csq: Any
) -> Any:
    lab = block_assign(xp, shifted(Xb, offset), centers_t, half_csq)
    m = int(centers_t.shape[1])
    return (), (_backend.segment_count(xp, lab, m, wb, Xb.dtype),)


def kmeans_parallel(
    data: Data,
    k: int,
    rs: np.random.RandomState,
    *,
    rounds: int = 5,
    oversampling: float = 2.0,
) -> Any:
    """k-means|| (scalable k-means++, Bahmani et al. 2012).

    ``rounds`` passes each keep every sample independently with probability
    ``oversampling * k * w * d^2 / potential``; the candidates are weighted by
    the weight of the samples closest to them and reduced to k centers by
    weighted greedy k-means++ and Lloyd iterations on the host. Each pass is a
    map over row chunks, so on Dask the whole init is a few passes over X.
    """
    xp, sxp = data.xp, data.sxp
    n = data.n
    w_host = host_weights(data)
    first = int(rs.choice(n, p=w_host / w_host.sum()))
    state = _Potential(data)
    candidates = take_rows(data, np.asarray([first]))
    pot = float(state.add(candidates))
    ell = oversampling * k
    for _ in range(rounds):
        if pot <= 0.0:
            break
        u = _backend.rows_from_host(xp, rs.uniform(size=n), data.X, data.device, data.dtype)
        _, (new,) = data.map(
            _select_block, (state.closest, u), (ell / pot,), combine=_concat_rows
        )
        if int(new.shape[0]) == 0:
            continue
        candidates = sxp.concat([candidates, new])
        (closest,), (total,) = data.with_columns(int(new.shape[0])).map(
            _min_dist_block, (state.closest, state.xsq), (new,),
            out_specs=(((), data.dtype),),
        )
        state.closest = _backend.persist(xp, closest)
        pot = float(total)
    _, (cand_w,) = data.with_columns(int(candidates.shape[0])).map(
        _weights_block, (), centers_args(sxp, candidates)
    )
    return _reduce_candidates(data, candidates, cand_w, k, rs)


def _reduce_candidates(
    data: Data, candidates: Any, cand_w: Any, k: int, rs: np.random.RandomState
) -> Any:
    """Weighted k-means++ then Lloyd on the (few) candidates, on the host."""
    from array_api_compat import numpy as np_xp

    from ._lloyd import lloyd_single

    C = _backend.to_host(data.sxp, candidates).astype(np.float64)
    w = _backend.to_host(data.sxp, cand_w).astype(np.float64)
    keep = w > 0
    C, w = C[keep], w[keep]
    if C.shape[0] <= k:
        # too few candidates: add random samples (duplicates allowed when the
        # data have fewer distinct points than k)
        extra = rs.choice(data.n, size=k - C.shape[0], replace=data.n < k)
        rows = _backend.to_host(data.sxp, take_rows(data, extra)).astype(np.float64)
        centers = np.concatenate([C, rows])
    else:
        # a few seedings of the small weighted problem (cheap next to a pass
        # over X); the one with the lowest weighted inertia is kept
        host = Data(xp=np_xp, X=C, weights=w, offset=None, device="cpu", chunk=C.shape[0])
        var = np.average((C - np.average(C, axis=0, weights=w)) ** 2, axis=0, weights=w)
        trials = max(1, min(10, int(2e7 // (C.shape[0] * k))))
        best = None
        for _ in range(trials):
            seeds, _ = kmeans_plusplus(host, k, rs)
            _, value, found, _, _ = lloyd_single(
                host, seeds, max_iter=30, tol=1e-4 * float(var.mean())
            )
            if best is None or value < best[0]:
                best = (value, found)
        centers = best[1]
    return _backend.from_host(data.sxp, np.asarray(centers), data.device, candidates.dtype)
