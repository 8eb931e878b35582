"""Compiled loops for NumPy (Numba), used when Numba is installed.

A Lloyd pass over a chunk is one product (BLAS) and then a handful of
passes over the (rows, k) scores: the best two scores, the near-tie test,
the label changes, the per-cluster sums and weights. At small k and d those
passes, not the product, are the time. Here they are compiled loops, with
exactly the rule of the array code in ``_kernels``; up to ``COLUMNS_MAX_D``
features the product is taken center by center, (k, rows), and the best two
scores are kept along the rows (vectorised), beyond it one loop runs over
each row's k scores:

- the best and the second-best computed score of each row (first index
  among equal scores);
- a row whose second-best score is within ``tie`` of its best is settled by
  the elementwise scores ``h - x.c`` in float64 over the centers within the
  bound (and the computed best), first index among equal values;
- per-cluster sums accumulated in the data's dtype in sample order (what
  ``scipy.sparse`` one-hot products give), weight totals in float64 (what
  ``np.bincount`` gives).

A k-means++ step has three such loops: the candidates' gains from the
product (BLAS) in one pass, the rows with a candidate within reach, and the
lowered distances and owners once a candidate is chosen, each rounded as
the array code rounds it.

Numba is optional (``pip install kmeans_xp[fast]``); without it, or with
``KMEANS_XP_COMPILED=0`` in the environment, ``available()`` is False and the
array code runs. ``force`` switches it in tests.
"""

from __future__ import annotations

import functools
import os
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "assigned_sq_dists",
    "available",
    "candidate_gains",
    "column_extremes",
    "column_sq_devs",
    "column_sums",
    "expand",
    "hamerly_bounds",
    "lloyd_rows",
    "lower_closest",
    "max_row_sq_norm",
    "nearest_rows",
    "nearest_two",
    "nearest_with_costs",
    "piece_sums",
    "row_sq_norms",
    "segment_sum",
    "within_reach",
]

_FORCE: bool | None = None


def force(on: bool | None) -> None:
    """Tests: True/False to force the compiled loops on/off, None for the default."""
    global _FORCE
    _FORCE = on


@functools.cache
def _numba() -> Any:
    if os.environ.get("KMEANS_XP_COMPILED", "1").strip().lower() in ("0", "false", "no", "off"):
        return None
    try:
        import numba
    except ImportError:
        return None
    return numba


def available() -> bool:
    if _FORCE is not None:
        return _FORCE and _numba() is not None
    return _numba() is not None


# Jitted helpers that other jitted functions call are module globals, named
# ``_nb_<name>`` (``_share``), not variables of the factory that defines them:
# Numba keys a cached function by its bytecode and the contents of its
# closure, and a dispatcher held in a closure pickles differently in every
# process, so each process compiled those callers anew (3-6 s before the
# first Lloyd pass of a fresh process); a global is read when the caller is
# compiled, not keyed. Set by the factories before any caller is compiled.
_nb_pair_sums: Any = None
_nb_proven_pair: Any = None
_nb_exact_pair: Any = None
_nb_exact_label: Any = None
_nb_add_rows_of: Any = None
_nb_add_rows: Any = None
_nb_add_lanes: Any = None
_nb_add_strip: Any = None
_nb_strip_best_two: Any = None
_nb_settle_near: Any = None
_nb_settle: Any = None
_nb_strip_buffers: Any = None
_nb_strip_labels: Any = None
_nb_keep_two: Any = None
_nb_row_sum: Any = None
_nb_planned_sum: Any = None
_nb_sq_diffs: Any = None
_nb_short_sq_dist: Any = None
_nb_costs_into: Any = None
_nb_gemm_call: Any = None
_nb_strip_gemm_args: Any = None
_nb_strip_product: Any = None


def _share(**helpers: Any) -> None:
    for name, fn in helpers.items():
        assert f"_nb_{name}" in globals(), name
        globals()[f"_nb_{name}"] = fn


# rows a compiled loop takes at a time where it keeps each row's best two
# scores: its buffers stay in the first-level cache
STRIP = 256


@functools.cache
def _pair_kernel() -> Any:
    """``proven_pair(X, i, C, half, a, b)``: which of two near-tied centers
    the float64 near-tie rule picks for row i, where a rounding bound proves
    it (-1 where it does not)."""
    numba = _numba()
    jit = numba.njit(nogil=True, cache=True, boundscheck=False)

    # the sums of ``proven_pair``: reassociated (vectorised, any order): only
    # their bound is used, which holds for every order
    loose = numba.njit(nogil=True, cache=True, boundscheck=False, fastmath={"reassoc"})

    @loose
    def pair_sums(X: Any, i: int, C: Any, a: int, b: int) -> Any:
        # x.(ca - cb), |x|.|ca - cb| and |x|.(|ca| + |cb|) in the data's dtype
        D = X[i, 0] * 0
        G = D
        A = D
        for t in range(X.shape[1]):
            x = X[i, t]
            ca = C[a, t]
            cb = C[b, t]
            dl = ca - cb
            D += x * dl
            G += abs(x) * abs(dl)
            A += abs(x) * (abs(ca) + abs(cb))
        return D, G, A

    @jit
    def proven_pair(X: Any, i: int, C: Any, half: Any, a: int, b: int) -> int:
        # which of centers a and b the float64 rule below (``exact_pair``)
        # picks for row i, where a bound proves it: -1 where it does not.
        # The rule's scores S = h - x.c differ by S_a - S_b = (h_a - h_b) -
        # x.(c_a - c_b); the product with the difference of two close centers
        # is computed in the data's dtype with the rounding bound of a dot
        # product in any order, gamma_d sum |x||c_a - c_b| (plus the rounding
        # of c_a - c_b), far below the near-tie bound's gamma_d |x| cmax for
        # the rows two centers split; the float64 rule's own rounding (its
        # sums of d products) is bounded too, so a margin beyond both (twice
        # over) gives the rule's strict order. 60k x 784 x 10: 8.5 % of the
        # rows are such near ties, 12 % of a pass scored in float64.
        d = X.shape[1]
        u = 2.0**-24 if X.itemsize == 4 else 2.0**-53  # the data's unit roundoff
        if d * u > 1e-3:  # (2**14 float32 features) no bound worth the sums
            return -1
        dot, spread, size = _nb_pair_sums(X, i, C, a, b)
        gd = d * u / (1.0 - d * u)
        u64 = 2.0**-53
        ha = np.float64(half[a])
        hb = np.float64(half[b])
        hd = ha - hb
        gap = hd - np.float64(dot)  # about S_a - S_b
        e1 = (gd + u / (1.0 - u)) * np.float64(spread) / (1.0 - gd) + u64 * (abs(hd) + abs(gap))
        e2 = 2.0 * (d + 2) * u64 * (np.float64(size) / (1.0 - gd) + abs(ha) + abs(hb))
        # and what underflow can take (subnormals, or flushed to zero), per
        # operation at most the smallest normal number of the dtype
        tiny = 3.0 * (d + 2) * (2.0**-126 if X.itemsize == 4 else 2.0**-1022)
        e = 2.0 * (e1 + e2 + tiny)
        if gap > e:
            return b
        if gap < -e:
            return a
        return -1

    _share(pair_sums=pair_sums, proven_pair=proven_pair)
    return proven_pair


class _Kernels(NamedTuple):
    """The compiled loops over scores and rows (``_kernels``)."""

    settle: Any
    accumulate: Any
    lloyd_columns: Any
    settle_two: Any
    labels_costs: Any
    lloyd_strips: Any
    lloyd_wide: Any
    labels_costs_strips: Any
    labels_strips: Any
    two_strips: Any


@functools.cache
def _kernels() -> _Kernels:
    numba = _numba()
    jit = numba.njit(nogil=True, cache=True, boundscheck=False)
    inline = numba.njit(nogil=True, cache=True, boundscheck=False, inline="always")

    @jit
    def exact_pair(X: Any, i: int, C: Any, j0: int, j1: int, half: Any) -> Any:
        # the near-tie rule's scores of row i for centers j0 and j1:
        # elementwise in float64, each summed in order; two sums in one loop
        # (independent adds: the loop is not one chain of add latencies)
        d0 = 0.0
        d1 = 0.0
        for t in range(X.shape[1]):
            x = np.float64(X[i, t])
            d0 += x * np.float64(C[j0, t])
            d1 += x * np.float64(C[j1, t])
        return np.float64(half[j0]) - d0, np.float64(half[j1]) - d1

    _pair_kernel()  # shares proven_pair

    @jit
    def exact_label(X: Any, i: int, C: Any, half: Any, cand: Any, m: int, a: int) -> int:
        # the first of the m candidates ``cand`` (ascending) of lowest
        # float64 score (``a`` if none is below inf), two at a time; two
        # candidates whose order a bound proves (``proven_pair``) are not
        # scored in float64
        if m == 2:
            won = _nb_proven_pair(X, i, C, half, cand[0], cand[1])
            if won >= 0:
                return won
        lab = a
        low = np.inf
        for q in range(0, m, 2):
            j0 = cand[q]
            j1 = cand[q + 1] if q + 1 < m else j0
            v0, v1 = _nb_exact_pair(X, i, C, j0, j1, half)
            if v0 < low:
                low = v0
                lab = j0
            if v1 < low:
                low = v1
                lab = j1
        return lab

    @jit
    def settle(scores: Any, X: Any, C: Any, half: Any, tie: Any, out: Any) -> None:
        # labels of every row into ``out``: best computed score, near ties exact
        rows, k = scores.shape
        cand = np.empty(k, dtype=np.int64)
        for i in range(rows):
            a = 0
            best = scores[i, 0]
            second = np.inf
            for j in range(1, k):
                s = scores[i, j]
                if s < best:
                    second = best
                    best = s
                    a = j
                elif s < second:
                    second = s
            thr = best + tie
            if k > 1 and second <= thr:
                m = 0
                for j in range(k):
                    if scores[i, j] <= thr or j == a:
                        cand[m] = j
                        m += 1
                a = _nb_exact_label(X, i, C, half, cand, m, a)
            out[i] = a

    @inline
    def add_rows_of(
        X: Any, w: Any, labels: Any, sums: Any, counts: Any, lanes: Any, d: int
    ) -> None:
        # ``add_rows``' sums and weights, rows of ``d`` features: inlined
        # where d is a constant, so that the loop along a row is unrolled
        m = X.shape[0]
        if w.shape[0] == m:
            for i in range(m):
                lab = labels[i]
                wi = w[i]
                for t in range(d):
                    sums[lab, t] += wi * X[i, t]
                counts[lab] += np.float64(wi)
        else:
            for i in range(m):
                lab = labels[i]
                for t in range(d):
                    sums[lab, t] += X[i, t]
                lanes[i & 3, lab] += 1

    _share(add_rows_of=add_rows_of)

    @jit
    def add_rows(X: Any, w: Any, labels: Any, old: Any, sums: Any, counts: Any, lanes: Any) -> int:
        # per-cluster sums (data dtype, sample order) and weights (float64),
        # and how many labels differ from ``old`` (empty ``old``: all).
        # Unweighted, the counts are integers: counted as such in the four
        # rows of ``lanes`` (no chain of float adds through memory), for the
        # caller to add once (``add_lanes``): the same float64 values as
        # adding 1.0 row after row. Up to 4 features, the loop along a row
        # is unrolled (d = 2: 3.4 -> 2.0 ns a row)
        m, d = X.shape
        changed = 0
        if old.shape[0] == m:
            for i in range(m):
                changed += old[i] != labels[i]
        else:
            changed = m
        if d == 1:
            _nb_add_rows_of(X, w, labels, sums, counts, lanes, 1)
        elif d == 2:
            _nb_add_rows_of(X, w, labels, sums, counts, lanes, 2)
        elif d == 3:
            _nb_add_rows_of(X, w, labels, sums, counts, lanes, 3)
        elif d == 4:
            _nb_add_rows_of(X, w, labels, sums, counts, lanes, 4)
        else:
            _nb_add_rows_of(X, w, labels, sums, counts, lanes, d)
        return changed

    @jit
    def add_lanes(lanes: Any, counts: Any) -> None:
        for j in range(counts.shape[0]):
            counts[j] += np.float64(lanes[0, j] + lanes[1, j] + lanes[2, j] + lanes[3, j])

    @inline
    def add_strip(
        X: Any, w: Any, old: Any, labels: Any, s0: int, e: int, sums: Any, counts: Any, lanes: Any
    ) -> int:
        # ``add_rows`` for rows s0 .. e of a pass's arrays (the weights and
        # old labels where there are some): a Lloyd loop's strip, accumulated
        # after its labels while it is in cache
        m = X.shape[0]
        return _nb_add_rows(
            X[s0:e],
            w[s0:e] if w.shape[0] == m else w,
            labels[s0:e],
            old[s0:e] if old.shape[0] == m else old,
            sums,
            counts,
            lanes,
        )

    @jit
    def accumulate(X: Any, w: Any, labels: Any, old: Any, sums: Any, counts: Any) -> int:
        lanes = np.zeros((4, sums.shape[0]), dtype=np.int64)
        changed = _nb_add_rows(X, w, labels, old, sums, counts, lanes)
        _nb_add_lanes(lanes, counts)
        return changed

    @jit
    def strip_best_two(P: Any, s0: int, n: int, half: Any, bb: Any, ss: Any, aa: Any) -> Any:
        # the best two scores ``h - P[j, i]`` of the rows s0 .. s0+n (n <=
        # STRIP) and the first index of the best, the centers in order in
        # vectorised loops along the rows: four centers a loop, each row's
        # best two held in registers across the four and stored whole (no
        # select stored back in place: that becomes a masked store, which
        # some CPUs (AMD's) run far slower); the last k % 4 one a loop, each
        # writing to the other row of the (2, STRIP) buffers. The same
        # comparisons in the same order as one center a loop (the same
        # results), a quarter of the buffers' loads and stores: at k = 32,
        # 14.5 -> 9.5 ns a row
        k = P.shape[0]
        b_in, s_in, a_in = bb[0], ss[0], aa[0]
        b_out, s_out, a_out = bb[1], ss[1], aa[1]
        ss[1, 0] = np.inf
        top = ss[1, 0]  # inf in the scores' dtype
        h0 = half[0]
        p0 = P[0, s0 : s0 + n]
        j = 1
        if k >= 4:
            h1, h2, h3 = half[1], half[2], half[3]
            p1 = P[1, s0 : s0 + n]
            p2 = P[2, s0 : s0 + n]
            p3 = P[3, s0 : s0 + n]
            for i in range(n):
                b = h0 - p0[i]
                s = top
                a = np.int32(0)
                v = h1 - p1[i]
                s = min(s, max(v, b))
                a = np.int32(1) if v < b else a
                b = min(v, b)
                v = h2 - p2[i]
                s = min(s, max(v, b))
                a = np.int32(2) if v < b else a
                b = min(v, b)
                v = h3 - p3[i]
                s = min(s, max(v, b))
                a = np.int32(3) if v < b else a
                b = min(v, b)
                b_in[i] = b
                s_in[i] = s
                a_in[i] = a
            j = 4
        else:
            for i in range(n):
                b_in[i] = h0 - p0[i]
                s_in[i] = top
                a_in[i] = 0
        while j + 4 <= k:
            h0, h1, h2, h3 = half[j], half[j + 1], half[j + 2], half[j + 3]
            j0, j1, j2, j3 = np.int32(j), np.int32(j + 1), np.int32(j + 2), np.int32(j + 3)
            p0 = P[j, s0 : s0 + n]
            p1 = P[j + 1, s0 : s0 + n]
            p2 = P[j + 2, s0 : s0 + n]
            p3 = P[j + 3, s0 : s0 + n]
            for i in range(n):
                b = b_in[i]
                s = s_in[i]
                a = a_in[i]
                v = h0 - p0[i]
                s = min(s, max(v, b))
                a = j0 if v < b else a
                b = min(v, b)
                v = h1 - p1[i]
                s = min(s, max(v, b))
                a = j1 if v < b else a
                b = min(v, b)
                v = h2 - p2[i]
                s = min(s, max(v, b))
                a = j2 if v < b else a
                b = min(v, b)
                v = h3 - p3[i]
                s = min(s, max(v, b))
                a = j3 if v < b else a
                b = min(v, b)
                b_in[i] = b
                s_in[i] = s
                a_in[i] = a
            j += 4
        while j < k:
            hj = half[j]
            jj = np.int32(j)
            pj = P[j, s0 : s0 + n]
            for i in range(n):
                v = hj - pj[i]
                b = b_in[i]
                s_out[i] = min(s_in[i], max(v, b))
                b_out[i] = min(v, b)
                a_out[i] = jj if v < b else a_in[i]
            b_in, b_out = b_out, b_in
            s_in, s_out = s_out, s_in
            a_in, a_out = a_out, a_in
            j += 1
        return b_in, s_in, a_in

    @jit
    def settle_near(P: Any, X: Any, C: Any, half: Any, thr: Any, r: int, a: int, cand: Any) -> int:
        # a near tie of row r (computed best ``a``): the label from the
        # float64 scores of the centers within ``thr`` (and ``a``), first
        # index among equal values
        m = 0
        for j in range(P.shape[0]):
            if half[j] - P[j, r] <= thr or j == a:
                cand[m] = j
                m += 1
        return _nb_exact_label(X, r, C, half, cand, m, a)

    @jit
    def strip_buffers(dtype: Any, k: int) -> Any:
        # ``strip_best_two``'s (2, STRIP) buffers, the near ties' rows and
        # a near tie's candidates (of k centers)
        return (
            np.empty((2, STRIP), dtype=dtype),
            np.empty((2, STRIP), dtype=dtype),
            np.empty((2, STRIP), dtype=np.int32),
            np.empty(STRIP, dtype=np.int64),
            np.empty(k, dtype=np.int64),
        )

    @jit
    def strip_labels(
        P: Any, X: Any, C: Any, half: Any, tie: Any, s0: int, n: int, bufs: Any, out: Any
    ) -> Any:
        # the labels of the rows s0 .. s0+n into ``out``: the computed best,
        # a near tie (the rows noted without a branch, settled after the
        # strip) settled as in ``settle``; returns the best two scores, the
        # computed best and the near ties (their rows in ``bufs[3]``)
        bb, ss, aa, near, cand = bufs
        b, s, a = _nb_strip_best_two(P, s0, n, half, bb, ss, aa)
        # two vectorised loops (the labels; how many near ties) and the near
        # ties' rows noted only where there are some (they are rare): one
        # loop noting them row by row, a serial count, took 2.7 ns a row
        for i in range(n):
            out[s0 + i] = a[i]
        count = 0
        for i in range(n):
            count += s[i] <= b[i] + tie
        if count:
            count = 0
            for i in range(n):
                near[count] = i
                count += s[i] <= b[i] + tie
        for q in range(count):
            i = near[q]
            out[s0 + i] = _nb_settle_near(P, X, C, half, b[i] + tie, s0 + i, a[i], cand)
        return b, s, a, count

    @jit
    def settle_two(
        P: Any, X: Any, C: Any, half: Any, tie: Any, out: Any, best: Any, second: Any
    ) -> None:
        # ``settle`` for products stored center by center, P = C @ X.T (k, m):
        # each row's best two scores ``h - x.c`` (into ``best``, ``second``),
        # first index among equal scores, STRIP rows at a time
        # (``strip_labels``); where a near tie goes to another center than
        # the first best, (the compared bound, the first best) kept, as
        # ``nearest_two``
        m = P.shape[1]
        bufs = _nb_strip_buffers(P.dtype, P.shape[0])
        for s0 in range(0, m, STRIP):
            n = min(STRIP, m - s0)
            e = s0 + n
            two = _nb_strip_labels(P, X, C, half, tie, s0, n, bufs, out)
            _nb_keep_two(two, bufs[3], tie, out[s0:e], best[s0:e], second[s0:e])

    @inline
    def keep_two(two: Any, near: Any, tie: Any, out: Any, best: Any, second: Any) -> None:
        # a strip's best two scores (``strip_labels``' results ``two``, its
        # near ties' rows in ``near``) into ``best`` and ``second`` (the
        # strip's rows): where a near tie went to another center than the
        # computed best, (the compared bound, the computed best)
        b, s, a, count = two
        for i in range(out.shape[0]):
            best[i] = b[i]
            second[i] = s[i]
        for q in range(count):
            i = near[q]
            if out[i] != a[i]:
                second[i] = b[i]
                best[i] = b[i] + tie

    _share(keep_two=keep_two)

    @jit
    def lloyd_columns(
        P: Any,
        X: Any,
        w: Any,
        old: Any,
        C: Any,
        half: Any,
        tie: Any,
        out: Any,
        sums: Any,
        counts: Any,
    ) -> int:
        # a Lloyd pass over rows whose products are stored center by center
        # (P = C @ X.T): each strip's labels as ``settle_two`` gives them
        # (``strip_labels``), then its rows accumulated (``add_rows``) while
        # they are in cache
        m = P.shape[1]
        bufs = _nb_strip_buffers(P.dtype, P.shape[0])
        lanes = np.zeros((4, sums.shape[0]), dtype=np.int64)
        changed = 0
        for s0 in range(0, m, STRIP):
            n = min(STRIP, m - s0)
            e = s0 + n
            _nb_strip_labels(P, X, C, half, tie, s0, n, bufs, out)
            changed += _nb_add_strip(X, w, old, out, s0, e, sums, counts, lanes)
        _nb_add_lanes(lanes, counts)
        return changed

    from ._gemm import gemm_call

    _share(gemm_call=gemm_call)

    @jit
    def strip_gemm_args(X: Any, k: int, b_t: bool) -> Any:
        # the arguments of ``strip_product``'s gemm for rows of X and k
        # centers, by address as the Fortran interface takes them (ints of
        # 32 bits): dims (m, n, k, lda, ldb, ldc; m set a strip), the
        # scalars (alpha = 1, beta = 0), the transpositions: "T" for the
        # rows of X (d values apart, as columns), "T" for the centers as
        # C.T (d, k) (``b_t``), "N" for C (k, d)
        d = X.shape[1]
        dims = np.empty(6, dtype=np.int32)
        dims[1] = k
        dims[2] = d
        dims[3] = d
        dims[4] = k if b_t else d
        dims[5] = STRIP
        scal = np.zeros(2, dtype=X.dtype)
        scal[0] = 1
        trans = np.empty(2, dtype=np.uint8)
        trans[0] = 84
        trans[1] = 84 if b_t else 78
        return dims, scal, trans

    @inline
    def strip_product(gemm: int, X: Any, s0: int, n: int, B: Any, P: Any, args: Any) -> None:
        # P[:, :n] = C @ X[s0:s0+n].T ((k, STRIP) buffer) by BLAS's gemm at
        # ``gemm`` (X's dtype; C-ordered X and B, the centers as C or C.T:
        # ``strip_gemm_args``)
        dims, scal, trans = args
        dims[0] = n
        _nb_gemm_call(
            gemm,
            trans[0:].ctypes.data,
            trans[1:].ctypes.data,
            dims[0:].ctypes.data,
            dims[1:].ctypes.data,
            dims[2:].ctypes.data,
            scal[0:].ctypes.data,
            X[s0:].ctypes.data,
            dims[3:].ctypes.data,
            B.ctypes.data,
            dims[4:].ctypes.data,
            scal[1:].ctypes.data,
            P.ctypes.data,
            dims[5:].ctypes.data,
        )

    _share(strip_gemm_args=strip_gemm_args, strip_product=strip_product)

    @jit
    def lloyd_strips(
        X: Any,
        w: Any,
        old: Any,
        C: Any,
        B: Any,
        b_t: bool,
        half: Any,
        tie: Any,
        gemm: int,
        out: Any,
        sums: Any,
        counts: Any,
    ) -> int:
        # ``lloyd_columns`` with the products a strip at a time: C @ X_strip.T
        # by BLAS's gemm (at ``gemm``, X's dtype; C-ordered X, C and B) into a
        # (k, STRIP) buffer, so that the strip's scores and rows are in the
        # first-level cache when its labels and sums are made. The centers
        # go to gemm as ``B``: C itself (k, d), or with ``b_t`` its transpose
        # (d, k), which BLAS multiplies faster at small k
        # (``STRIP_TRANSPOSED_MAX_K``)
        m = X.shape[0]
        k = C.shape[0]
        P = np.empty((k, STRIP), dtype=X.dtype)
        bufs = _nb_strip_buffers(X.dtype, k)
        lanes = np.zeros((4, sums.shape[0]), dtype=np.int64)
        args = _nb_strip_gemm_args(X, k, b_t)
        changed = 0
        for s0 in range(0, m, STRIP):
            n = min(STRIP, m - s0)
            e = s0 + n
            _nb_strip_product(gemm, X, s0, n, B, P, args)
            _nb_strip_labels(P, X[s0:e], C, half, tie, 0, n, bufs, out[s0:e])
            changed += _nb_add_strip(X, w, old, out, s0, e, sums, counts, lanes)
        _nb_add_lanes(lanes, counts)
        return changed

    _share(settle=settle)

    @jit
    def lloyd_wide(
        X: Any,
        w: Any,
        old: Any,
        C: Any,
        CT: Any,
        half: Any,
        tie: Any,
        gemm: int,
        rows: int,
        out: Any,
        sums: Any,
        counts: Any,
    ) -> int:
        # a Lloyd pass over rows of many features (beyond ``COLUMNS_MAX_D``),
        # ``rows`` of them at a time: their scores h - X_block @ C.T (rows,
        # k) by BLAS's gemm (at ``gemm``, X's dtype; C-ordered X and CT = C.T,
        # the call NumPy's matmul makes), labelled by ``settle`` and summed
        # (``add_rows``) while the block's rows are in cache. The loop of
        # ``lloyd_rows`` in NumPy, without a call from Python a block (60k x
        # 784 x 10: 723 blocks a pass, each holding the GIL for its calls)
        m, d = X.shape
        k = C.shape[0]
        S = np.empty((rows, k), dtype=X.dtype)
        lanes = np.zeros((4, sums.shape[0]), dtype=np.int64)
        dims = np.empty(6, dtype=np.int32)  # m, n, k, lda, ldb, ldc
        scal = np.zeros(2, dtype=X.dtype)  # alpha = 1, beta = 0
        scal[0] = 1
        trans = np.empty(1, dtype=np.uint8)
        trans[0] = 78  # "N", "N": (C.T).T @ (X_block).T, (k, n) in Fortran order
        dims[0] = k
        dims[2] = d
        dims[3] = k
        dims[4] = d
        dims[5] = k
        changed = 0
        for s0 in range(0, m, rows):
            n = min(rows, m - s0)
            e = s0 + n
            dims[1] = n
            _nb_gemm_call(
                gemm,
                trans.ctypes.data,
                trans.ctypes.data,
                dims[0:].ctypes.data,
                dims[1:].ctypes.data,
                dims[2:].ctypes.data,
                scal[0:].ctypes.data,
                CT.ctypes.data,
                dims[3:].ctypes.data,
                X[s0:].ctypes.data,
                dims[4:].ctypes.data,
                scal[1:].ctypes.data,
                S.ctypes.data,
                dims[5:].ctypes.data,
            )
            for i in range(n):
                for j in range(k):
                    S[i, j] = half[j] - S[i, j]
            _nb_settle(S[:n], X[s0:e], C, half, tie, out[s0:e])
            changed += _nb_add_strip(X, w, old, out, s0, e, sums, counts, lanes)
        _nb_add_lanes(lanes, counts)
        return changed

    _row_kernels()  # shares costs_into

    @jit
    def labels_costs(
        P: Any, X: Any, C: Any, half: Any, tie: Any, scale: Any, plan: Any, out: Any, costs: Any
    ) -> None:
        # the labels of ``settle_two`` (``strip_labels``) and each row's
        # squared distance to its center (``assigned_sq_dists``), a strip's
        # rows while they are in cache
        m = P.shape[1]
        bufs = _nb_strip_buffers(P.dtype, P.shape[0])
        buf = np.empty(X.shape[1], dtype=X.dtype)
        stack = np.empty(plan.shape[0], dtype=X.dtype)
        for s0 in range(0, m, STRIP):
            n = min(STRIP, m - s0)
            _nb_strip_labels(P, X, C, half, tie, s0, n, bufs, out)
            _nb_costs_into(X, C, out, scale, plan, buf, stack, s0, s0 + n, costs)

    @jit
    def labels_costs_strips(
        X: Any,
        C: Any,
        B: Any,
        b_t: bool,
        half: Any,
        tie: Any,
        gemm: int,
        scale: Any,
        plan: Any,
        out: Any,
        costs: Any,
    ) -> None:
        # ``labels_costs`` with the products a strip at a time
        # (``strip_product``, as ``lloyd_strips``)
        m = X.shape[0]
        k = C.shape[0]
        P = np.empty((k, STRIP), dtype=X.dtype)
        bufs = _nb_strip_buffers(X.dtype, k)
        args = _nb_strip_gemm_args(X, k, b_t)
        buf = np.empty(X.shape[1], dtype=X.dtype)
        stack = np.empty(plan.shape[0], dtype=X.dtype)
        for s0 in range(0, m, STRIP):
            n = min(STRIP, m - s0)
            e = s0 + n
            _nb_strip_product(gemm, X, s0, n, B, P, args)
            _nb_strip_labels(P, X[s0:e], C, half, tie, 0, n, bufs, out[s0:e])
            _nb_costs_into(X, C, out, scale, plan, buf, stack, s0, e, costs)

    @jit
    def labels_strips(
        X: Any, C: Any, B: Any, b_t: bool, half: Any, tie: Any, gemm: int, out: Any
    ) -> None:
        # the labels of ``settle_two`` with the products a strip at a time
        # (``strip_product``)
        m = X.shape[0]
        k = C.shape[0]
        P = np.empty((k, STRIP), dtype=X.dtype)
        bufs = _nb_strip_buffers(X.dtype, k)
        args = _nb_strip_gemm_args(X, k, b_t)
        for s0 in range(0, m, STRIP):
            n = min(STRIP, m - s0)
            e = s0 + n
            _nb_strip_product(gemm, X, s0, n, B, P, args)
            _nb_strip_labels(P, X[s0:e], C, half, tie, 0, n, bufs, out[s0:e])

    @jit
    def two_strips(
        X: Any,
        C: Any,
        B: Any,
        b_t: bool,
        half: Any,
        tie: Any,
        gemm: int,
        out: Any,
        best: Any,
        second: Any,
    ) -> None:
        # ``settle_two`` with the products a strip at a time (``strip_product``)
        m = X.shape[0]
        k = C.shape[0]
        P = np.empty((k, STRIP), dtype=X.dtype)
        bufs = _nb_strip_buffers(X.dtype, k)
        args = _nb_strip_gemm_args(X, k, b_t)
        for s0 in range(0, m, STRIP):
            n = min(STRIP, m - s0)
            e = s0 + n
            _nb_strip_product(gemm, X, s0, n, B, P, args)
            two = _nb_strip_labels(P, X[s0:e], C, half, tie, 0, n, bufs, out[s0:e])
            _nb_keep_two(two, bufs[3], tie, out[s0:e], best[s0:e], second[s0:e])

    _share(
        exact_pair=exact_pair,
        exact_label=exact_label,
        add_rows=add_rows,
        add_lanes=add_lanes,
        add_strip=add_strip,
        strip_best_two=strip_best_two,
        settle_near=settle_near,
        strip_buffers=strip_buffers,
        strip_labels=strip_labels,
    )
    return _Kernels(
        settle=settle,
        accumulate=accumulate,
        lloyd_columns=lloyd_columns,
        settle_two=settle_two,
        labels_costs=labels_costs,
        lloyd_strips=lloyd_strips,
        lloyd_wide=lloyd_wide,
        labels_costs_strips=labels_costs_strips,
        labels_strips=labels_strips,
        two_strips=two_strips,
    )


def nearest_two(
    Xb: np.ndarray, centers: np.ndarray, half_csq: np.ndarray, tie: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``_kernels.nearest_two`` for NumPy arrays of at most ``COLUMNS_MAX_D``
    features and k >= 2, compiled: the labels (the same rule, so the same
    labels), and each row's best two computed scores (products taken
    center by center, a strip at a time where the strip loop's gemm applies:
    not the array code's bits, both within the rounding that the bounds
    allow for)."""
    m = Xb.shape[0]
    labels = np.empty(m, dtype=np.int64)
    best = np.empty(m, dtype=Xb.dtype)
    second = np.empty(m, dtype=Xb.dtype)
    gemm = _strip_gemm(Xb, centers, half_csq) if m else None
    if gemm is not None:
        B, b_t = _strip_centers(centers)
        _kernels().two_strips(
            Xb, centers, B, b_t, half_csq, Xb.dtype.type(tie), gemm, labels, best, second
        )
    elif m:
        products = np.matmul(centers, Xb.T)
        settle_two = _kernels().settle_two
        settle_two(products, Xb, centers, half_csq, products.dtype.type(tie), labels, best, second)
    return labels, best, second


@functools.cache
def _statistics() -> tuple[Any, Any, Any, Any]:
    numba = _numba()
    jit = numba.njit(nogil=True, cache=True, boundscheck=False)

    # Up to 4 features, the loops below keep a column's running value in a
    # register (four of them, columns min(t, d - 1): for d < 4 the last
    # column's twice, the same values), not in ``out``, which each step would
    # store and load again (10k x 2: column_sums 30 -> 12 us, column_sq_devs
    # 32 -> 16 us, column_extremes 73 -> 33 us); each column is still taken
    # row after row (the same bits)

    @jit
    def column_sums(X: Any, out: Any) -> None:
        # row after row, as NumPy's ``sum(axis=0)`` adds them (same bits)
        m, d = X.shape
        if 0 < d <= 4:
            c1, c2, c3 = min(1, d - 1), min(2, d - 1), min(3, d - 1)
            a0, a1, a2, a3 = out[0], out[c1], out[c2], out[c3]
            for i in range(m):
                a0 += X[i, 0]
                a1 += X[i, c1]
                a2 += X[i, c2]
                a3 += X[i, c3]
            out[0], out[c1], out[c2], out[c3] = a0, a1, a2, a3
            return
        for i in range(m):
            for t in range(d):
                out[t] += X[i, t]

    @jit
    def column_sq_devs(X: Any, mean: Any, out: Any) -> None:
        # NumPy's ``dev = X - mean; sum(dev * dev, axis=0)``, in X's dtype
        m, d = X.shape
        if 0 < d <= 4:
            c1, c2, c3 = min(1, d - 1), min(2, d - 1), min(3, d - 1)
            m0, m1, m2, m3 = mean[0], mean[c1], mean[c2], mean[c3]
            a0, a1, a2, a3 = out[0], out[c1], out[c2], out[c3]
            for i in range(m):
                v0 = X[i, 0] - m0
                v1 = X[i, c1] - m1
                v2 = X[i, c2] - m2
                v3 = X[i, c3] - m3
                a0 += v0 * v0
                a1 += v1 * v1
                a2 += v2 * v2
                a3 += v3 * v3
            out[0], out[c1], out[c2], out[c3] = a0, a1, a2, a3
            return
        for i in range(m):
            for t in range(d):
                v = X[i, t] - mean[t]
                out[t] += v * v

    @jit
    def column_extremes(X: Any) -> tuple[Any, Any, Any]:
        # per column, the largest and the smallest value (selects, not
        # ``max``: a loop vectorised along the row), and ``0 * v`` summed: 0
        # where every value is finite, NaN where one is not (the extremes
        # pass NaN by: every comparison with it is false)
        m, d = X.shape
        hi = X[0].copy()
        lo = X[0].copy()
        bad = X[0] * 0
        if 0 < d <= 4:
            c1, c2, c3 = min(1, d - 1), min(2, d - 1), min(3, d - 1)
            h0, h1, h2, h3 = hi[0], hi[c1], hi[c2], hi[c3]
            l0, l1, l2, l3 = lo[0], lo[c1], lo[c2], lo[c3]
            b0, b1, b2, b3 = bad[0], bad[c1], bad[c2], bad[c3]
            for i in range(1, m):
                v0, v1, v2, v3 = X[i, 0], X[i, c1], X[i, c2], X[i, c3]
                h0 = v0 if v0 > h0 else h0
                h1 = v1 if v1 > h1 else h1
                h2 = v2 if v2 > h2 else h2
                h3 = v3 if v3 > h3 else h3
                l0 = v0 if v0 < l0 else l0
                l1 = v1 if v1 < l1 else l1
                l2 = v2 if v2 < l2 else l2
                l3 = v3 if v3 < l3 else l3
                b0 += v0 * 0
                b1 += v1 * 0
                b2 += v2 * 0
                b3 += v3 * 0
            hi[0], hi[c1], hi[c2], hi[c3] = h0, h1, h2, h3
            lo[0], lo[c1], lo[c2], lo[c3] = l0, l1, l2, l3
            bad[0], bad[c1], bad[c2], bad[c3] = b0, b1, b2, b3
            return hi, lo, bad
        for i in range(1, m):
            for t in range(d):
                v = X[i, t]
                h = hi[t]
                low = lo[t]
                hi[t] = v if v > h else h
                lo[t] = v if v < low else low
                bad[t] += v * 0
        return hi, lo, bad

    @jit
    def max_row_sq_norm(X: Any) -> float:
        # eight partial sums a row (a vectorised loop; a bound, not NumPy's
        # bits), kept in registers: through an array, each step waited for
        # the last one's store (60k x 784: 70 ms, now about a read of X)
        m, d = X.shape
        zero = X.dtype.type(0)
        big = zero
        d8 = d - d % 8
        for i in range(m):
            a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = zero
            for t in range(0, d8, 8):
                a0 += X[i, t] * X[i, t]
                a1 += X[i, t + 1] * X[i, t + 1]
                a2 += X[i, t + 2] * X[i, t + 2]
                a3 += X[i, t + 3] * X[i, t + 3]
                a4 += X[i, t + 4] * X[i, t + 4]
                a5 += X[i, t + 5] * X[i, t + 5]
                a6 += X[i, t + 6] * X[i, t + 6]
                a7 += X[i, t + 7] * X[i, t + 7]
            s = zero
            for v in (a0, a1, a2, a3, a4, a5, a6, a7):
                s += v
            for t in range(d8, d):
                s += X[i, t] * X[i, t]
            big = max(big, s)
        return big

    return column_sums, column_sq_devs, column_extremes, max_row_sq_norm


# NumPy sums up to this many terms in eight running sums, longer runs in
# halves (each a multiple of 8 terms long but the last): ``sum_plan``
PAIRWISE_BLOCK = 128


@functools.lru_cache(maxsize=64)
def sum_plan(n: int) -> np.ndarray:
    """NumPy's pairwise sum of n > 0 terms (``pairwise_sum`` in its
    loops_utils) as a program for ``planned_sum``: (start, length) of each
    run it sums in eight running sums, in order, and (-1, 0) where it adds the
    sums of two halves (the last two results)."""
    steps: list[tuple[int, int]] = []

    def walk(start: int, count: int) -> None:
        if count <= PAIRWISE_BLOCK:
            steps.append((start, count))
            return
        half = count // 2
        half -= half % 8
        walk(start, half)
        walk(start + half, count - half)
        steps.append((-1, 0))

    walk(0, n)
    plan = np.asarray(steps, dtype=np.int64)
    plan.flags.writeable = False
    return plan


@functools.cache
def _row_kernels() -> tuple[Any, Any, Any]:
    numba = _numba()
    jit = numba.njit(nogil=True, cache=True, boundscheck=False)
    # per-row helpers inlined where they are called: a call that passes
    # arrays counts their references, tens of ns a row
    inline = numba.njit(nogil=True, cache=True, boundscheck=False, inline="always")

    @inline
    def row_sum(a: Any, s: int, n: int) -> Any:
        # NumPy's pairwise sum of a[s:s+n] for n <= 128 (``pairwise_sum`` in
        # its loops_utils): in order below 8 terms; else eight running sums
        # over whole groups of 8, combined as a tree, then the rest in order
        if n < 8:
            res = a.dtype.type(0)
            for i in range(s, s + n):
                res += a[i]
            return res
        r0, r1, r2, r3 = a[s], a[s + 1], a[s + 2], a[s + 3]
        r4, r5, r6, r7 = a[s + 4], a[s + 5], a[s + 6], a[s + 7]
        i = s + 8
        stop = s + n - n % 8
        while i < stop:
            r0 += a[i]
            r1 += a[i + 1]
            r2 += a[i + 2]
            r3 += a[i + 3]
            r4 += a[i + 4]
            r5 += a[i + 5]
            r6 += a[i + 6]
            r7 += a[i + 7]
            i += 8
        res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        while i < s + n:
            res += a[i]
            i += 1
        return res

    @inline
    def planned_sum(a: Any, plan: Any, stack: Any) -> Any:
        # NumPy's sum of a[:n] as ``sum_plan(n)`` lays it out: the runs of
        # at most PAIRWISE_BLOCK terms (``row_sum``), the halves' sums added
        # as NumPy's recursion adds them (a loop: recursive calls cost more
        # than a short row's sum). Callers take short rows (one run) in a
        # loop of their own: in the same loop, short rows ran slower
        top = 0
        for q in range(plan.shape[0]):
            s = plan[q, 0]
            if s >= 0:
                stack[top] = _nb_row_sum(a, s, plan[q, 1])
                top += 1
            else:
                top -= 1
                stack[top - 1] = stack[top - 1] + stack[top]
        return stack[0]

    @jit
    def row_sq_norms(X: Any, plan: Any, out: Any) -> None:
        m, d = X.shape
        buf = np.empty(d, dtype=X.dtype)
        stack = np.empty(plan.shape[0], dtype=X.dtype)
        if d <= PAIRWISE_BLOCK:
            for i in range(m):
                for t in range(d):
                    buf[t] = X[i, t] * X[i, t]
                out[i] = _nb_row_sum(buf, 0, d)
        else:
            for i in range(m):
                for t in range(d):
                    buf[t] = X[i, t] * X[i, t]
                out[i] = _nb_planned_sum(buf, plan, stack)

    @inline
    def sq_diffs(X: Any, i: int, C: Any, lab: int, scale: Any, buf: Any) -> None:
        # ``diff = X[i] - C[lab]`` (times ``scale`` unless 1) squared into
        # ``buf``, each operation rounded as NumPy rounds it
        scaled = scale != 1
        for t in range(X.shape[1]):
            v = X[i, t] - C[lab, t]
            if scaled:
                v = v * scale
            buf[t] = v * v

    @inline
    def short_sq_dist(X: Any, i: int, C: Any, lab: int, scale: Any, d: int) -> Any:
        # ``sq_diffs`` summed by ``row_sum`` for d < 8 (in order), without the
        # buffer: the same operations in the same order (the same bits);
        # inlined where d is a constant, so that the row is unrolled (d = 2:
        # 8.8 -> 2.5 ns a row)
        scaled = scale != 1
        res = X.dtype.type(0)
        for t in range(d):
            v = X[i, t] - C[lab, t]
            if scaled:
                v = v * scale
            res += v * v
        return res

    _share(short_sq_dist=short_sq_dist)

    @jit
    def costs_into(
        X: Any,
        C: Any,
        labels: Any,
        scale: Any,
        plan: Any,
        buf: Any,
        stack: Any,
        start: int,
        stop: int,
        out: Any,
    ) -> None:
        # ``out[i]``, rows start .. stop: ``sq_diffs`` summed as NumPy sums
        # them (``buf`` of d values, ``stack`` of the plan's length)
        d = X.shape[1]
        if d == 1:
            for i in range(start, stop):
                out[i] = _nb_short_sq_dist(X, i, C, labels[i], scale, 1)
        elif d == 2:
            for i in range(start, stop):
                out[i] = _nb_short_sq_dist(X, i, C, labels[i], scale, 2)
        elif d == 3:
            for i in range(start, stop):
                out[i] = _nb_short_sq_dist(X, i, C, labels[i], scale, 3)
        elif d == 4:
            for i in range(start, stop):
                out[i] = _nb_short_sq_dist(X, i, C, labels[i], scale, 4)
        elif d < 8:
            for i in range(start, stop):
                out[i] = _nb_short_sq_dist(X, i, C, labels[i], scale, d)
        elif d <= PAIRWISE_BLOCK:
            for i in range(start, stop):
                _nb_sq_diffs(X, i, C, labels[i], scale, buf)
                out[i] = _nb_row_sum(buf, 0, d)
        else:
            for i in range(start, stop):
                _nb_sq_diffs(X, i, C, labels[i], scale, buf)
                out[i] = _nb_planned_sum(buf, plan, stack)

    @jit
    def assigned_sq_dists(X: Any, C: Any, labels: Any, scale: Any, plan: Any, out: Any) -> None:
        buf = np.empty(X.shape[1], dtype=X.dtype)
        stack = np.empty(plan.shape[0], dtype=X.dtype)
        _nb_costs_into(X, C, labels, scale, plan, buf, stack, 0, X.shape[0], out)

    _share(row_sum=row_sum, planned_sum=planned_sum, sq_diffs=sq_diffs, costs_into=costs_into)
    return row_sq_norms, assigned_sq_dists, costs_into


def row_sq_norms(X: np.ndarray) -> np.ndarray:
    """``(X * X).sum(axis=1)`` with NumPy's bits (C-ordered X)."""
    out = np.empty(X.shape[0], dtype=X.dtype)
    _row_kernels()[0](X, sum_plan(X.shape[1]), out)
    return out


def assigned_sq_dists(
    X: np.ndarray, centers: np.ndarray, labels: np.ndarray, scale: float
) -> np.ndarray:
    """The squared distance of each row of X to its center ``centers[labels]``
    (both times ``scale``), with NumPy's bits (C-ordered X)."""
    out = np.empty(X.shape[0], dtype=X.dtype)
    _row_kernels()[1](X, centers, labels, X.dtype.type(scale), sum_plan(X.shape[1]), out)
    return out


@functools.cache
def _gain_kernel() -> tuple[Any, Any, Any]:
    numba = _numba()
    jit = numba.njit(nogil=True, cache=True, boundscheck=False)

    @jit
    def candidate_gains(P: Any, a: Any, csq: Any, out: Any) -> None:
        # out[j, i] = max((P[i, j] + a[i]) - csq[j], 0), rounded as NumPy's
        # broadcast ``maximum(P.T + a - csq, 0)`` rounds it, without P.T's copy;
        # candidate by candidate, so that the loop along the rows is
        # vectorised (its reads of P strided; 17k rows in cache: 5.8 -> 3.4 ns
        # a row, where row by row each row's t values went to t rows of out)
        t = out.shape[0]
        zero = out.dtype.type(0)
        for j in range(t):
            cj = csq[j]
            for i in range(P.shape[0]):
                v = (P[i, j] + a[i]) - cj
                # ``maximum(v, 0)`` as NumPy: +0 for -0, NaN kept
                out[j, i] = v if (v > zero or v != v) else zero

    @jit
    def within_reach(reach: Any, owner: Any, closest: Any, need: Any) -> None:
        for i in range(closest.shape[0]):
            need[i] = reach[owner[i]] < closest[i]

    @jit
    def lower_closest(
        closest: Any, owner: Any, drop: Any, new_id: Any, out: Any, out_owner: Any
    ) -> None:
        zero = out.dtype.type(0)
        for i in range(closest.shape[0]):
            v = closest[i] - drop[i]
            out[i] = v if (v > zero or v != v) else zero
            out_owner[i] = new_id if drop[i] > zero else owner[i]

    return candidate_gains, within_reach, lower_closest


@functools.cache
def _bounds_kernel() -> Any:
    numba = _numba()
    jit = numba.njit(nogil=True, cache=True, boundscheck=False)

    @jit
    def hamerly_bounds(
        lab: Any,
        up: Any,
        lo: Any,
        xsq: Any,
        move: Any,
        r1: int,
        m1: Any,
        m2: Any,
        s_half: Any,
        scalars: Any,
        up_out: Any,
        lo_out: Any,
        need: Any,
    ) -> None:
        # the array code's steps, each rounded as NumPy rounds it in the
        # rows' dtype (``maximum(x, y)``: x where x > y or x is NaN, else y)
        grow, coef, cmax = scalars[0], scalars[1], scalars[2]
        zero = up.dtype.type(0)
        for i in range(lab.shape[0]):
            j = lab[i]
            u = (up[i] + move[j]) * grow
            v = lo[i] - (m2 if j == r1 else m1)
            v = v if (v > zero or v != v) else zero
            h = s_half[j]
            b = h if (h > v or h != h) else v
            r = np.sqrt(xsq[i]) + cmax
            up_out[i] = u
            lo_out[i] = v
            need[i] = u * u + coef * (r * r) >= b * b

    return hamerly_bounds


def hamerly_bounds(
    lab: np.ndarray,
    up: np.ndarray,
    lo: np.ndarray,
    xsq: np.ndarray,
    move: np.ndarray,
    r1: int,
    m1: Any,
    m2: Any,
    s_half: np.ndarray,
    grow: float,
    coef: float,
    cmax: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hamerly's bounds after the centers moved, and the rows they no longer
    settle, in one pass: what ``_hamerly._hamerly_block`` computes with
    arrays (every array of one float dtype; the scalars taken in it)."""
    t = up.dtype.type
    up_out = np.empty_like(up)
    lo_out = np.empty_like(lo)
    need = np.empty(lab.shape[0], dtype=np.bool_)
    scalars = np.array([grow, coef, cmax], dtype=up.dtype)
    _bounds_kernel()(
        lab, up, lo, xsq, move, int(r1), t(m1), t(m2), s_half, scalars, up_out, lo_out, need
    )
    return up_out, lo_out, need


@functools.cache
def _expand_kernel() -> Any:
    numba = _numba()
    jit = numba.njit(nogil=True, cache=True, boundscheck=False)

    @jit
    def expand(mask: Any, values: Any, out: Any) -> None:
        # as the array code's clipped gather: past the last value, the last
        last = values.shape[0] - 1
        j = 0
        for i in range(mask.shape[0]):
            if mask[i]:
                out[i] = values[min(j, last)]
                j += 1

    return expand


def expand(mask: np.ndarray, values: np.ndarray, old: np.ndarray) -> np.ndarray:
    """``old`` (1-D, as long as ``mask``) with the entries where ``mask`` is
    set replaced, in order, by those of ``values`` (of old's dtype, not
    empty; it may have more)."""
    if old.shape != mask.shape:
        raise ValueError("expand: old and mask differ in length")
    out = old.copy()
    _expand_kernel()(mask, values, out)
    return out


def candidate_gains(P: np.ndarray, a: np.ndarray, csq: np.ndarray) -> np.ndarray:
    """(t, rows) ``maximum(P[:, :t].T + a - csq[:, None], 0)`` with NumPy's
    bits, t = len(csq), stored row by row (one pass over the products);
    P, a and csq of one dtype."""
    out = np.empty((csq.shape[0], P.shape[0]), dtype=P.dtype)
    _gain_kernel()[0](P, a, csq, out)
    return out


def within_reach(reach: np.ndarray, owner: np.ndarray, closest: np.ndarray) -> np.ndarray:
    """``reach[owner] < closest`` (bool), one pass."""
    need = np.empty(closest.shape[0], dtype=np.bool_)
    _gain_kernel()[1](reach, owner, closest, need)
    return need


def lower_closest(
    closest: np.ndarray, owner: np.ndarray, drop: np.ndarray, new_id: int
) -> tuple[np.ndarray, np.ndarray]:
    """``maximum(closest - drop, 0)`` and ``where(drop > 0, new_id, owner)``
    with NumPy's bits, one pass (closest and drop of one dtype)."""
    out = np.empty_like(closest)
    out_owner = np.empty_like(owner)
    _gain_kernel()[2](closest, owner, drop, owner.dtype.type(new_id), out, out_owner)
    return out, out_owner


def column_sums(X: np.ndarray) -> np.ndarray:
    """``X.sum(axis=0)`` in X's dtype, the same bits, one pass."""
    out = np.zeros(X.shape[1], dtype=X.dtype)
    _statistics()[0](X, out)
    return out


def column_sq_devs(X: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """``((X - mean) ** 2).sum(axis=0)`` in X's dtype, the same bits, one pass."""
    out = np.zeros(X.shape[1], dtype=X.dtype)
    _statistics()[1](X, mean.astype(X.dtype, copy=False), out)
    return out


def column_extremes(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """``(X.max(axis=0), X.min(axis=0), all finite)`` of X (with rows), one
    pass; the extremes are NumPy's where X is finite."""
    hi, lo, bad = _statistics()[2](X)
    return hi, lo, bool(np.all(bad == 0))


def max_row_sq_norm(X: np.ndarray) -> float:
    """The largest squared norm of a row (summed in eight parts: a bound, not
    NumPy's bits for rows of 8 and more features)."""
    return float(_statistics()[3](X)) if X.shape[0] else 0.0


# up to this many features, the products are taken center by center,
# C @ X.T (k, rows), and each row's best two kept in a vectorised loop along
# the rows; beyond, BLAS is faster on X @ C.T (rows, k), and one loop runs
# over each row's k scores. Measured at one thread with the library's chunks:
# 1.3-2.3x less time for the labels of a pass from 10k x 2 x 8 to
# 50k x 16 x 1024; 1.2x more at 60k x 784 x 10 (the product's layout).
COLUMNS_MAX_D = 256


# beyond ``COLUMNS_MAX_D`` features, a Lloyd pass takes at most this many
# bytes of rows at a time (its product, labels and sums), so that the sums
# read the rows from the nearest cache that holds them: 60k x 784 x 10 at one
# thread, a pass 49.7 ms in blocks of the chunk budget's 660 rows, 40.6 ms in
# blocks of 83 (256 KiB), 45.6 ms of 41 (min of 5, one run)
ROWS_BLOCK_BYTES = 256 * 2**10


def _scores(Xb: np.ndarray, centers_t: np.ndarray, half_csq: np.ndarray) -> np.ndarray:
    scores = np.matmul(Xb, centers_t)
    np.subtract(half_csq, scores, out=scores)
    return scores


def nearest_rows(
    Xb: np.ndarray,
    centers: np.ndarray,
    centers_t: np.ndarray,
    half_csq: np.ndarray,
    tie: float,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """``_kernels.nearest_center`` for NumPy arrays, compiled (into ``out``
    when given)."""
    kernels = _kernels()
    m = Xb.shape[0]
    if out is None:
        out = np.empty(m, dtype=np.int64)
    gemm = _strip_gemm(Xb, centers, half_csq) if m else None
    if gemm is not None and Xb.shape[1] <= COLUMNS_MAX_D:
        B, b_t = _strip_centers(centers)
        kernels.labels_strips(Xb, centers, B, b_t, half_csq, Xb.dtype.type(tie), gemm, out)
        return out
    if Xb.shape[1] <= COLUMNS_MAX_D and m:
        products = np.matmul(centers, Xb.T)
        best = np.empty(m, dtype=products.dtype)
        second = np.empty(m, dtype=products.dtype)
        kernels.settle_two(
            products, Xb, centers, half_csq, products.dtype.type(tie), out, best, second
        )
        return out
    # (k, d) is small: BLAS is faster on it in C order (60k x 784 x 10: 10 %)
    scores = _scores(Xb, np.ascontiguousarray(centers_t), half_csq)
    # the bound in the scores' dtype, as NumPy's ``best + tie`` rounds it
    kernels.settle(scores, Xb, centers, half_csq, scores.dtype.type(tie), out)
    return out


def nearest_with_costs(
    Xb: np.ndarray, centers: np.ndarray, half_csq: np.ndarray, tie: float, scale: float
) -> tuple[np.ndarray, np.ndarray]:
    """``nearest_rows`` and ``assigned_sq_dists`` of those labels in one loop
    (C-ordered rows of at most ``COLUMNS_MAX_D`` features, centers in their
    dtype): the same labels and the same bits, the rows read once."""
    m = Xb.shape[0]
    labels = np.empty(m, dtype=np.int64)
    costs = np.empty(m, dtype=Xb.dtype)
    gemm = _strip_gemm(Xb, centers, half_csq) if m else None
    if gemm is not None:
        # the products a strip at a time (``lloyd_rows``' strip loop)
        B, b_t = _strip_centers(centers)
        _kernels().labels_costs_strips(
            Xb,
            centers,
            B,
            b_t,
            half_csq,
            Xb.dtype.type(tie),
            gemm,
            Xb.dtype.type(scale),
            sum_plan(Xb.shape[1]),
            labels,
            costs,
        )
    elif m:
        products = np.matmul(centers, Xb.T)
        _kernels().labels_costs(
            products,
            Xb,
            centers,
            half_csq,
            products.dtype.type(tie),
            Xb.dtype.type(scale),
            sum_plan(Xb.shape[1]),
            labels,
            costs,
        )
    return labels, costs


# up to this many centers, the strip loop gives BLAS the centers as C.T
# (d, k) in C order, gemm "T", "T" (else C, "T", "N"): the same products, in
# OpenBLAS's faster code for small k. gemm alone, ns a row at one thread
# (C, then C.T): 100k x 16 x 8 10.8 / 6.5, 100k x 32 x 8 29.8 / 17.2,
# 200k x 32 x 32 36.9 / 17.3, 100k x 16 x 64 28.6 / 24.0, 100k x 32 x 64
# 48.3 / 29.6, 100k x 64 x 64 110 / 113, 100k x 16 x 100 39.3 / 38.4,
# 100k x 64 x 256 336 / 395
STRIP_TRANSPOSED_MAX_K = 64

# the strip loop's products take at most this many bytes ((k, STRIP) values):
# up to k = 1024 in float32; beyond, the products of a block (``lloyd_columns``)
STRIP_PRODUCT_BYTES = 2**20


@functools.cache
def gemm_addresses() -> tuple[int, int] | None:
    """Where SciPy's BLAS has sgemm and dgemm (``scipy.linalg.cython_blas``),
    for the compiled Lloyd loop's products a strip at a time
    (``lloyd_strips``); None without SciPy or Numba (the products of a block
    through NumPy then). Asked before BLAS is limited to one thread
    (``blas_one_thread``): the limit reaches the BLAS libraries loaded when it
    is first set, and SciPy's may not be NumPy's."""
    if _numba() is None:
        return None
    try:
        from numba.extending import get_cython_function_address

        return (
            get_cython_function_address("scipy.linalg.cython_blas", "sgemm"),
            get_cython_function_address("scipy.linalg.cython_blas", "dgemm"),
        )
    except Exception:  # SciPy missing, or without its BLAS for compiled code
        return None


_STRIPS: bool | None = None


def force_strips(on: bool | None) -> None:
    """Tests: True/False to use the strip loop's gemm where it applies or
    never, None for the default (where SciPy is there)."""
    global _STRIPS
    _STRIPS = on


def _strip_gemm(Xb: np.ndarray, centers: np.ndarray, half_csq: np.ndarray) -> int | None:
    # the gemm that the compiled Lloyd loops call for this chunk
    # (``lloyd_strips``, ``lloyd_wide``), or None where it does not apply
    if _STRIPS is False:
        return None
    addresses = gemm_addresses()
    if addresses is None:
        return None
    k, d = centers.shape
    if (
        (d <= COLUMNS_MAX_D and k * STRIP * Xb.dtype.itemsize > STRIP_PRODUCT_BYTES)
        or not (Xb.flags.c_contiguous and centers.flags.c_contiguous)
        or not (Xb.dtype == centers.dtype == half_csq.dtype)
        or Xb.dtype not in (np.float32, np.float64)
    ):
        return None
    return addresses[0] if Xb.dtype == np.float32 else addresses[1]


def _strip_centers(centers: np.ndarray) -> tuple[np.ndarray, bool]:
    # the centers as the strip loops give them to gemm (``B``, ``b_t``):
    # C.T in C order up to ``STRIP_TRANSPOSED_MAX_K`` centers, else C
    if centers.shape[0] <= STRIP_TRANSPOSED_MAX_K:
        return np.ascontiguousarray(centers.T), True
    return centers, False


def lloyd_rows(
    Xb: np.ndarray,
    w: np.ndarray | None,
    old: np.ndarray | None,
    centers: np.ndarray,
    centers_t: np.ndarray,
    half_csq: np.ndarray,
    tie: float,
    block_rows: int | None = None,
    out: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """A Lloyd pass over one chunk: labels (into ``out`` when given: int64, one
    a row), per-cluster sums (data dtype, sample order), weights (data dtype)
    and the number of changed labels. Where SciPy's BLAS is there
    (``_strip_gemm``), the products a strip at a time in the loop
    (``lloyd_strips``); else ``block_rows`` rows at a time (all at once when
    None), so that a block's products are still in cache when its labels and
    sums are made."""
    kernels = _kernels()
    k, d = centers.shape
    m = int(Xb.shape[0])
    labels = np.empty(m, dtype=np.int64) if out is None else out
    sums = np.zeros((k, d), dtype=Xb.dtype)
    counts = np.zeros(k, dtype=np.float64)
    no_w = np.empty(0, dtype=Xb.dtype)
    no_old = np.empty(0, dtype=labels.dtype)
    gemm = _strip_gemm(Xb, centers, half_csq) if m else None
    if gemm is not None and d <= COLUMNS_MAX_D:
        # the products a strip at a time, in the loop (the same labels, sums
        # and weights, to the bit: the labels are the near-tie rule's
        # whatever the products' rounding, the sums in sample order)
        B, b_t = _strip_centers(centers)
        changed = kernels.lloyd_strips(
            Xb,
            no_w if w is None else w,
            no_old if old is None else old,
            centers,
            B,
            b_t,
            half_csq,
            Xb.dtype.type(tie),
            gemm,
            labels,
            sums,
            counts,
        )
        return labels, sums, counts.astype(Xb.dtype), int(changed)
    if d > COLUMNS_MAX_D:
        centers_t = np.ascontiguousarray(centers.T)  # once, not per block
    step = max(1, m if block_rows is None else int(block_rows))
    if d > COLUMNS_MAX_D:
        # the rows are read twice (product, sums): from the nearer cache
        step = min(step, max(16, ROWS_BLOCK_BYTES // (d * Xb.dtype.itemsize)))
    step = max(1, -(-m // max(1, -(-m // step))))  # blocks of equal size
    if gemm is not None:
        # d > COLUMNS_MAX_D: the loop below in one compiled call
        changed = kernels.lloyd_wide(
            Xb,
            no_w if w is None else w,
            no_old if old is None else old,
            centers,
            centers_t,
            half_csq,
            Xb.dtype.type(tie),
            gemm,
            step,
            labels,
            sums,
            counts,
        )
        return labels, sums, counts.astype(Xb.dtype), int(changed)
    changed = 0
    for s in range(0, m, step):
        e = min(m, s + step)
        if d <= COLUMNS_MAX_D:
            # labels and sums in one loop, a strip of rows at a time
            products = np.matmul(centers, Xb[s:e].T)
            changed += kernels.lloyd_columns(
                products,
                Xb[s:e],
                no_w if w is None else w[s:e],
                no_old if old is None else old[s:e],
                centers,
                half_csq,
                products.dtype.type(tie),
                labels[s:e],
                sums,
                counts,
            )
            continue
        lab = nearest_rows(Xb[s:e], centers, centers_t, half_csq, tie, labels[s:e])
        changed += kernels.accumulate(
            Xb[s:e],
            no_w if w is None else w[s:e],
            lab,
            no_old if old is None else old[s:e],
            sums,
            counts,
        )
    return labels, sums, counts.astype(Xb.dtype), int(changed)


def piece_sums(
    X: np.ndarray, w: np.ndarray | None, labels: np.ndarray, k: int, piece: int
) -> tuple[np.ndarray, np.ndarray]:
    """``segment_sum`` and the weight totals of each ``piece`` consecutive
    rows apart, stacked: (pieces, k, d) in X's dtype and (pieces, k), the
    totals counted in float64 and given in X's dtype (as ``np.bincount``)."""
    accumulate = _kernels().accumulate
    m, d = X.shape
    count = max(1, -(-m // piece))
    sums = np.zeros((count, k, d), dtype=X.dtype)
    counts = np.zeros((count, k), dtype=np.float64)
    empty = np.empty(0, dtype=X.dtype)
    no_old = np.empty(0, dtype=labels.dtype)
    for p in range(count):
        s, e = p * piece, min(m, (p + 1) * piece)
        wp = empty if w is None else w[s:e]
        accumulate(X[s:e], wp, labels[s:e], no_old, sums[p], counts[p])
    return sums, counts.astype(X.dtype)


def segment_sum(X: np.ndarray, w: np.ndarray | None, labels: np.ndarray, k: int) -> np.ndarray:
    """Per-cluster (weighted) sums of the rows of ``X`` in its dtype, in sample
    order: what ``lloyd_rows`` accumulates, for passes that sum apart."""
    accumulate = _kernels().accumulate
    sums = np.zeros((k, X.shape[1]), dtype=X.dtype)
    counts = np.zeros(k, dtype=np.float64)
    empty = np.empty(0, dtype=X.dtype)
    accumulate(X, empty if w is None else w, labels, np.empty(0, dtype=labels.dtype), sums, counts)
    return sums
