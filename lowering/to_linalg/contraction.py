"""Lowering of mm and bmm to linalg named ops on a zero-filled accumulator."""

from __future__ import annotations

from torch_mlir.dialects import linalg

from ...dialects import ops_linalg as L
from ...dialects.registry import LOWER
from ...dialects.types import element_type
from .common import dim, empty, fill, scalar_const


def _zeros(op, sizes):
    elem = element_type(op.result)
    return fill(scalar_const(0, elem), empty(sizes, elem))


@LOWER.register(L.MmOp)
def lower_mm(op):
    init = _zeros(op, [dim(op.lhs, 0), dim(op.rhs, 1)])
    return linalg.matmul(op.lhs, op.rhs, outs=[init])


@LOWER.register(L.BmmOp)
def lower_bmm(op):
    init = _zeros(op, [dim(op.lhs, 0), dim(op.lhs, 1), dim(op.rhs, 2)])
    return linalg.batch_matmul(op.lhs, op.rhs, outs=[init])
