"""BLAS's gemm called from the compiled loops (Numba only: imported by
``_compiled`` when Numba is there, never by itself).

The compiled Lloyd loop takes its products a strip of rows at a time, so that
a strip's scores and rows are still in the first-level cache when its labels
and sums are made; through NumPy, each of those small products would cost a
few microseconds of dispatch. SciPy exports its BLAS for compiled code
(``scipy.linalg.cython_blas``: the Fortran interface, every argument by
address); ``gemm_call`` calls such a function at an address given at run time,
so the loops that use it are cached by Numba like the others (a function
object of ctypes held by a jitted function would not be).
"""

from __future__ import annotations

from typing import Any

from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic


def _gemm_call(
    typingctx: Any,
    address: Any,
    transa: Any,
    transb: Any,
    m: Any,
    n: Any,
    k: Any,
    alpha: Any,
    a: Any,
    lda: Any,
    b: Any,
    ldb: Any,
    beta: Any,
    c: Any,
    ldc: Any,
) -> Any:
    """``gemm(transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)``
    of the Fortran BLAS at ``address``, each argument an address (integers:
    ``array.ctypes.data``)."""
    args = (address, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    if not all(isinstance(t, types.Integer) for t in args):
        return None
    sig = types.void(*args)

    def codegen(context: Any, builder: Any, signature: Any, values: Any) -> Any:
        ptr = ir.IntType(8).as_pointer()
        fnty = ir.FunctionType(ir.VoidType(), [ptr] * 13)
        fn = builder.inttoptr(values[0], fnty.as_pointer())
        builder.call(fn, [builder.inttoptr(v, ptr) for v in values[1:]])
        return context.get_dummy_value()

    return sig, codegen


# (typed Any: called from jitted code with the arguments after ``typingctx``)
gemm_call: Any = intrinsic(_gemm_call)
