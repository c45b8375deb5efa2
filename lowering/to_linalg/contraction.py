"""Lowering of mm and bmm to linalg.matmul / linalg.batch_matmul on a zero-filled accumulator.

Note [contraction as named ops]
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
Contractions stay named ops on tensors so that elementwise fusion (which only fuses into
linalg.generic consumers) never pulls a producer into a matmul's reduction loop, where it
would be recomputed once per output column; the CPU pipeline gives them their own
register-tiled kernel (lowering/cpu_matmul.py) and the GPU pipeline generalizes them.
"""

from __future__ import annotations

from torch_mlir.dialects import linalg

from ...dialects import ops_linalg as L
from ...dialects.registry import LOWER
from ...dialects.types import element_type
from .common import dim, empty, fill, scalar_const


def _zeros(op, sizes):
    elem = element_type(op.result)
    return fill(scalar_const(0, elem), empty(sizes, elem))


def _contract(lhs, rhs, init, batch: bool):
    op = linalg.batch_matmul if batch else linalg.matmul
    return op(lhs, rhs, outs=[init])


@LOWER.register(L.MmOp)
def lower_mm(op):
    init = _zeros(op, [dim(op.lhs, 0), dim(op.rhs, 1)])
    return _contract(op.lhs, op.rhs, init, batch=False)


@LOWER.register(L.BmmOp)
def lower_bmm(op):
    init = _zeros(op, [dim(op.lhs, 0), dim(op.lhs, 1), dim(op.rhs, 2)])
    return _contract(op.lhs, op.rhs, init, batch=True)
