"""Hamerly's exact accelerated k-means step, vectorized. Pure Array API.

Each sample keeps an upper bound on the distance to its center and a lower
bound on the distance to every other center; each center keeps half the
distance to its nearest other center. A sample whose bounds prove that its
center cannot change is skipped; only the others are scored against every
center. The labels and sums are then exactly those of Lloyd's algorithm:

* the samples that are scored get Lloyd's labels (the same scores, near ties
  settled by the same exact rule, ``_backend.nearest_center``);
* a sample is skipped only when the bounds leave a gap larger than the
  rounding error of Lloyd's scores (``coef``), so Lloyd would keep it where
  it is;
* per-cluster sums are computed over Lloyd's chunks and folded in Lloyd's
  order (:class:`RunningSum`).

Skipped or not, each iteration still makes one O(n d) pass for the sums; what
it saves is the O(n k d) scoring of samples that cannot move.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, NamedTuple

from . import _backend
from ._assign import (
    Block,
    BlockOut,
    Data,
    Geometry,
    OutSpec,
    PassResult,
    Scoring,
    block_update,
    expand,
    label_spec,
    max_row_norm,
    row_sq_norms,
    scoring,
)
from ._typing import Array, Namespace


@dataclass(frozen=True)
class RunningSum:
    """A sum of pieces added one at a time, left to right (None: nothing yet).

    Lloyd's step adds its chunks' sums in chunk order; a Hamerly block covers
    several of Lloyd's chunks and returns their sums as a stack (``Pieces``),
    which is added piece by piece, so both add exactly the same numbers in the
    same order.
    """

    value: Any = None

    def add(self, xp: Namespace, other: Pieces | RunningSum) -> RunningSum:
        acc = self.value
        if isinstance(other, RunningSum):  # a Dask task's total, in block order
            items = [] if other.value is None else [other.value]
        else:
            items = [other.stack[i, ...] for i in range(int(other.stack.shape[0]))]
        for item in items:
            acc = item if acc is None else acc + item
        return RunningSum(acc)


@dataclass(frozen=True)
class Pieces:
    """Sums of consecutive pieces of one block, stacked along axis 0."""

    stack: Any


def _fold(xp: Namespace, acc: tuple[Any, ...], new: tuple[Any, ...]) -> tuple[Any, ...]:
    sums, counts, changed, scored = acc
    return (sums.add(xp, new[0]), counts.add(xp, new[1]), changed + new[2], scored + new[3])


_START = (RunningSum(), RunningSum(), 0, 0)


class Bounds(NamedTuple):
    """What the blocks need of the centers' last move."""

    move: Array  # how far each center moved (k,)
    r1: Array  # the center that moved most
    m1: Array  # its move
    m2: Array  # the second largest move


def _score_rows(
    b: Block,
    idx: Array | None,
    count: int,
    xsq: Array,
    delta: Array,
    sc: Scoring,
    piece: int,
) -> tuple[Array, Array, Array]:
    """Lloyd's labels for ``count`` rows of the block (all when ``idx`` is
    None, else the rows ``idx``), with safe upper and lower bounds.

    Squared distances are ``||x||^2 + 2*score``; ``delta`` covers their
    rounding, so the bounds hold for the exact distances. Rows are gathered,
    prepared and scored ``piece`` at a time (the memory budget of one chunk).
    """
    xp = b.xp
    parts = []
    for s in range(0, count, piece):
        e = min(count, s + piece)
        if idx is None:
            rows = b.prepare(_backend.row_slice(xp, b.raw, s, e))
        else:
            rows = b.rows_at(idx[s:e])
        parts.append(
            _backend.nearest_two(
                xp,
                rows,
                sc.centers,
                sc.centers_t,
                sc.half_csq,
                tie=sc.tie,
            )
        )
    a, best, second = (
        parts[0] if len(parts) == 1 else tuple(xp.concat(list(p)) for p in zip(*parts, strict=True))
    )
    upper = xp.sqrt(xp.maximum(xsq + 2.0 * best + delta, 0.0))
    lower = xp.sqrt(xp.maximum(xsq + 2.0 * second - delta, 0.0))
    return a, upper, lower


def _hamerly_block(
    b: Block, sc: Scoring, s_half: Array, bounds: Bounds | None, piece: int, sum_piece: int
) -> BlockOut:
    xp = b.xp
    lab, up, lo, xsq = b.rows["labels"], b.rows["upper"], b.rows["lower"], b.rows["xsq"]
    k = int(sc.centers.shape[0])
    n = b.n
    grow = 1.0 + 4.0 * float(xp.finfo(xsq.dtype).eps)
    if lab is None or bounds is None:  # first iteration: score everything
        lab, up, lo = _score_rows(b, None, n, xsq, _slack(xp, xsq, sc), sc, piece)
        changed, scored = n, n
    else:
        moved = _backend.hamerly_bounds(
            xp,
            lab,
            up,
            lo,
            xsq,
            bounds.move,
            bounds.r1,
            bounds.m1,
            bounds.m2,
            s_half,
            (grow, float(sc.coef), float(sc.cmax)),
        )
        if moved is None:
            up = (up + xp.take(bounds.move, lab)) * grow
            lo = xp.maximum(lo - xp.where(lab == bounds.r1, bounds.m2, bounds.m1), 0.0)
            bound = xp.maximum(xp.take(s_half, lab), lo)
            need = up * up + _slack(xp, xsq, sc) >= bound * bound
        else:
            up, lo, need = moved
        changed = 0
        idx, scored = _backend.nonzero_rows(xp, need)
        if scored:
            # idx may be padded past `scored` entries (JAX): score them all
            m = int(idx.shape[0])
            xsq_s = xp.take(xsq, idx)
            a, u_new, l_new = _score_rows(b, idx, m, xsq_s, _slack(xp, xsq_s, sc), sc, piece)
            valid = xp.arange(m, device=_backend.device_of(idx)) < scored
            changed = xp.sum(xp.astype((a != xp.take(lab, idx)) & valid, _backend.index_dtype(xp)))
            lab = expand(xp, need, xp.astype(a, lab.dtype), lab)
            up = expand(xp, need, u_new, up)
            lo = expand(xp, need, l_new, lo)
    # per-cluster sums piece by piece, over Lloyd's chunks (the same bits);
    # rows used as stored (not shifted, not scaled) in one compiled call
    as_stored = b.offset is None and b.geometry is Geometry.EUCLIDEAN
    stacked = _backend.piece_sums(xp, b.raw, b.weights, lab, k, sum_piece) if as_stored else None
    if stacked is None:
        parts = []
        for s in range(0, n, sum_piece):
            e = min(n, s + sum_piece)
            w = None if b.weights is None else b.weights[s:e]
            rows = b.prepare(_backend.row_slice(xp, b.raw, s, e))
            parts.append(block_update(xp, rows, w, lab[s:e], k))
        stacked = (xp.stack([p[0] for p in parts]), xp.stack([p[1] for p in parts]))
    return BlockOut((lab, up, lo), (Pieces(stacked[0]), Pieces(stacked[1]), changed, scored))


def _slack(xp: Namespace, xsq: Array, sc: Scoring) -> Array:
    # rounding slack of Lloyd's squared-distance scores for each row
    return float(sc.coef) * (xp.sqrt(xsq) + float(sc.cmax)) ** 2


@dataclass
class HamerlyState:
    """Per-sample bounds (kept between iterations) and the last center move."""

    xsq: Array
    upper: Array | None = None
    lower: Array | None = None
    bounds: Bounds | None = None
    n_scored: int = 0  # samples scored against all centers, all iterations


class HamerlyStep:
    """A drop-in for ``LloydStep`` that skips samples that cannot move."""

    # Blocks are this many times the data's chunk: most of a block is only
    # checked against its bounds, and the rows scored in full are scored one
    # chunk's worth at a time, so the memory budget holds. On the thread pool
    # each thread has a block in flight: where a pass has fewer than
    # PARALLEL_BLOCKS such blocks (X not large against them), they are made
    # a thread count's times smaller, so the peak stays that of one block.
    BLOCK_CHUNKS = 8
    PARALLEL_BLOCKS = 16

    def __init__(self, data: Data) -> None:
        # rows scored in full are gathered (copied) a chunk's worth at a time;
        # the sums follow Lloyd's chunks, and a block is a whole number of them
        # (so the block size does not change the bits)
        self.piece = data.chunk
        self.sum_piece = data.for_lloyd().chunk
        # blocks of compiled passes release the GIL: two threads pay (1M x 32
        # x 64 to convergence: 2.9-3.2 s -> 2.4-2.9 s); the array code's many
        # small operations would mostly wait for it
        threads = _backend.host_threads() if _backend.has_compiled_loops(data.sxp) else 1
        blocks = max(1, round(self.BLOCK_CHUNKS * data.chunk / self.sum_piece))
        if threads > 1 and -(-data.n // (self.sum_piece * blocks)) < self.PARALLEL_BLOCKS:
            # (smaller blocks cost more handing over: only where needed)
            blocks = max(1, round(blocks / threads))
        max_row_norm(data)  # on Lloyd's chunks: kept by the copy below
        self.data = replace(data, chunk=self.sum_piece * blocks)
        self.state = HamerlyState(xsq=row_sq_norms(data))
        self.parallel = threads > 1 and -(-data.n // self.data.chunk) >= 2 * threads

    def __call__(self, centers: Array, labels_old: Array | None) -> PassResult:
        data, sxp, state = self.data, self.data.sxp, self.state
        k = int(centers.shape[0])
        sc = scoring(data, centers)
        csq = sxp.sum(centers * centers, axis=1)
        # half the distance from each center to its nearest other center
        cc = (
            csq[:, None]
            + csq[None, :]
            - 2.0 * sxp.matmul(centers, sxp.permute_dims(centers, (1, 0)))
        )
        ids = sxp.arange(k, device=_backend.device_of(centers))
        cc = sxp.where(ids[:, None] == ids[None, :], sxp.finfo(cc.dtype).max, cc)
        slack = sc.coef * (2.0 * sc.cmax) ** 2
        s_half = 0.5 * sxp.sqrt(sxp.maximum(sxp.min(cc, axis=1) - slack, 0.0))
        first = labels_old is None
        rows = {
            "labels": labels_old,
            "upper": None if first else state.upper,
            "lower": None if first else state.lower,
            "xsq": state.xsq,
        }
        specs = (*label_spec(data), OutSpec((), data.dtype), OutSpec((), data.dtype))
        (lab, up, lo), (sums, counts, changed, scored) = data.map(
            _hamerly_block,
            rows,
            (sc, s_half, None if first else state.bounds, self.piece, self.sum_piece),
            out_specs=specs,
            combine=_fold,
            init=_START,
            parallel=self.parallel,
        )
        state.upper = _backend.persist(data.xp, up)
        state.lower = _backend.persist(data.xp, lo)
        state.n_scored += int(scored)
        return PassResult(lab, sums.value, counts.value, int(changed))

    def moved(self, old: Array, new: Array) -> None:
        sxp = self.data.sxp
        diff = new - old
        grow = 1.0 + 4.0 * float(_backend.finfo(sxp, diff.dtype).eps)
        move = sxp.sqrt(sxp.sum(diff * diff, axis=1)) * grow
        order = sxp.argsort(move, descending=True)
        m1 = move[order[0]]
        m2 = move[order[1]] if int(move.shape[0]) > 1 else m1
        self.state.bounds = Bounds(move, order[0], m1, m2)
