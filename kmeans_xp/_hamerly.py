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

from typing import Any

from . import _backend
from ._assign import (
    Data,
    block_scores,
    block_update,
    centers_args,
    expand,
    row_sq_norms,
    shifted,
)


def _dist_to(xp: Any, Xs: Any, centers: Any, lab: Any, grow: float) -> Any:
    diff = Xs - xp.take(centers, lab, axis=0)
    return xp.sqrt(xp.sum(diff * diff, axis=1)) * grow


def _score_all(
    xp: Any, Xs: Any, xsq_s: Any, delta_s: Any, centers: Any, centers_t: Any,
    half_csq: Any, grow: float,
) -> tuple[Any, Any, Any]:
    """Lloyd's labels for the rows Xs, with a tight upper and a safe lower bound."""
    scores = block_scores(xp, Xs, centers_t, half_csq)
    a = xp.argmin(scores, axis=1)
    k = int(centers.shape[0])
    ids = xp.arange(k, dtype=a.dtype, device=_backend.device_of(a))
    big = xp.finfo(scores.dtype).max
    second = xp.min(xp.where(ids[None, :] == a[:, None], big, scores), axis=1)
    upper = _dist_to(xp, Xs, centers, a, grow)
    lower = xp.sqrt(xp.clip(xsq_s + 2.0 * second - delta_s, 0.0, None))
    return a, upper, lower


def _hamerly_block(
    xp: Any, Xb: Any, wb: Any, lab: Any, up: Any, lo: Any, xsq: Any,
    offset: Any, centers: Any, centers_t: Any, half_csq: Any, s_half: Any,
    move: Any, m1: Any, m2: Any, r1: Any, coef: Any, cmax: Any,
) -> Any:
    Xb = shifted(Xb, offset)
    k = int(centers.shape[0])
    grow = 1.0 + 4.0 * float(xp.finfo(Xb.dtype).eps)
    # rounding slack of Lloyd's squared-distance scores for each row
    delta = float(coef) * (xp.sqrt(xsq) + float(cmax)) ** 2
    if lab is None:  # first iteration: score everything
        lab, up, lo = _score_all(xp, Xb, xsq, delta, centers, centers_t, half_csq, grow)
        changed, scored = int(lab.shape[0]), int(lab.shape[0])
    else:
        up = (up + xp.take(move, lab)) * grow
        lo = xp.clip(lo - xp.where(lab == r1, m2, m1), 0.0, None)
        bound = xp.maximum(xp.take(s_half, lab), lo)
        need = up * up + delta >= bound * bound
        changed = scored = 0
        idx, count = _backend.nonzero_rows(xp, need)
        if count:
            tight = _dist_to(
                xp, xp.take(Xb, idx, axis=0), centers, xp.take(lab, idx), grow
            )
            up = expand(xp, need, tight, up)
            need = need & (up * up + delta >= bound * bound)
            idx, scored = _backend.nonzero_rows(xp, need)
        if scored:
            a, u_new, l_new = _score_all(
                xp, xp.take(Xb, idx, axis=0), xp.take(xsq, idx), xp.take(delta, idx),
                centers, centers_t, half_csq, grow,
            )
            # idx may be padded past `scored` entries (JAX): count only those
            valid = xp.arange(int(idx.shape[0]), device=_backend.device_of(idx)) < scored
            changed = xp.sum(xp.astype((a != xp.take(lab, idx)) & valid, xp.int64))
            lab = expand(xp, need, a, lab)
            up = expand(xp, need, u_new, up)
            lo = expand(xp, need, l_new, lo)
    sums, counts = block_update(xp, Xb, wb, lab, k)
    return (lab, up, lo), (sums, counts, changed, scored)


class HamerlyStep:
    """A drop-in for ``LloydStep`` that skips samples that cannot move."""

    def __init__(self, data: Data) -> None:
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
        s_half = 0.5 * sxp.sqrt(sxp.clip(sxp.min(cc, axis=1) - slack, 0.0, None))
        first = labels_old is None
        spec = ((((), sxp.int64), ((), data.dtype), ((), data.dtype)))
        centers_t, half_csq = centers_args(sxp, centers)
        (lab, up, lo), (sums, counts, changed, scored) = data.map(
            _hamerly_block,
            (labels_old, None if first else self.up, None if first else self.lo, self.xsq),
            (centers, centers_t, half_csq, s_half, self.move, self.m1, self.m2,
             self.r1, self.coef, cmax),
            out_specs=spec,
        )
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
