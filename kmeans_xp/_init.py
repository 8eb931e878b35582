"""Initial centers: random, greedy k-means++ and k-means||. Pure Array API.

Random numbers are drawn on the host with NumPy's ``RandomState`` and moved
to the device, so one seed gives the same initial centers on every backend
(and the same draws as scikit-learn for random and k-means++).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from . import _backend
from ._assign import (
    Block,
    BlockOut,
    Data,
    OutSpec,
    block_assign,
    expand,
    on_center_cost,
    prepare_block,
    row_sq_norms,
    scoring,
)


def host_weights(data: Data) -> np.ndarray:
    """Sample weights on the host (ones when unweighted), float64."""
    if data.weights is None:
        return np.ones(data.n, dtype=np.float64)
    return _backend.to_host(data.xp, data.weights).astype(np.float64)


def weight_unit_rows(
    rs: np.random.RandomState, weights: np.ndarray | None, n: int, size: int
) -> np.ndarray:
    """``size`` host row indices drawn with replacement, each row with
    probability proportional to its weight (``weights`` None: all equal).

    Draws weight units: ``rs.random_sample(size)`` scaled by the total
    weight and mapped through the running sum of the weights (a row owns the
    units from the sum before it to its own). With integer weights, a row of
    weight ``w`` is drawn exactly when one of ``w`` repeated copies of it
    would be, for the same ``rs`` (the running sums are exact, and unit
    weights map ``u`` to ``floor(u * n)``); a power-of-two scale of the
    weights changes nothing. Zero-weight rows are never drawn. The same
    draws as scikit-learn's ``rs.choice(n, size, p=w / w.sum())`` up to the
    rounding of its normalised running sum.
    """
    u = rs.random_sample(size)
    if weights is None:
        return np.minimum((u * n).astype(np.int64), n - 1)
    cum = np.cumsum(weights, dtype=np.float64)
    rows = np.searchsorted(cum, u * cum[-1], side="right")
    # u * total rounding up to the total: the last row with weight
    return np.minimum(rows, int(np.flatnonzero(weights > 0)[-1])).astype(np.int64)


def take_rows(data: Data, idx: np.ndarray) -> Any:
    """Rows at host indices ``idx``, shifted, in the small namespace."""
    idx = np.asarray(idx, dtype=np.int64)
    if data.sxp is data.xp:
        ind = _backend.from_host(
            data.xp, idx, data.device, _backend.index_dtype(data.xp, data.device)
        )
        rows = _backend.to_dense(data.xp, _backend.take_rows(data.xp, data.X, ind))
    else:  # Dask: gather the few rows to the client
        rows = data.sxp.asarray(_backend.to_host(data.xp, data.X[idx, :]))
    return prepare_block(data.sxp, rows, data.geometry, data.offset)


def init_random(data: Data, k: int, rs: np.random.RandomState) -> Any:
    """k distinct samples drawn with probability proportional to their weight."""
    w = host_weights(data)
    positive = int(np.count_nonzero(w > 0))
    if positive < k:
        raise ValueError(
            f"init='random' draws n_clusters={k} distinct samples with probability "
            f"proportional to sample_weight, but only {positive} samples have a positive "
            "weight; give more samples a positive weight, lower n_clusters, or use "
            "init='k-means++'"
        )
    seeds = rs.choice(data.n, size=k, replace=False, p=w / w.sum())
    return take_rows(data, seeds)


# ---------------------------------------------------------------- k-means++
def _sq_dists(xp: Any, Xb: Any, xsq_b: Any, C: Any) -> Any:
    """(rows, m) squared distances from a block to m points, clipped at 0."""
    csq = xp.sum(C * C, axis=1)
    d2 = xsq_b[:, None] + csq[None, :] - 2.0 * _backend.matmul(xp, Xb, xp.permute_dims(C, (1, 0)))
    return xp.maximum(d2, 0.0)


def _candidates_block(b: Block, C: Any, keep: Any) -> BlockOut:
    # distances to the candidates, floored by the current closest distance;
    # stats: the potential each candidate would leave
    xp, wb, closest_b = b.xp, b.weights, b.rows["closest"]
    d2 = _sq_dists(xp, b.X, b.rows["xsq"], C)
    if closest_b is not None:
        d2 = xp.minimum(closest_b[:, None], d2)
    pots = xp.sum(d2, axis=0) if wb is None else xp.matmul(wb[None, :], d2)[0, :]
    return BlockOut(((d2,) if bool(keep) else ()), (pots,))


class _Potential:
    """Closest squared distance of every sample to the chosen centers."""

    def __init__(self, data: Data) -> None:
        self.data = data
        self.xsq = row_sq_norms(data)
        self.closest = None

    def evaluate(self, C: Any, keep: bool) -> tuple[Any, Any]:
        """Potentials with each row of C added; with ``keep``, the (n, m) distances."""
        data = self.data
        specs = (OutSpec((int(C.shape[0]),), data.dtype),) if keep else ()
        outs, (pots,) = data.map(
            _candidates_block,
            {"closest": self.closest, "xsq": self.xsq},
            (C, keep),
            out_specs=specs,
        )
        return (outs[0] if keep else None), pots

    def add(self, C: Any) -> Any:
        """Add the single center C (1, d); returns the new total potential."""
        d2, pots = self.evaluate(C, keep=True)
        self.closest = _backend.persist(self.data.xp, d2[:, 0])
        return pots[0]


def _gain(xp: Any, Xs: Any, a: Any, C2t: Any, csq: Any) -> Any:
    # (t, rows) potential drop of each row for each candidate:
    # max(closest - ||x - c||^2, 0) = max(closest - ||x||^2 + 2 x.c - ||c||^2, 0),
    # with a = closest - ||x||^2 and C2t = 2 C^T: one product and a pass
    # along the rows. C2t may have extra (padding) columns past t = len(csq).
    return _backend.candidate_gains(xp, Xs, a, C2t, csq)


def _pp_gain_block(b: Block, C2t: Any, csq: Any, reach: Any, keep: Any) -> BlockOut:
    # How much each candidate would lower the potential. A sample can only get
    # closer to a candidate within twice its current distance of the center
    # that owns it (triangle inequality); the others are not scored at all.
    # ``keep`` says what else comes back so the chosen candidate needs no
    # second pass: "rows", the new closest distance of every row for every
    # candidate (rows, t), row-aligned (Dask); "compact", the (need, gain)
    # pair as computed, gain (t, scored rows) (in-memory chunks, not
    # concatenated); "" nothing.
    xp, wb = b.xp, b.weights
    closest_b, owner_b, xsq_b = b.rows["closest"], b.rows["owner"], b.rows["xsq"]
    t = int(csq.shape[0])
    rows = int(closest_b.shape[0])
    if reach is None:  # no pruning (static shapes): every row
        need, idx, count = None, None, rows
    else:
        need = _backend.within_reach(xp, reach, owner_b, closest_b)
        idx, count = _backend.nonzero_rows(xp, need)
    if 3 * count > rows:  # many rows: a gather would cost more than scoring all
        gain = _gain(xp, b.X, closest_b - xsq_b, C2t, csq)
        w, need = wb, None
    elif count:
        Xs = b.rows_at(idx)
        gain = _gain(xp, Xs, xp.take(closest_b - xsq_b, idx), C2t, csq)
        valid = xp.arange(count_padded(idx), device=_backend.device_of(idx)) < count
        w = xp.astype(valid, gain.dtype)
        if wb is not None:
            w = w * xp.take(wb, idx)
    else:
        gain = w = None
    if gain is None:
        gains = xp.zeros((t,), dtype=closest_b.dtype, device=_backend.device_of(closest_b))
    elif w is None:
        gains = xp.sum(gain, axis=1)
    else:
        gains = xp.matmul(gain, w[:, None])[:, 0]
    if keep == "compact":
        return BlockOut((rows, need, gain), (gains,))
    if keep == "rows":
        if gain is None:
            new = closest_b[:, None] * xp.ones((1, t), dtype=closest_b.dtype)
        else:
            gain = xp.permute_dims(gain, (1, 0))
            if need is not None:
                gain = expand(xp, need, gain, xp.zeros_like(gain[:1, :]))
            new = closest_b[:, None] - gain
        return BlockOut((new,), (gains,))
    return BlockOut((), (gains,))


def count_padded(idx: Any) -> int:
    """Length of an index array from ``_backend.nonzero_rows`` (padded on JAX)."""
    return int(idx.shape[0])


def _chosen_gain(xp: Any, parts: list[Any], best: int, like: Any) -> Any:
    """(n,) potential drop of every row for candidate ``best``, from the
    "compact" outputs of ``_pp_gain_block``, chunk by chunk."""
    cols = []
    for rows, need, gain in parts:
        if gain is None:
            cols.append(xp.zeros((rows,), dtype=like.dtype, device=_backend.device_of(like)))
        elif need is None:
            cols.append(gain[best, :])
        else:
            cols.append(expand(xp, need, gain[best, :], xp.zeros_like(gain[best, :1])))
    if len(cols) == 1:  # a copy, not a view that keeps every candidate's gains
        return xp.asarray(cols[0], copy=True)
    return xp.concat(cols)


def _pp_update_block(b: Block, c: Any, reach: Any, new_id: Any) -> BlockOut:
    # add the chosen center c (1, d): new closest distances and owners
    xp = b.xp
    closest_b, owner_b, xsq_b = b.rows["closest"], b.rows["owner"], b.rows["xsq"]
    if reach is None:  # no pruning (static shapes): every row
        need = xp.ones(closest_b.shape, dtype=xp.bool, device=_backend.device_of(closest_b))
    else:
        need = xp.take(reach, owner_b) < closest_b
    idx, count = _backend.nonzero_rows(xp, need)
    if count:
        Xs = b.rows_at(idx)
        cl = xp.take(closest_b, idx)
        d2 = _sq_dists(xp, Xs, xp.take(xsq_b, idx), c)[:, 0]
        closer = d2 < cl
        closest_b = expand(xp, need, xp.where(closer, d2, cl), closest_b)
        owner_b = expand(
            xp,
            need,
            xp.where(
                closer,
                xp.asarray(new_id, dtype=owner_b.dtype, device=_backend.device_of(owner_b)),
                xp.take(owner_b, idx),
            ),
            owner_b,
        )
    return BlockOut((closest_b, owner_b), (b.weighted_sum(closest_b),))


def _reach(sxp: Any, centers: Any, C: Any, eps: float) -> Any:
    """(n_chosen, m) quarter squared distances from the chosen centers to the
    candidates, shrunk by a rounding margin (a sample is skipped only when a
    candidate is surely not closer than its current center)."""
    d2 = _sq_dists(sxp, centers, sxp.sum(centers * centers, axis=1), C)
    scale = sxp.max(sxp.sum(centers * centers, axis=1)) + sxp.max(sxp.sum(C * C, axis=1))
    return 0.25 * (d2 * (1.0 - 64.0 * eps) - 64.0 * eps * scale)


_DRAW_BLOCK = 4096


def _keep_mode(xp: Any, pad: int, d: int, gains_bytes: int) -> str:
    """Whether a step keeps every scored row's gains, so that the chosen
    candidate needs no second pass: when they are small next to X, or
    (``gains_bytes``, all of them) within one chunk's memory budget, as on
    small data. In memory chunk by chunk, "compact" (at most 1/4 of X or
    one chunk's budget); on Dask as a row-aligned array, "rows" (at most 1/8
    of X); else "" (a second pass)."""
    if not _backend.is_lazy(xp):
        small = 0 < gains_bytes <= _backend.CPU_CHUNK_BUDGET
        return "compact" if pad * 4 <= d or small else ""
    return "rows" if pad * 8 <= d else ""


def _draw(xp: Any, mass: Any, u: np.ndarray, pot: Any, device: Any) -> np.ndarray:
    """Host indices drawn with probability proportional to ``mass``: the
    first index whose running sum reaches ``u * total``, as scikit-learn.

    In memory, without a running sum over all n: the sums of blocks of
    ``_DRAW_BLOCK`` rows pick the block, and only that block is summed
    cumulatively (on the host, in float64). Lazy arrays use one running sum
    and the tracked potential ``pot``.
    """
    n = int(mass.shape[0])
    if _backend.is_lazy(xp):
        cum = xp.cumulative_sum(mass)
        targets = _backend.from_host(xp, u * float(pot), device, cum.dtype)
        return np.clip(_backend.to_host(xp, xp.searchsorted(cum, targets)), 0, n - 1)
    B = _DRAW_BLOCK
    m = (n // B) * B
    parts = []
    if m:
        parts.append(xp.sum(xp.reshape(mass[:m], (m // B, B)), axis=1))
    if m < n:
        parts.append(xp.sum(mass[m:])[None])
    sums = _backend.to_host(xp, parts[0] if len(parts) == 1 else xp.concat(parts))
    ends = np.cumsum(sums.astype(np.float64))
    out = np.empty(len(u), dtype=np.int64)
    for j, target in enumerate(u * ends[-1]):
        b = min(int(np.searchsorted(ends, target)), len(ends) - 1)
        start = b * B
        block = _backend.to_host(xp, mass[start : min(n, start + B)]).astype(np.float64)
        local = int(np.searchsorted(np.cumsum(block), target - (ends[b - 1] if b else 0.0)))
        if local >= block.shape[0]:  # rounding past the block's end: its last
            local = int(np.flatnonzero(block > 0)[-1])  # sample with mass
        out[j] = start + local
    return out


def first_best(gains: np.ndarray, rounding: float) -> int:
    """The first candidate (in the order drawn) whose gain is the largest
    up to ``rounding``.

    Candidates of equal gain are common (two samples nearer to each other
    than to anything chosen: either leaves the other at the same distance);
    which of them ``argmax`` keeps would depend on the last bits of the sums,
    so on the backend's summation order or the scale of the rows. Within the
    rounding of the gains the earliest drawn wins, on every backend.
    """
    g = np.asarray(gains, dtype=np.float64)
    return int(np.flatnonzero(g >= g.max() - rounding)[0])


def kmeans_plusplus(
    data: Data,
    k: int,
    rs: np.random.RandomState,
    n_local_trials: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[Any, np.ndarray]:
    """Greedy k-means++ (as scikit-learn): returns (centers, host indices).

    ``progress(n_chosen)`` is called after each chosen center.

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
    # BLAS kernels work on multiples of 8 columns: the candidates are padded
    # for the product (repeating the last), and the padding dropped after it;
    # a sparse product costs each column (no padding)
    pad = n_local_trials if data.sparse else -(-n_local_trials // 8) * 8
    # a step's temporaries are about six (rows, pad) arrays (products, their
    # transposed copy, gains and the steps between); where the rows are read
    # in place (not copied), two (``_backend.candidate_gains`` keeps at most
    # two alive), a few per-row values and at most a third of the rows
    # gathered (``_pp_gain_block``): fewer chunks a step, which two threads
    # need (1M x 32, k=64: 3.1 s -> 2.0 s)
    data = data.with_columns(6 * pad)
    data = data.in_place(2 * pad + 4 + data.d // 3)
    eps = float(sxp.finfo(data.sdtype).eps)
    w_host = host_weights(data)
    indices = [int(rs.choice(n, p=w_host / w_host.sum()))]
    state = _Potential(data)
    first = take_rows(data, np.asarray(indices))
    pot = state.add(first)
    chosen = [first]  # rows (1, d); stacked when the pruning bounds need them
    stacked = first
    prune = not _backend.prefers_static_shapes(sxp)
    # which chosen center is closest to each sample (int32: k < 2**31)
    owner = _backend.rows_from_host(xp, np.zeros(n, dtype=np.int32), data.X, data.device, sxp.int32)
    # sparse rows: gains kept up to X's own size (``width`` counts a row's stored
    # values and indices), as a second pass would gather the rows again
    itemsize = 8 if data.sdtype == sxp.float64 else 4
    keep = _keep_mode(xp, pad, 4 * data.width if data.sparse else data.d, n * pad * itemsize)
    # how far a candidate's computed gain may be from its value: each row's
    # gain is a difference of squared distances expanded through the squared
    # norms (rounding of a few eps of ||x||^2 + ||c||^2 and of the closest
    # distance), summed over the rows
    weighted_xsq = float(xp.sum(state.xsq if data.weights is None else state.xsq * data.weights))
    total_weight = float(w_host.sum())

    def gain_rounding(csq: Any) -> float:
        return 16.0 * eps * (weighted_xsq + total_weight * float(sxp.max(csq)) + float(pot))

    for step in range(1, k):
        u = rs.uniform(size=n_local_trials)
        mass = state.closest if data.weights is None else state.closest * data.weights
        cand = _draw(xp, mass, u, pot, data.device)
        C = take_rows(data, cand)
        reach = _reach(sxp, stacked, C, eps) if prune else None
        Cp = C if pad == n_local_trials else sxp.concat([C] + [C[-1:, :]] * (pad - n_local_trials))
        C2t = _backend.matmul_operand(sxp, data.X, 2.0 * sxp.permute_dims(Cp, (1, 0)))
        csq = sxp.sum(C * C, axis=1)
        kept, (gains,) = data.map(
            _pp_gain_block,
            {"closest": state.closest, "owner": owner, "xsq": state.xsq},
            (C2t, csq, None if reach is None else sxp.min(reach, axis=1), keep),
            out_specs=(OutSpec((n_local_trials,), data.dtype),) if keep == "rows" else (),
            join=keep != "compact",
        )
        best = first_best(_backend.to_host(sxp, gains), gain_rounding(csq))
        if keep == "compact":
            drop = _chosen_gain(xp, kept, best, state.closest)
            kept = None  # free the other candidates' gains before the update
            closest, owner = _backend.lower_closest(xp, state.closest, owner, drop, step)
            pot = pot - gains[best]
        elif keep == "rows":
            closest = xp.maximum(kept[0][:, best], 0.0)
            owner = xp.where(
                closest < state.closest,
                xp.asarray(step, dtype=owner.dtype, device=data.device),
                owner,
            )
            pot = pot - gains[best]
        else:
            (closest, owner), (pot,) = data.map(
                _pp_update_block,
                {"closest": state.closest, "owner": owner, "xsq": state.xsq},
                (C[best : best + 1, :], None if reach is None else reach[:, best], step),
                out_specs=(OutSpec((), data.dtype), OutSpec((), sxp.int32)),
            )
        state.closest = _backend.persist(xp, closest)
        owner = _backend.persist(xp, owner)
        chosen.append(C[best : best + 1, :])
        if prune:
            stacked = sxp.concat([stacked, chosen[-1]])
        indices.append(int(cand[best]))
        if progress is not None:
            progress(step + 1)
    chosen = stacked if prune else sxp.concat(chosen)
    idx = np.asarray(indices, dtype=np.int64)
    return chosen, idx


# ---------------------------------------------------------------- k-means||
def _select_block(b: Block, scale: Any) -> BlockOut:
    # keep each sample with probability min(1, scale * w * closest)
    xp, wb, closest_b = b.xp, b.weights, b.rows["closest"]
    p = closest_b * float(scale) if wb is None else closest_b * wb * float(scale)
    idx = xp.nonzero(b.rows["u"] < p)[0]
    return BlockOut((), (_backend.to_dense(b.xp, b.rows_at(idx)),))


def _concat_rows(xp: Any, a: Any, b: Any) -> Any:
    return (xp.concat([a[0], b[0]]),)


def _min_dist_block(b: Block, C: Any) -> BlockOut:
    d2 = b.xp.min(_sq_dists(b.xp, b.X, b.rows["xsq"], C), axis=1)
    d2 = b.xp.minimum(b.rows["closest"], d2)
    return BlockOut((d2,), (b.weighted_sum(d2),))


def _weights_block(b: Block, sc: Any) -> BlockOut:
    lab = block_assign(b.xp, b.X, sc)
    m = int(sc.centers.shape[0])
    return BlockOut((), (_backend.segment_count(b.xp, lab, m, b.weights, b.X.dtype),))


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
    # a potential this small is rounding: every sample sits on a candidate
    # (whether it is exactly 0 depends on the last bits of the data)
    negligible = float(w_host.sum()) * on_center_cost(data)
    for _ in range(rounds):
        # every round draws, whether it runs or not: the state of ``rs`` after
        # the rounds (the reduction's seeds) does not depend on when they stop
        draws = rs.uniform(size=n)
        if pot <= negligible:
            continue
        u = _backend.rows_from_host(xp, draws, data.X, data.device, data.dtype)
        _, (new,) = data.map(
            _select_block,
            {"closest": state.closest, "u": u},
            (ell / pot,),
            combine=_concat_rows,
        )
        if int(new.shape[0]) == 0:
            continue
        candidates = sxp.concat([candidates, new])
        (closest,), (total,) = data.with_columns(int(new.shape[0])).map(
            _min_dist_block,
            {"closest": state.closest, "xsq": state.xsq},
            (new,),
            out_specs=(OutSpec((), data.dtype),),
        )
        state.closest = _backend.persist(xp, closest)
        pot = float(total)
    wide = data.with_columns(int(candidates.shape[0]))
    _, (cand_w,) = wide.map(_weights_block, None, (scoring(wide, candidates),))
    return _reduce_candidates(data, candidates, cand_w, k, rs)


def _reduce_candidates(
    data: Data, candidates: Any, cand_w: Any, k: int, rs: np.random.RandomState
) -> Any:
    """Weighted k-means++ then Lloyd on the (few) candidates, on the host."""
    from array_api_compat import numpy as np_xp

    from ._lloyd import better_run, run_lloyd

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
        host = Data(
            xp=np_xp,
            X=C,
            weights=w,
            offset=None,
            device="cpu",
            chunk=C.shape[0],
            geometry=data.geometry,
        )
        var = np.average((C - np.average(C, axis=0, weights=w)) ** 2, axis=0, weights=w)
        trials = max(1, min(10, int(2e7 // (C.shape[0] * k))))
        best = None
        for _ in range(trials):
            seeds, _ = kmeans_plusplus(host, k, rs)
            run = run_lloyd(host, seeds, max_iter=30, tol=1e-4 * float(var.mean()))
            if better_run(np_xp, run, best, k):
                best = run
        assert best is not None
        centers = best.centers
    return _backend.from_host(data.sxp, np.asarray(centers), data.sdevice, candidates.dtype)
