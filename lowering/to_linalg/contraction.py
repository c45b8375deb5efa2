"""Lowering of mm and bmm to linalg.generic contractions on a zero-filled accumulator.

Note [contraction loop order]
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
The iteration space is ordered (batch, i, k, j): the CPU pipeline turns linalg into
loops in dimension order, so the innermost loop walks a row of B and of C contiguously
and LLVM vectorizes it (C[i, j:j+8] += A[i, k] * B[k, j:j+8]). linalg.matmul's (i, j, k)
order would put a strided dot product innermost.
"""

from __future__ import annotations

from torch_mlir import ir
from torch_mlir.dialects import arith

from ...dialects import ops_linalg as L
from ...dialects.registry import LOWER
from ...dialects.types import element_type, is_float
from .common import dim, empty, fill, generic, scalar_const


def _zeros(op, sizes):
    elem = element_type(op.result)
    return fill(scalar_const(0, elem), empty(sizes, elem))


def _contract(lhs, rhs, init, batch: bool):
    n = 4 if batch else 3
    d = [ir.AffineDimExpr.get(i) for i in range(n)]
    b, (i, k, j) = (d[:1], d[1:]) if batch else ([], d)
    maps = [ir.AffineMap.get(n, 0, e) for e in ([*b, i, k], [*b, k, j], [*b, i, j])]
    iters = ["parallel"] * (n - 3) + ["parallel", "reduction", "parallel"]
    elem = element_type(init)
    mul, add = (arith.mulf, arith.addf) if is_float(elem) else (arith.muli, arith.addi)
    return generic([lhs, rhs], [init], maps, iters, lambda a, bb, c: add(c, mul(a, bb)))[0]


@LOWER.register(L.MmOp)
def lower_mm(op):
    init = _zeros(op, [dim(op.lhs, 0), dim(op.rhs, 1)])
    return _contract(op.lhs, op.rhs, init, batch=False)


@LOWER.register(L.BmmOp)
def lower_bmm(op):
    init = _zeros(op, [dim(op.lhs, 0), dim(op.lhs, 1), dim(op.rhs, 2)])
    return _contract(op.lhs, op.rhs, init, batch=True)
