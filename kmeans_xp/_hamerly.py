"""Hamerly's exact accelerated k-means step, vectorized. Pure Array API.

Each sample keeps an upper bound on the distance to its center and a lower
bound on the distance to every other center; each center keeps half the
distance to its nearest other center. A sample whose bounds prove that its
center cannot change is skipped; only the others are scored against every
center. The labels and sums are then exactly those of Lloyd's algorithm:

* the samples that are scored use the same score formula as Lloyd's step, and
* a sample is skipped only when the bounds leave a gap larger than the
  rounding error of Lloyd's scores (``_slack``), so Lloyd's rounded argmin
  would pick the same center;
* per-cluster sums are computed over the same chunks in the same order.

Skipped or not, each iteration still makes one O(n d) pass for the sums; what
it saves is the O(n k d) scoring of samples that cannot move.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from . import _backend
from ._assign import (
    Data,
    block_update,
    centers_args,
    expand,
    row_sq_norms,
    shifted,
)


def _score_all(
    xp: Any, Xs: Any, xsq_s: Any, delta_s: Any, centers_t: Any, half_csq: Any,
    piece: int,
) -> tuple[Any, Any, Any]:
    """Lloyd's labels for the rows Xs, with safe upper and lower bounds.

    Squared distances are ``||x||^2 + 2*score``; ``delta_s`` covers their
    rounding, so the bounds hold for the exact distances. Rows are scored
    ``piece`` at a time (the memory budget of one chunk of scores).
    """
    n = int(Xs.shape[0])
    parts = [
        _backend.nearest_two(xp, Xs[s : min(n, s + piece), ...], centers_t, half_csq)
        for s in range(0, n, piece)
    ]
    a, best, second = (
        parts[0] if len(parts) == 1 else tuple(xp.concat(list(p)) for p in zip(*parts))
    )
    upper = xp.sqrt(xp.maximum(xsq_s + 2.0 * best + delta_s, 0.0))
    lower = xp.sqrt(xp.maximum(xsq_s + 2.0 * second - delta_s, 0.0))
    return a, upper, lower


def _hamerly_block(
    xp: Any, Xb: Any, wb: Any, lab: Any, up: Any, lo: Any, xsq: Any,
    offset: Any, centers: Any, centers_t: Any, half_csq: Any, s_half: Any,
    move: Any, m1: Any, m2: Any, r1: Any, coef: Any, cmax: Any, piece: Any,
) -> Any:
    Xb = shifted(Xb, offset)
    k = int(centers.shape[0])
    grow = 1.0 + 4.0 * float(xp.finfo(Xb.dtype).eps)
    # rounding slack of Lloyd's squared-distance scores for each row
    delta = float(coef) * (xp.sqrt(xsq) + float(cmax)) ** 2
    if lab is None:  # first iteration: score everything
        lab, up, lo = _score_all(xp, Xb, xsq, delta, centers_t, half_csq, int(piece))
        changed, scored = int(lab.shape[0]), int(lab.shape[0])
    else:
        up = (up + xp.take(move, lab)) * grow
        lo = xp.maximum(lo - xp.where(lab == r1, m2, m1), 0.0)
        bound = xp.maximum(xp.take(s_half, lab), lo)
        need = up * up + delta >= bound * bound
        changed = 0
        # (tightening the upper bound first with one exact distance rarely
        # saves the full scoring here, so the candidates are scored directly)
        idx, scored = _backend.nonzero_rows(xp, need)
        if scored:
            a, u_new, l_new = _score_all(
                xp, xp.take(Xb, idx, axis=0), xp.take(xsq, idx), xp.take(delta, idx),
                centers_t, half_csq, int(piece),
            )
            # idx may be padded past `scored` entries (JAX): count only those
            valid = xp.arange(int(idx.shape[0]), device=_backend.device_of(idx)) < scored
            changed = xp.sum(
                xp.astype((a != xp.take(lab, idx)) & valid, _backend.index_dtype(xp))
            )
            lab = expand(xp, need, a, lab)
            up = expand(xp, need, u_new, up)
            lo = expand(xp, need, l_new, lo)
    # per-cluster sums piece by piece, as Lloyd's chunks, so that folding them
    # in order (``_fold``) adds exactly what Lloyd's step adds
    piece, n = int(piece), int(Xb.shape[0])
    parts = [
        block_update(
            xp, Xb[s : min(n, s + piece), ...],
            None if wb is None else wb[s : min(n, s + piece)], lab[s : min(n, s + piece)], k,
        )
        for s in range(0, n, piece)
    ]
    sums = xp.stack([p[0] for p in parts])
    counts = xp.stack([p[1] for p in parts])
    return (lab, up, lo), (sums, counts, changed, scored)


def _fold(xp: Any, a: tuple[Any, ...], b: tuple[Any, ...]) -> tuple[Any, ...]:
    """Combine block statistics: stacked per-piece sums are added one piece at
    a time, left to right, as Lloyd's step adds its chunks."""
    out = []
    for x, y in zip(a[:2], b[:2]):
        acc = x
        if acc.ndim == y.ndim:  # the first block: still stacked
            acc = _fold_stack(xp, acc)
        for i in range(int(y.shape[0])):
            acc = acc + y[i, ...]
        out.append(acc)
    return (*out, a[2] + b[2], a[3] + b[3])


def _fold_stack(xp: Any, stack: Any) -> Any:
    acc = stack[0, ...]
    for i in range(1, int(stack.shape[0])):
        acc = acc + stack[i, ...]
    return acc


class HamerlyStep:
    """A drop-in for ``LloydStep`` that skips samples that cannot move."""

    # Blocks are this many times the data's chunk: most of a block is only
    # checked against its bounds, and the rows scored in full are scored one
    # chunk's worth at a time, so the memory budget holds.
    BLOCK_CHUNKS = 8

    def __init__(self, data: Data) -> None:
        self.piece = data.chunk
        data = replace(data, chunk=data.chunk * self.BLOCK_CHUNKS)
        self.data = data
        sxp = data.sxp
        self.xsq = row_sq_norms(data)
        self.coef = 4.0 * (data.d + 2) * float(sxp.finfo(data.dtype).eps)
        self.up = self.lo = None
        self.move = self.m1 = self.m2 = self.r1 = None
        self.n_scored = 0  # samples scored against all centers, all iterations

    def __call__(self, centers: Any, labels_old: Any) -> tuple[Any, Any, Any, int]:
        data, sxp = self.data, self.data.sxp
        k = int(centers.shape[0])
        csq = sxp.sum(centers * centers, axis=1)
        cmax = float(sxp.sqrt(sxp.max(csq)))
        # half the distance from each center to its nearest other center
        cc = csq[:, None] + csq[None, :] - 2.0 * sxp.matmul(
            centers, sxp.permute_dims(centers, (1, 0))
        )
        ids = sxp.arange(k, device=_backend.device_of(centers))
        cc = sxp.where(ids[:, None] == ids[None, :], sxp.finfo(cc.dtype).max, cc)
        slack = self.coef * (2.0 * cmax) ** 2
        s_half = 0.5 * sxp.sqrt(sxp.maximum(sxp.min(cc, axis=1) - slack, 0.0))
        first = labels_old is None
        spec = ((((), sxp.int64), ((), data.dtype), ((), data.dtype)))
        centers_t, half_csq = centers_args(sxp, centers)
        (lab, up, lo), (sums, counts, changed, scored) = data.map(
            _hamerly_block,
            (labels_old, None if first else self.up, None if first else self.lo, self.xsq),
            (centers, centers_t, half_csq, s_half, self.move, self.m1, self.m2,
             self.r1, self.coef, cmax, self.piece),
            out_specs=spec,
            combine=_fold,
            parallel=False,
        )
        if sums.ndim == 3:  # a single block
            sums, counts = _fold_stack(sxp, sums), _fold_stack(sxp, counts)
        self.up = _backend.persist(data.xp, up)
        self.lo = _backend.persist(data.xp, lo)
        self.n_scored += int(scored)
        return lab, sums, counts, int(changed)

    def moved(self, old: Any, new: Any) -> None:
        sxp = self.data.sxp
        diff = new - old
        grow = 1.0 + 4.0 * float(sxp.finfo(diff.dtype).eps)
        move = sxp.sqrt(sxp.sum(diff * diff, axis=1)) * grow
        order = sxp.argsort(move, descending=True)
        self.move = move
        self.r1 = order[0]
        self.m1 = move[order[0]]
        self.m2 = move[order[1]] if int(move.shape[0]) > 1 else self.m1
